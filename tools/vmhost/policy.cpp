#include "policy.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdio>

#include <devmap_egress/error.hpp>

namespace vmhost {

Mac Mac::parse(const std::string& s)
{
    Mac m;
    unsigned v[6];
    char tail;
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        dme::fail(EINVAL, "'" + s + "' is not a MAC address (write 02:00:00:00:00:01)");
    for (int i = 0; i < 6; i++)
        m.b[i] = uint8_t(v[i]);
    return m;
}

std::string Mac::str() const
{
    char buf[18];
    std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return buf;
}

IpAddr IpAddr::parse(const std::string& s)
{
    IpAddr a;
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
    } else if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
        a.family = 6;
    } else {
        dme::fail(EINVAL, "'" + s + "' is not an IPv4 or IPv6 address");
    }
    return a;
}

std::string IpAddr::str() const
{
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof(buf));
    return buf;
}

Prefix Prefix::parse(const std::string& s)
{
    auto slash = s.find('/');
    Prefix p;
    p.addr = IpAddr::parse(s.substr(0, slash));
    int max = p.addr.family == 4 ? 32 : 128;
    int len = max;
    if (slash != std::string::npos) {
        try {
            len = std::stoi(s.substr(slash + 1));
        } catch (const std::exception&) {
            len = -1;
        }
    }
    if (len < 0 || len > max)
        dme::fail(EINVAL, "'" + s + "': prefix length must be 0.." + std::to_string(max));
    p.len = uint8_t(len);
    return p;
}

}  // namespace vmhost
