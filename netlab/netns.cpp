#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace netlab {

namespace {
[[noreturn]] void die(const std::string& what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Test namespaces carry only the frames a test sends: no IPv6 autoconf,
// router solicitations or MLD reports from the stack on new devices.
void quiet_ipv6()
{
    for (const char* path : {"/proc/sys/net/ipv6/conf/default/disable_ipv6", "/proc/sys/net/ipv6/conf/all/disable_ipv6"}) {
        int fd = ::open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            continue;  // kernel without IPv6
        if (::write(fd, "1", 1) != 1)
            die(std::string("writing ") + path);
        ::close(fd);
    }
}

dme::Fd open_own_netns()
{
    int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open /proc/thread-self/ns/net");
    return dme::Fd(fd);
}
}  // namespace

Netns Netns::current() { return Netns(open_own_netns()); }

Netns Netns::create()
{
    dme::Fd fd;
    std::string error;
    // unshare() in a throwaway thread: the caller's namespace stays as it is.
    std::thread t([&] {
        if (unshare(CLONE_NEWNET)) {
            error = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        try {
            quiet_ipv6();
            fd = open_own_netns();
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    t.join();
    if (!error.empty())
        throw std::runtime_error(error);
    return Netns(std::move(fd));
}

NetnsScope::NetnsScope(const Netns& ns) : saved_(Netns::current())
{
    if (setns(ns.fd(), CLONE_NEWNET))
        die("setns");
}

NetnsScope::~NetnsScope() { setns(saved_.fd(), CLONE_NEWNET); }

void isolate_process()
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS))
        die("unshare(CLONE_NEWNET | CLONE_NEWNS) (the kernel tests need root)");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
        die("making mounts private");
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
        die("mounting a private bpffs on /sys/fs/bpf");
    quiet_ipv6();
}

}  // namespace netlab
