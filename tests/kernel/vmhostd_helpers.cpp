#include "vmhostd_helpers.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <chrono>
#include <stdexcept>

namespace vmhostd_test {

using namespace std::chrono_literals;

std::string service_config(const std::vector<int>& ports, const std::string& extra)
{
    std::string c = "[host]\nuplink = \"vdnic\"\n\n[[vm]]\nname = \"r\"\nmac = \"52:54:00:aa:00:21\"\ntap = \"vdtapr\"\n"
                    "addresses = [\"10.7.0.21\"]\n";
    for (int p : ports)
        c += "[[vm.rule]]\ndirection = \"ingress\"\nethertype = \"IPv4\"\nprotocol = \"udp\"\nport = " +
             std::to_string(p) + "\n";
    c += "[[vm.rule]]\ndirection = \"egress\"\nethertype = \"IPv4\"\n";
    return c + extra;
}

uint32_t ip4(const char* s)
{
    in_addr a{};
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

const netlab::Mac kRMac{{0x52, 0x54, 0, 0xaa, 0, 0x21}};
const netlab::Mac kExt{{0x02, 0, 0, 0, 0, 0x77}};

netlab::Frame to_r(uint16_t sport, uint16_t dport)
{
    return netlab::udp4_frame(ip4("198.51.100.7"), ip4("10.7.0.21"), sport, dport, 18, kRMac, kExt);
}

netlab::Frame from_r(uint16_t sport, uint16_t dport)
{
    return netlab::udp4_frame(ip4("10.7.0.21"), ip4("198.51.100.7"), sport, dport, 18, kExt, kRMac);
}

uint64_t drops(const vmhost::ReasonCounts& c)
{
    uint64_t n = 0;
    for (uint32_t r = 0; r < VM_REASONS; r++)
        n += r == VM_PASS ? 0 : c[r];
    return n;
}

SlotStream::SlotStream(vmhost::VmHost& host, uint32_t key, netlab::Frame frame, uint32_t ingress_ifindex)
    : prog_(netlab::open_only<xdp_redirect_slot>())
{
    // The host's own port map, not a copy: frames go where the demux sends them.
    if (bpf_map__reuse_fd(prog_->maps.tx_devmap_hash, host.tx_ports_fd()) || xdp_redirect_slot__load(prog_.get()))
        throw std::runtime_error("loading xdp_redirect_slot on the host's port map failed");
    prog_->bss->target = TARGET_DEVMAP_HASH;
    prog_->bss->target_key = key;
    thread_ = std::thread([this, f = std::move(frame), ingress_ifindex] {
        while (!stop_) {
            netlab::run_live_frames(bpf_program__fd(prog_->progs.xdp_redirect_slot), f, 64, ingress_ifindex);
            sent_ += 64;
        }
    });
}

void SlotStream::wait_for(uint64_t n) const
{
    while (sent_ < n)
        std::this_thread::sleep_for(1ms);
}

uint64_t SlotStream::stop()
{
    stop_ = true;
    if (thread_.joinable())
        thread_.join();
    return sent_;
}

uint32_t xdp_prog_on(uint32_t ifindex)
{
    uint32_t id = 0;
    bpf_xdp_query_id(int(ifindex), 0, &id);
    return id;
}

uint32_t prog_id_of(int prog_fd)
{
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(prog_fd, &info, &len) ? 0 : info.id;
}

bool step_until(vmhost::Daemon& d, const std::function<bool()>& done)
{
    for (int i = 0; i < 40 && !done(); i++)
        d.step(50ms);
    return done();
}

bool logged(const std::vector<std::string>& log, const std::string& what)
{
    for (const auto& l : log)
        if (l.find(what) != std::string::npos)
            return true;
    return false;
}

}  // namespace vmhostd_test
