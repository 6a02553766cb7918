#include "persistent_tap.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include <devmap_egress/error.hpp>
#include <devmap_egress/fd.hpp>

#include "netcfg.hpp"

namespace vmhost {

namespace {
constexpr const char* kMarkPrefix = "vmhostd vm ";
}

std::string tap_mark(const std::string& vm_name) { return kMarkPrefix + vm_name; }

bool is_tap_mark(const std::string& alias) { return alias.rfind(kMarkPrefix, 0) == 0; }

void create_persistent_tap(const std::string& name, const TapSettings& how, const std::string& alias)
{
    const std::string what = "creating tap " + name;
    if (name.empty() || name.size() >= IFNAMSIZ)
        dme::fail(EINVAL, what + ": expected a name of 1 to " + std::to_string(IFNAMSIZ - 1) + " characters");
    if (netcfg::ifindex_of(name))
        dme::fail(EEXIST, what + ": a link of that name exists already; vmhostd never takes one over");
    dme::Fd fd(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) {
        const int err = errno;
        dme::fail(err, what + ": opening /dev/net/tun failed: " + std::strerror(err) +
                           (err == ENOENT || err == ENODEV || err == ENXIO
                                ? " (load the tun module: modprobe tun; under systemd the unit needs "
                                  "DeviceAllow=/dev/net/tun rw and BindPaths=/dev/net/tun)"
                                : err == EPERM || err == EACCES ? " (vmhostd needs access to /dev/net/tun: "
                                                                  "DeviceAllow=/dev/net/tun rw in its unit)"
                                                                : ""));
    }
    // A temporary name, unlikely to be anyone's: "vmhdtap" and 8 hex digits.
    char temp[IFNAMSIZ];
    std::snprintf(temp, sizeof(temp), "vmhdtap%08x", std::random_device{}());
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL | (how.multi_queue ? IFF_MULTI_QUEUE : 0);
    std::memcpy(ifr.ifr_name, temp, std::strlen(temp));
    if (ioctl(fd.get(), TUNSETIFF, &ifr)) {
        const int err = errno;
        dme::fail(err, what + ": " + std::strerror(err) + (err == EPERM ? " (vmhostd needs CAP_NET_ADMIN)" : ""));
    }
    // Until it is persistent, closing `fd` takes the tap away again.
    auto set = [&](unsigned long req, unsigned long arg, const char* which) {
        if (ioctl(fd.get(), req, arg)) {
            const int err = errno;
            dme::fail(err, what + ": " + which + " failed: " + std::strerror(err));
        }
    };
    if (how.owner)
        set(TUNSETOWNER, *how.owner, "setting its owner (TUNSETOWNER)");
    if (how.group)
        set(TUNSETGROUP, *how.group, "setting its group (TUNSETGROUP)");
    set(TUNSETPERSIST, 1, "making it persistent (TUNSETPERSIST)");
    fd.reset();
    // Persistent now: a failure from here on deletes it.
    uint32_t ifindex = 0;
    try {
        ifindex = netcfg::ifindex_of(temp);
        if (!ifindex)
            dme::fail(ENODEV, std::string("tap ") + temp + " is not there after its creation");
        netcfg::set_alias(ifindex, alias);
        netcfg::rename(ifindex, name);
    } catch (const dme::Error& e) {
        if (ifindex) {
            try {
                netcfg::delete_link(ifindex);
            } catch (const dme::Error&) {
            }
        }
        dme::fail(e.code(), what + ": " + e.what() +
                                (netcfg::ifindex_of(name) ? " (a link of that name appeared meanwhile)" : ""));
    }
}

}  // namespace vmhost
