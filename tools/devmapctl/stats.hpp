// devmapctl stats: per slot of a devmap, over an interval, how often its
// egress program ran (the kernel's BPF run statistics) and what the flushes to
// its device sent, did not send, and failed (the xdp:xdp_devmap_xmit
// tracepoint). Both sources are switched on only while a SlotStats lives.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include <devmap_egress/fd.hpp>

struct devmap_xmit_stats;
struct bpf_link;

namespace devmapctl {

class SlotStats {
public:
    SlotStats();
    ~SlotStats();
    SlotStats(const SlotStats&) = delete;
    SlotStats& operator=(const SlotStats&) = delete;

    // One row per slot in use, with per-second rates over `interval`.
    nlohmann::json sample(const std::string& map_path, std::chrono::milliseconds interval);

private:
    devmap_xmit_stats* skel_ = nullptr;
    bpf_link* link_ = nullptr;
    dme::Fd run_stats_;  // BPF_ENABLE_STATS: run_cnt/run_time_ns count while open
};

}  // namespace devmapctl
