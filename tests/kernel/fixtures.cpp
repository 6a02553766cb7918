#include "fixtures.hpp"

#include <bpf/libbpf.h>

#include <cstring>
#include <stdexcept>

namespace netlab {

Target::Target(const std::string& name, uint32_t sink_flags)
    : ns_(Netns::create()), veth_(name, name + "p", ns_), sink_(open_load<frame_sink>())
{
    attach_xdp_in(ns_, veth_.far().ifindex, bpf_program__fd(sink_->progs.frame_sink), sink_flags);
}

}  // namespace netlab
