// Putting frames on the wire for tests: live-frame BPF_PROG_TEST_RUN (frames
// generated in the kernel, real redirects) and AF_PACKET sends from a
// namespace (real packets through a device's receive path).
#pragma once

#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <vector>

#include "frames.hpp"
#include "netns.hpp"
#include "time_scale.hpp"


namespace netlab {

// Run `prog_fd` on `count` copies of `frame` as live frames (batch 64 by
// default, at most 256; the kernel's page pool for the run recycles `batch`
// pages), as if received on `ingress_ifindex` (0: loopback). Returns the
// kernel's measured time per frame in ns (bpf_test_run_opts.duration); throws
// on error.
uint32_t run_live_frames(int prog_fd, const Frame& frame, uint32_t count, uint32_t ingress_ifindex = 0,
                         uint32_t batch = 64);

// An AF_PACKET socket made once in a namespace: entering a namespace costs an
// RCU grace period, so senders of many bursts keep one of these.
class PacketSocket {
public:
    explicit PacketSocket(const Netns& ns);
    // Send `count` copies of `frame` out of device `ifindex` of the namespace.
    // Returns how many the device took: an egress drop (tc, qdisc) reads as
    // ENOBUFS and is counted out, not thrown.
    uint32_t send(uint32_t ifindex, const Frame& frame, uint32_t count) const;

private:
    dme::Fd fd_;
};

// One-off: send `count` copies of `frame` out of `ifindex` of namespace `ns`.
void send_frames(const Netns& ns, uint32_t ifindex, const Frame& frame, uint32_t count);

// Per-CPU counters (bpf/maps.h) summed, and per CPU.
struct Counters {
    uint64_t packets = 0, bytes = 0, passed = 0, dropped = 0;
};
Counters read_counters(int percpu_map_fd);
std::vector<Counters> read_counters_per_cpu(int percpu_map_fd);

// Poll `done` until true or scaled(timeout); returns its last value. For
// effects the kernel applies asynchronously (RCU frees, cpumap kthreads, NAPI).
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// Does a program with this id still exist in the kernel?
bool prog_exists(uint32_t id);
// And a map with this id?
bool map_exists(uint32_t id);

// Keep the calling thread (and so the live-frame test run) on one CPU.
class PinnedToCpu {
public:
    explicit PinnedToCpu(int cpu)
    {
        pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_);
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one))
            throw std::runtime_error("cannot pin the test thread");
    }
    ~PinnedToCpu() { pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_); }
    PinnedToCpu(const PinnedToCpu&) = delete;
    PinnedToCpu& operator=(const PinnedToCpu&) = delete;

private:
    cpu_set_t saved_;
};


}  // namespace netlab
