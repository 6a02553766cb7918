// devmapctl stats: per slot of a devmap, over an interval, how often its
// egress program ran (the kernel's BPF run statistics) and what the flushes to
// its device sent, did not send, and failed (the xdp:xdp_devmap_xmit
// tracepoint). Both sources are switched on only while a SlotStats lives.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <devmap_egress/fd.hpp>

struct devmap_xmit_stats;
struct bpf_link;

namespace devmapctl {

// One slot over one interval. Strings are as the kernel gave them (any
// bytes): the CLI makes them printable.
struct SlotSample {
    uint32_t key = 0, ifindex = 0;
    std::string ifname;
    uint32_t prog_id = 0;  // 0: the slot has no program
    std::string prog_name;
    double prog_runs_per_s = 0;
    // Per device: slots that share a device share these.
    double dev_sent_per_s = 0, dev_not_sent_per_s = 0, dev_xmit_errors_per_s = 0;
    // A VM firewall's verdicts since it loaded (bpf/vm_policy.h): packets by
    // path and reason; none when the slot's program has no such counters.
    std::optional<std::map<std::string, std::map<std::string, uint64_t>>> vm_verdicts;

    nlohmann::json to_json() const;
};

class SlotStats {
public:
    SlotStats();
    ~SlotStats();
    SlotStats(const SlotStats&) = delete;
    SlotStats& operator=(const SlotStats&) = delete;

    // One sample per slot in use, with per-second rates over `interval`.
    std::vector<SlotSample> sample(const std::string& map_path, std::chrono::milliseconds interval);

private:
    devmap_xmit_stats* skel_ = nullptr;
    bpf_link* link_ = nullptr;
    dme::Fd run_stats_;  // BPF_ENABLE_STATS: run_cnt/run_time_ns count while open
};

}  // namespace devmapctl
