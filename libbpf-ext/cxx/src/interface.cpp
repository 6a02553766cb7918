// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/interface.hpp"

#include <net/if.h>

#include <cerrno>
#include <cstring>

#include "devmap_egress/error.hpp"

namespace dme {

Interface Interface::named(const std::string& name)
{
    if (name.empty() || name.size() >= IF_NAMESIZE)
        fail(EINVAL, "'" + name + "' is not a valid interface name (1 to " +
                         std::to_string(IF_NAMESIZE - 1) + " characters)");
    unsigned idx = if_nametoindex(name.c_str());
    if (!idx)
        fail(ENODEV, "no device named '" + name +
                         "' in this network namespace: check 'ip link' (the device may have been "
                         "deleted, or lives in another namespace)");
    return Interface(idx, name);
}

Interface Interface::index(uint32_t ifindex)
{
    char name[IF_NAMESIZE];
    if (!ifindex)
        fail(ENODEV, "ifindex 0 is no device");
    if (!if_indextoname(ifindex, name)) {
        // ENXIO: no such device; anything else is why the kernel was not asked.
        if (errno != ENXIO && errno != ENODEV)
            fail(errno, "looking up the name of ifindex " + std::to_string(ifindex) + " failed: " +
                            std::strerror(errno));
        fail(ENODEV, "no device with ifindex " + std::to_string(ifindex) +
                         " in this network namespace: check 'ip link'");
    }
    return Interface(ifindex, name);
}

}  // namespace dme
