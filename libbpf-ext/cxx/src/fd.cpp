// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <bpf_ext/pin.h>

#include "devmap_egress/error.hpp"

namespace dme {

void Fd::reset() noexcept
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

namespace detail {

FdKind fd_kind(int fd) noexcept
{
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0)
        return FdKind::closed;
    char link[64], target[128];
    std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return FdKind::other;
    target[n] = '\0';
    if (!std::strcmp(target, "anon_inode:bpf-map"))
        return FdKind::map;
    if (!std::strcmp(target, "anon_inode:bpf-prog"))
        return FdKind::prog;
    return FdKind::other;
}

Fd open_pinned(const std::string& path, FdKind want)
{
    Fd fd(check(bpfext_pinned_open(path.c_str())));
    FdKind got = fd_kind(fd.get());
    if (got != want)
        fail(EINVAL, path + " holds " +
                         (got == FdKind::map ? "a BPF map" : got == FdKind::prog ? "a BPF program" : "no BPF object") +
                         ", not " + (want == FdKind::map ? "a map" : "a program") + ": give the pin of " +
                         (want == FdKind::map ? "the map" : "the program"));
    return fd;
}

}  // namespace detail

Fd Fd::dup(int fd)
{
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 1);
    if (copy < 0)
        fail(errno, "fd " + std::to_string(fd) + " cannot be used: " + std::strerror(errno) +
                        " (was it closed?)");
    return Fd(copy);
}

}  // namespace dme
