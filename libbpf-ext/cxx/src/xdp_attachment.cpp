// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/xdp_attachment.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "devmap_egress/error.hpp"

namespace dme {

XdpAttachment XdpAttachment::attach(const Interface& dev, const IngressProgram& prog, XdpMode mode)
{
    uint32_t flags = XDP_FLAGS_UPDATE_IF_NOEXIST |
                     (mode == XdpMode::generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
    int err = bpf_xdp_attach(dev.ifindex(), prog.fd(), flags, nullptr);
    if (err) {
        std::string why = err == -EBUSY || err == -EEXIST
                              ? "another XDP program is attached: detach it first (ip link set dev " +
                                    dev.name() + " xdp off)"
                          : err == -EOPNOTSUPP ? "the driver has no native XDP: use generic mode"
                                               : std::strerror(-err);
        fail(-err, "attaching '" + prog.name() + "' to " + dev.name() + " failed: " + why);
    }
    return XdpAttachment(dev.ifindex(), Fd::dup(prog.fd()), flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST);
}

XdpAttachment XdpAttachment::adopt(const Interface& dev, const IngressProgram& prog, XdpMode mode)
{
    uint32_t flags = mode == XdpMode::generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    int err = bpf_xdp_query(int(dev.ifindex()), int(flags), &q);
    if (err)
        fail(-err, "querying the XDP program on " + dev.name() + " failed: " + std::strerror(-err));
    uint32_t attached = mode == XdpMode::generic ? q.skb_prog_id : q.drv_prog_id;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog.fd(), &info, &len))
        fail(errno, "reading the id of '" + prog.name() + "' failed: " + std::strerror(errno));
    if (attached != info.id)
        fail(attached ? EEXIST : ENOENT,
             dev.name() + " carries " +
                 (attached ? "XDP program id " + std::to_string(attached) : std::string("no XDP program")) +
                 " in " + (mode == XdpMode::generic ? "generic" : "native") + " mode, not '" + prog.name() +
                 "' (id " + std::to_string(info.id) + ")");
    return XdpAttachment(dev.ifindex(), Fd::dup(prog.fd()), flags);
}

XdpAttachment::XdpAttachment(XdpAttachment&& o) noexcept
    : ifindex_(std::exchange(o.ifindex_, 0)), prog_(std::move(o.prog_)), flags_(o.flags_)
{
}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& o) noexcept
{
    if (this != &o) {
        detach();
        ifindex_ = std::exchange(o.ifindex_, 0);
        prog_ = std::move(o.prog_);
        flags_ = o.flags_;
    }
    return *this;
}

XdpAttachment::~XdpAttachment() { detach(); }

void XdpAttachment::detach() noexcept
{
    if (!prog_)
        return;
    // old_prog_fd makes the kernel refuse if our program was replaced.
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog_.get());
    bpf_xdp_attach(ifindex_, -1, flags_ | XDP_FLAGS_REPLACE, &opts);
    prog_.reset();
}

void XdpAttachment::release() noexcept { prog_.reset(); }

void XdpAttachment::replace(const IngressProgram& prog)
{
    if (!prog_)
        fail(ENOENT, "replacing with '" + prog.name() + "': this attachment was detached");
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = prog_.get());
    int err = bpf_xdp_attach(int(ifindex_), prog.fd(), flags_ | XDP_FLAGS_REPLACE, &opts);
    if (err)
        fail(-err, "replacing the XDP program on ifindex " + std::to_string(ifindex_) + " with '" + prog.name() +
                       "' failed: " +
                       (err == -EEXIST ? std::string("another program replaced ours meanwhile")
                                       : std::string(std::strerror(-err))));
    prog_ = Fd::dup(prog.fd());
}

}  // namespace dme
