// The espressobin pipeline (bpf/cpumap_pipeline.bpf.c) from userspace: one
// loaded instance of the object, its maps, rules and per-CPU statistics.
// Shared by the demo and the kernel tests.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <devmap_egress/devmap_egress.hpp>

#include "cpumap_pipeline_types.h"

struct cpumap_pipeline;

namespace cpumap_demo {

class Pipeline {
public:
    // Loads a new instance. With `share_maps_of`, it uses that instance's
    // cpu_map, tx_ports and rules (its statistics stay its own), so the two
    // cpu_policy programs can replace each other in a slot.
    explicit Pipeline(const Pipeline* share_maps_of = nullptr);
    ~Pipeline();
    Pipeline(Pipeline&&) noexcept;
    Pipeline& operator=(Pipeline&&) noexcept;

    cpumap_pipeline* skel() const noexcept { return skel_.get(); }
    int steer_fd() const;   // rx_steer: the receiving CPU's cheap program
    int single_fd() const;  // rx_single: all the work on the receiving CPU
    dme::CpumapProgram policy_prog() const;  // cpu_policy, for a cpumap slot
    dme::Cpumap cpus() const;                // cpu_map (an fd of its own)
    dme::DevmapEgress tx_ports() const;      // tx_ports (devmap_hash)

    // Run-time settings (.bss).
    void steer_to(uint32_t cpu);
    void steer_by_flow(const std::vector<uint32_t>& cpus);  // flow hash over these CPUs
    void default_action(pipeline_action action, uint32_t key = 0);
    void work_rounds(uint32_t rounds);
    void rx_rounds(uint32_t rounds);  // emulated driver RX cost (rx_steer, rx_single)
    void add_rule(uint8_t ip_proto, uint16_t dport, pipeline_action action, uint32_t key = 0);

    std::vector<pipeline_stats> rx_stats() const;      // per CPU
    std::vector<pipeline_stats> policy_stats() const;  // per CPU
    void reset_stats();  // zero both statistics maps (every CPU)
    uint32_t seen_cpu() const;
    uint32_t seen_ingress_ifindex() const;

private:
    struct Deleter {
        void operator()(cpumap_pipeline* s) const;
    };
    std::unique_ptr<cpumap_pipeline, Deleter> skel_;
};

// The kthreads of a cpumap's slot for `cpu`: "cpumap/<cpu>/map:<map id>" in
// /proc/<pid>/comm (the kernel shows a kthread's full name there). One while
// the slot is set; briefly two after a replacement, while the old one drains.
std::vector<int> cpumap_kthreads(uint32_t cpu, uint32_t map_id);

// Sum of a per-CPU column.
pipeline_stats total(const std::vector<pipeline_stats>& per_cpu);

}  // namespace cpumap_demo
