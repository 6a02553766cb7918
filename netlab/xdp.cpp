#include "xdp.hpp"

#include <bpf/libbpf.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace netlab {

void attach_xdp_in(const Netns& ns, uint32_t ifindex, int prog_fd, uint32_t flags)
{
    NetnsScope in(ns);
    int err = bpf_xdp_attach(int(ifindex), prog_fd, flags, nullptr);
    if (err)
        throw std::runtime_error(std::string("attaching XDP in a namespace: ") + std::strerror(-err));
}

}  // namespace netlab
