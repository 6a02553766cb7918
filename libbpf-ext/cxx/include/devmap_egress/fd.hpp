// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A move-only owned file descriptor.
#pragma once

#include <string>
#include <utility>

namespace dme {

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    Fd& operator=(Fd&& o) noexcept
    {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset() noexcept;
    // A new owned copy of a borrowed fd (F_DUPFD_CLOEXEC); throws on failure.
    static Fd dup(int fd);

private:
    int fd_ = -1;
};

namespace detail {
// What an fd refers to, read from /proc/self/fd: the kernel's object-info
// call would read a map's info as a program's and the other way round.
enum class FdKind { closed, map, prog, other };
FdKind fd_kind(int fd) noexcept;
// Open a pin and check that it holds a `want` (map or prog): the error
// names the path and what it holds instead.
Fd open_pinned(const std::string& path, FdKind want);
}  // namespace detail

}  // namespace dme
