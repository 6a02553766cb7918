#include "fixtures.hpp"

#include <bpf/libbpf.h>

#include <cstring>
#include <stdexcept>

namespace testing {

void attach_xdp_in(const Netns& ns, uint32_t ifindex, int prog_fd, uint32_t flags)
{
    NetnsScope in(ns);
    int err = bpf_xdp_attach(int(ifindex), prog_fd, flags, nullptr);
    if (err)
        throw std::runtime_error(std::string("attaching XDP in a test namespace: ") + std::strerror(-err));
}

Target::Target(const std::string& name, uint32_t sink_flags)
    : ns_(Netns::create()), veth_(name, name + "p", ns_), sink_(open_load<frame_sink>())
{
    attach_xdp_in(ns_, veth_.far().ifindex, bpf_program__fd(sink_->progs.frame_sink), sink_flags);
}

}  // namespace testing
