// Anonymous network namespaces for tests. They are never bind-mounted, so
// they (and every veth inside them) vanish when the last fd closes, even if
// the test process is killed.
#pragma once

#include <devmap_egress/fd.hpp>

namespace netlab {

class Netns {
public:
    static Netns create();   // a new, empty namespace
    static Netns current();  // the calling thread's namespace
    int fd() const noexcept { return fd_.get(); }

private:
    explicit Netns(dme::Fd fd) : fd_(std::move(fd)) {}
    dme::Fd fd_;
};

// Moves the calling thread into `ns` until the scope ends.
class NetnsScope {
public:
    explicit NetnsScope(const Netns& ns);
    ~NetnsScope();
    NetnsScope(const NetnsScope&) = delete;
    NetnsScope& operator=(const NetnsScope&) = delete;

private:
    Netns saved_;
};

// Once per process (a test binary, a demo, the bench): private network and
// mount namespaces, with a fresh bpffs on /sys/fs/bpf, so nothing it makes
// can leak devices, pins or programs to the host. Throws when the process
// lacks the privileges.
void isolate_process();

}  // namespace netlab
