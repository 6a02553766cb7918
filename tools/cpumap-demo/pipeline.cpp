#include "pipeline.hpp"

#include <bpf_ext/cpumap.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cpumap_pipeline.skel.h"

namespace cpumap_demo {

namespace {
void reuse(bpf_map* map, const bpf_map* from)
{
    if (int err = bpf_map__reuse_fd(map, bpf_map__fd(from)))
        throw dme::Error(-err, std::string("sharing map ") + bpf_map__name(map) + " between pipeline instances");
}

std::vector<pipeline_stats> read_stats(const bpf_map* map)
{
    std::vector<pipeline_stats> v(libbpf_num_possible_cpus());
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(map), &zero, v.data()))
        throw dme::Error(errno, std::string("reading ") + bpf_map__name(map));
    return v;
}
}  // namespace

void Pipeline::Deleter::operator()(cpumap_pipeline* s) const { cpumap_pipeline__destroy(s); }

Pipeline::Pipeline(const Pipeline* share)
{
    skel_.reset(cpumap_pipeline__open());
    if (!skel_)
        throw dme::Error(errno, "opening the cpumap_pipeline object");
    if (share) {
        reuse(skel_->maps.cpu_map, share->skel_->maps.cpu_map);
        reuse(skel_->maps.tx_ports, share->skel_->maps.tx_ports);
        reuse(skel_->maps.rules, share->skel_->maps.rules);
    }
    dme::check(bpfext_cpumap_fit_object(skel_->obj));  // kernels with NR_CPUS < the declared size
    if (int err = cpumap_pipeline__load(skel_.get()))
        throw dme::Error(-err, "loading the cpumap_pipeline object (see libbpf's log above)");
}

Pipeline::~Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;

int Pipeline::steer_fd() const { return bpf_program__fd(skel_->progs.rx_steer); }
int Pipeline::single_fd() const { return bpf_program__fd(skel_->progs.rx_single); }
dme::CpumapProgram Pipeline::policy_prog() const { return dme::CpumapProgram::from(skel_->progs.cpu_policy); }
dme::Cpumap Pipeline::cpus() const { return dme::Cpumap::from(bpf_map__fd(skel_->maps.cpu_map)); }
dme::DevmapEgress Pipeline::tx_ports() const { return dme::DevmapEgress::from(bpf_map__fd(skel_->maps.tx_ports)); }

void Pipeline::steer_to(uint32_t cpu)
{
    skel_->bss->steer_mode = 0;
    skel_->data->steer_cpu = cpu;
}

void Pipeline::steer_by_flow(const std::vector<uint32_t>& cpus)
{
    if (cpus.empty() || cpus.size() > bpf_map__max_entries(skel_->maps.steer_cpus))
        throw dme::Error(EINVAL, "steer_by_flow: give 1 to " +
                                     std::to_string(bpf_map__max_entries(skel_->maps.steer_cpus)) + " CPUs");
    for (uint32_t i = 0; i < cpus.size(); i++)
        if (bpf_map_update_elem(bpf_map__fd(skel_->maps.steer_cpus), &i, &cpus[i], BPF_ANY))
            throw dme::Error(errno, "writing steer_cpus");
    skel_->bss->steer_ncpus = uint32_t(cpus.size());
    skel_->bss->steer_mode = 1;
}

void Pipeline::default_action(pipeline_action action, uint32_t key)
{
    skel_->bss->default_action = action;
    skel_->bss->default_key = key;
}

void Pipeline::work_rounds(uint32_t rounds) { skel_->bss->work_rounds = rounds; }
void Pipeline::rx_rounds(uint32_t rounds) { skel_->bss->rx_rounds = rounds; }

void Pipeline::add_rule(uint8_t ip_proto, uint16_t dport, pipeline_action action, uint32_t key)
{
    pipeline_rule_key k{};
    k.ip_proto = ip_proto;
    k.dport = dport;
    pipeline_rule r{uint32_t(action), key};
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.rules), &k, &r, BPF_ANY))
        throw dme::Error(errno, "adding a pipeline rule");
}

std::vector<pipeline_stats> Pipeline::rx_stats() const { return read_stats(skel_->maps.rx_stats); }
std::vector<pipeline_stats> Pipeline::policy_stats() const { return read_stats(skel_->maps.policy_stats); }
void Pipeline::reset_stats()
{
    std::vector<pipeline_stats> zero(libbpf_num_possible_cpus());
    uint32_t key = 0;
    for (auto* m : {skel_->maps.rx_stats, skel_->maps.policy_stats})
        if (bpf_map_update_elem(bpf_map__fd(m), &key, zero.data(), BPF_ANY))
            throw dme::Error(errno, std::string("zeroing ") + bpf_map__name(m));
}

uint32_t Pipeline::seen_cpu() const { return skel_->bss->seen_cpu; }
uint32_t Pipeline::seen_ingress_ifindex() const { return skel_->bss->seen_ingress_ifindex; }

std::vector<int> cpumap_kthreads(uint32_t cpu, uint32_t map_id)
{
    std::string want = "cpumap/" + std::to_string(cpu) + "/map:" + std::to_string(map_id);
    std::vector<int> pids;
    std::unique_ptr<DIR, int (*)(DIR*)> d(opendir("/proc"), closedir);
    if (!d)
        throw dme::Error(errno, "listing /proc");
    while (dirent* e = readdir(d.get())) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        std::ifstream f(std::string("/proc/") + e->d_name + "/comm");
        std::string comm;
        if (std::getline(f, comm) && comm == want)
            pids.push_back(std::stoi(e->d_name));
    }
    return pids;
}

pipeline_stats total(const std::vector<pipeline_stats>& v)
{
    pipeline_stats t{};
    for (const auto& s : v) {
        t.packets += s.packets;
        t.redirected += s.redirected;
        t.passed += s.passed;
        t.dropped += s.dropped;
        t.rule_hits += s.rule_hits;
        t.hash += s.hash;
        if (s.first_ns && (!t.first_ns || s.first_ns < t.first_ns))
            t.first_ns = s.first_ns;
        t.last_ns = std::max(t.last_ns, s.last_ns);
    }
    return t;
}

}  // namespace cpumap_demo
