// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "devmap_egress/error.hpp"

namespace dme {

void Fd::reset() noexcept
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

Fd Fd::dup(int fd)
{
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 1);
    if (copy < 0)
        fail(errno, "fd " + std::to_string(fd) + " cannot be used: " + std::strerror(errno) +
                        " (was it closed?)");
    return Fd(copy);
}

}  // namespace dme
