// What the vmhostd tests share: a one-VM configuration with UDP services,
// frames to that VM, and reading the daemon's log and the kernel's hooks.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <string>
#include <vector>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "vm_policy_types.h"

namespace vmhostd_test {

// One VM, "r" on tap vdtapr (10.7.0.21), uplink vdnic, with a stateful
// IPv4 UDP service on each port and every IPv4 egress allowed; `extra`
// is appended (more VMs, host settings).
std::string service_config(const std::vector<int>& ports, const std::string& extra = "");

uint32_t ip4(const char* s);
extern const netlab::Mac kRMac, kExt;
// A UDP frame from outside (198.51.100.7) to VM r.
netlab::Frame to_r(uint16_t sport, uint16_t dport);
// VM r opening a flow to 198.51.100.7.
netlab::Frame from_r(uint16_t sport, uint16_t dport);
// Every count but VM_PASS.
uint64_t drops(const vmhost::ReasonCounts& c);

// Streams a frame into one slot of the host's port map, as the NIC demux
// does, from a thread: live frames in batches of 64 until stop().
class SlotStream {
public:
    SlotStream(vmhost::VmHost& host, uint32_t key, netlab::Frame frame, uint32_t ingress_ifindex);
    ~SlotStream() { stop(); }
    SlotStream(const SlotStream&) = delete;
    SlotStream& operator=(const SlotStream&) = delete;
    uint64_t sent() const noexcept { return sent_; }
    // Waits until at least `n` frames were sent.
    void wait_for(uint64_t n) const;
    // Returns how many frames were sent.
    uint64_t stop();

private:
    netlab::Skel<xdp_redirect_slot> prog_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> sent_{0};
    std::thread thread_;
};

// The XDP program on a device (0: none), and a program's id.
uint32_t xdp_prog_on(uint32_t ifindex);
uint32_t prog_id_of(int prog_fd);
// Steps the daemon until `done` or about two seconds.
bool step_until(vmhost::Daemon& d, const std::function<bool()>& done);
bool logged(const std::vector<std::string>& log, const std::string& what);

}  // namespace vmhostd_test
