#include "xdp.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
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

void attach_tc(uint32_t ifindex, bpf_tc_attach_point point, int prog_fd)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(ifindex), .attach_point = point);
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
        throw std::runtime_error(std::string("creating a clsact qdisc: ") + std::strerror(-err));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
    err = bpf_tc_attach(&hook, &opts);
    if (err)
        throw std::runtime_error(std::string("attaching a tc program: ") + std::strerror(-err));
}

}  // namespace netlab
