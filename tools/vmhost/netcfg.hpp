// Link, address, route and neighbour settings over rtnetlink (libnl-route),
// applied in the calling thread's network namespace.
#pragma once

#include <cstdint>
#include <string>

#include "policy.hpp"

namespace vmhost::netcfg {

void set_mac(uint32_t ifindex, const Mac& mac);
Mac get_mac(uint32_t ifindex);
void add_address(uint32_t ifindex, const std::string& cidr);       // "10.0.0.11/24"
void add_route(const std::string& dst_cidr, uint32_t ifindex);     // "10.0.0.11/32" via a device
void add_neighbor(uint32_t ifindex, const IpAddr& ip, const Mac& mac);  // permanent
uint32_t ifindex_of(const std::string& name);                     // asked by name; 0 if there is none
void set_up(uint32_t ifindex, bool up);                           // IFF_UP
void set_alias(uint32_t ifindex, const std::string& alias);       // IFLA_IFALIAS
void rename(uint32_t ifindex, const std::string& name);           // the link must be down
void delete_link(uint32_t ifindex);

}  // namespace vmhost::netcfg
