#include "stats.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include <devmap_egress/devmap.hpp>
#include <devmap_egress/error.hpp>

#include "devmap_xmit_stats.skel.h"
#include "vm_policy_types.h"

namespace devmapctl {

namespace {
struct XmitCounts {
    uint64_t flushes = 0, sent = 0, not_sent = 0, errors = 0;
};

struct DevKey {
    uint32_t netns, ifindex;
};

uint32_t own_netns()
{
    struct stat st{};
    if (stat("/proc/self/ns/net", &st))
        dme::fail(errno, std::string("cannot identify this network namespace: ") + std::strerror(errno));
    return uint32_t(st.st_ino);
}

// Counts of this namespace's devices, by ifindex.
std::map<uint32_t, XmitCounts> read_xmit(int map_fd, uint32_t netns)
{
    std::map<uint32_t, XmitCounts> out;
    std::vector<XmitCounts> per_cpu(libbpf_num_possible_cpus());
    DevKey key, *prev = nullptr;
    while (!bpf_map_get_next_key(map_fd, prev, &key)) {
        if (key.netns != netns) {
            prev = &key;
            continue;
        }
        if (!bpf_map_lookup_elem(map_fd, &key, per_cpu.data())) {
            XmitCounts sum;
            for (const auto& c : per_cpu) {
                sum.flushes += c.flushes;
                sum.sent += c.sent;
                sum.not_sent += c.not_sent;
                sum.errors += c.errors;
            }
            out[key.ifindex] = sum;
        }
        prev = &key;
    }
    return out;
}

// A VM firewall's verdict counters (bpf/vm_policy.h), if the slot's program
// has them: a map named "verdicts" shaped [path][reason] of vm_count.
std::optional<std::map<std::string, std::map<std::string, uint64_t>>> vm_verdicts(uint32_t prog_id)
{
    static const char* const reasons[VM_REASONS] = VM_REASON_NAMES;
    static const char* const paths[VM_PATHS] = VM_PATH_NAMES;
    if (!prog_id)
        return std::nullopt;
    dme::Fd prog(bpf_prog_get_fd_by_id(prog_id));
    if (!prog)
        return std::nullopt;
    uint32_t map_ids[16] = {};
    bpf_prog_info info{};
    info.nr_map_ids = 16;
    info.map_ids = uint64_t(uintptr_t(map_ids));
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog.get(), &info, &len))
        return std::nullopt;
    for (uint32_t i = 0; i < std::min(info.nr_map_ids, 16u); i++) {
        dme::Fd map(bpf_map_get_fd_by_id(map_ids[i]));
        bpf_map_info m{};
        uint32_t mlen = sizeof(m);
        if (!map || bpf_obj_get_info_by_fd(map.get(), &m, &mlen) || std::strcmp(m.name, "verdicts") ||
            m.type != BPF_MAP_TYPE_PERCPU_ARRAY || m.value_size != sizeof(vm_count) ||
            m.max_entries != uint32_t(VM_PATHS) * uint32_t(VM_REASONS))
            continue;
        std::map<std::string, std::map<std::string, uint64_t>> out;
        std::vector<vm_count> per_cpu(libbpf_num_possible_cpus());
        for (uint32_t key = 0; key < m.max_entries; key++) {
            if (bpf_map_lookup_elem(map.get(), &key, per_cpu.data()))
                continue;
            uint64_t packets = 0;
            for (const auto& c : per_cpu)
                packets += c.packets;
            if (packets)
                out[paths[key / VM_REASONS]][reasons[key % VM_REASONS]] = packets;
        }
        return out;
    }
    return std::nullopt;
}

uint64_t prog_runs(uint32_t id)
{
    if (!id)
        return 0;
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
        return 0;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    uint64_t runs = bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.run_cnt;
    close(fd);
    return runs;
}
}  // namespace

SlotStats::SlotStats()
{
    skel_ = devmap_xmit_stats__open_and_load();
    if (!skel_)
        dme::fail(errno, std::string("loading the xmit statistics program failed: ") + std::strerror(errno));
    link_ = bpf_program__attach(skel_->progs.count_devmap_xmit);
    if (!link_) {
        int err = errno;
        devmap_xmit_stats__destroy(skel_);
        dme::fail(err, std::string("attaching to the xdp:xdp_devmap_xmit tracepoint failed: ") + std::strerror(err) +
                           " (needs kernel BTF and the xdp tracepoints)");
    }
    int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd < 0) {
        int err = errno;
        bpf_link__destroy(link_);
        devmap_xmit_stats__destroy(skel_);
        dme::fail(err, std::string("turning on BPF run statistics failed: ") + std::strerror(err));
    }
    run_stats_ = dme::Fd(fd);
}

SlotStats::~SlotStats()
{
    bpf_link__destroy(link_);
    devmap_xmit_stats__destroy(skel_);
}

std::vector<SlotSample> SlotStats::sample(const std::string& map_path, std::chrono::milliseconds interval)
{
    auto map = dme::DevmapEgress::open(map_path);
    int xmit_fd = bpf_map__fd(skel_->maps.xmit_by_dev);
    auto slots = map.slots();
    std::vector<uint64_t> runs_before;
    for (const auto& s : slots)
        runs_before.push_back(prog_runs(s.prog.id));
    uint32_t netns = own_netns();
    auto xmit_before = read_xmit(xmit_fd, netns);
    std::this_thread::sleep_for(interval);
    auto xmit_after = read_xmit(xmit_fd, netns);

    double secs = std::chrono::duration<double>(interval).count();
    auto rate = [&](uint64_t a, uint64_t b) { return double(b - a) / secs; };
    std::vector<SlotSample> out;
    for (size_t i = 0; i < slots.size(); i++) {
        const auto& s = slots[i];
        XmitCounts a = xmit_before[s.ifindex], b = xmit_after[s.ifindex];
        SlotSample r;
        r.key = s.key;
        r.ifindex = s.ifindex;
        r.ifname = s.ifname;
        r.prog_id = s.prog.id;
        r.prog_name = s.prog.name;
        r.prog_runs_per_s = rate(runs_before[i], prog_runs(s.prog.id));
        r.dev_sent_per_s = rate(a.sent, b.sent);
        r.dev_not_sent_per_s = rate(a.not_sent, b.not_sent);
        r.dev_xmit_errors_per_s = rate(a.errors, b.errors);
        r.vm_verdicts = vm_verdicts(s.prog.id);
        out.push_back(std::move(r));
    }
    return out;
}

nlohmann::json SlotSample::to_json() const
{
    return {{"key", key},
            {"ifindex", ifindex},
            {"ifname", ifname},
            {"prog", prog_id ? nlohmann::json{{"id", prog_id}, {"name", prog_name}} : nlohmann::json()},
            {"prog_runs_per_s", prog_runs_per_s},
            {"dev_sent_per_s", dev_sent_per_s},
            {"dev_not_sent_per_s", dev_not_sent_per_s},
            {"dev_xmit_errors_per_s", dev_xmit_errors_per_s},
            {"vm_verdicts", vm_verdicts ? nlohmann::json(*vm_verdicts) : nlohmann::json()}};
}

}  // namespace devmapctl
