// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// An ingress XDP program attached to a device for as long as this handle
// lives; detached on destruction unless someone replaced it meanwhile.
#pragma once

#include <cstdint>

#include "devmap_egress/interface.hpp"
#include "devmap_egress/program.hpp"

namespace dme {

enum class XdpMode { native, generic };

class XdpAttachment {
public:
    static XdpAttachment attach(const Interface& dev, const IngressProgram& prog,
                                XdpMode mode = XdpMode::native);
    // Takes charge of `prog` where another process attached it and left it
    // (a daemon restarting over its own datapath): nothing changes in the
    // kernel. Throws dme::Error if `dev` carries no program in `mode` (ENOENT)
    // or another one (EEXIST).
    static XdpAttachment adopt(const Interface& dev, const IngressProgram& prog,
                               XdpMode mode = XdpMode::native);
    XdpAttachment(XdpAttachment&& o) noexcept;
    XdpAttachment& operator=(XdpAttachment&& o) noexcept;
    XdpAttachment(const XdpAttachment&) = delete;
    XdpAttachment& operator=(const XdpAttachment&) = delete;
    ~XdpAttachment();

    void detach() noexcept;
    // Lets go of the program without detaching it: it stays on the device
    // after this handle (and this process) is gone.
    void release() noexcept;
    // Puts `prog` in place of this handle's program in one step (the
    // kernel's XDP_FLAGS_REPLACE): every frame meets one or the other.
    // Throws dme::Error, leaving the old program attached, if someone else
    // replaced ours meanwhile (EEXIST) or the kernel refuses `prog`.
    void replace(const IngressProgram& prog);
    uint32_t ifindex() const noexcept { return ifindex_; }

private:
    XdpAttachment(uint32_t ifindex, Fd prog, uint32_t flags)
        : ifindex_(ifindex), prog_(std::move(prog)), flags_(flags) {}
    uint32_t ifindex_ = 0;
    Fd prog_;  // identifies our program for a detach that cannot hit another's
    uint32_t flags_ = 0;
};

}  // namespace dme
