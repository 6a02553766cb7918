#include "tap.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace netlab {

namespace {
[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}
}  // namespace

Tap::Tap(const std::string& name, const uint8_t mac[6]) : name_(name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        fail("opening /dev/net/tun");
    fd_ = dme::Fd(fd);
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr))
        fail("creating tap " + name);
    // The address and the link state go through an ordinary socket.
    dme::Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    std::memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
    if (ioctl(s.get(), SIOCSIFHWADDR, &ifr))
        fail("setting the MAC of tap " + name);
    if (ioctl(s.get(), SIOCGIFFLAGS, &ifr))
        fail("reading the flags of tap " + name);
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s.get(), SIOCSIFFLAGS, &ifr))
        fail("bringing tap " + name + " up");
    ifindex_ = if_nametoindex(name.c_str());
    if (!ifindex_)
        fail("finding tap " + name);
}

bool Tap::send(const std::vector<uint8_t>& frame) const
{
    return fd_ && write(fd_.get(), frame.data(), frame.size()) == ssize_t(frame.size());
}

}  // namespace netlab
