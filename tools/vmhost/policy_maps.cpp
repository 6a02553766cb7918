#include "policy_maps.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <devmap_egress/error.hpp>
#include <devmap_egress/fd.hpp>

namespace vmhost {

namespace {
int map_fd(const bpf_object* obj, const char* name)
{
    const bpf_map* m = bpf_object__find_map_by_name(obj, name);
    int fd = m ? bpf_map__fd(m) : -1;
    if (fd < 0)
        dme::fail(ENOENT, std::string("the BPF object has no loaded map '") + name +
                              "': is it built on bpf/vm_policy.h, and loaded?");
    return fd;
}

void put(int fd, const void* key, const void* value, const char* what)
{
    if (bpf_map_update_elem(fd, key, value, BPF_ANY))
        dme::fail(errno, std::string("writing ") + what + ": " + std::strerror(errno) +
                             (errno == E2BIG ? " (more entries than the map holds)" : ""));
}

// The kernel's ticks a second (CONFIG_HZ), which the conntrack's times are
// counted in: the coarse clocks' resolution is one tick.
uint32_t kernel_hz()
{
    timespec res{};
    if (clock_getres(CLOCK_MONOTONIC_COARSE, &res) || res.tv_sec || res.tv_nsec <= 0)
        dme::fail(errno ? errno : EINVAL,
                  "the kernel's tick length (clock_getres(CLOCK_MONOTONIC_COARSE)) is unknown: the flow "
                  "table's timeouts are counted in ticks");
    return uint32_t((1000000000L + res.tv_nsec / 2) / res.tv_nsec);
}

// An owned address or prefix, filed under `mac` and under the all-zero MAC
// ("owned by one of the VM's MACs", vm_policy.h).
void own(const PolicyMaps& maps, const Mac& mac, const IpAddr& addr, uint8_t len)
{
    const uint8_t one = 1;
    const int full = addr.family == 4 ? 32 : 128;
    for (const Mac& m : {mac, Mac{}}) {
        vm_owned key{};
        std::memcpy(key.mac, m.b.data(), 6);
        key.family = uint8_t(addr.family);
        std::memcpy(key.addr, addr.bytes.data(), addr.family == 4 ? 4 : 16);
        if (len == full) {
            put(maps.owned, &key, &one, "vm_owned");
        } else {
            vm_owned_prefix p{};
            p.prefixlen = VM_OWNED_FIXED_BITS + len;
            p.key = key;
            put(maps.owned_prefixes, &p, &one, "vm_owned_prefixes");
        }
    }
}
}  // namespace

PolicyMaps PolicyMaps::of(const bpf_object* obj)
{
    PolicyMaps m;
    m.identity = map_fd(obj, "vm_identity");
    m.macs = map_fd(obj, "vm_macs");
    m.owned = map_fd(obj, "vm_owned");
    m.owned_prefixes = map_fd(obj, "vm_owned_prefixes");
    m.allow_src4 = map_fd(obj, "allow_src4");
    m.allow_src6 = map_fd(obj, "allow_src6");
    m.allow_ports = map_fd(obj, "allow_ports");
    m.verdicts = map_fd(obj, "verdicts");
    m.sg_rules = map_fd(obj, "vm_sg_rules");
    m.sg_members = map_fd(obj, "vm_sg_members");
    m.ct4 = map_fd(obj, "vm_ct4");
    m.ct6 = map_fd(obj, "vm_ct6");
    m.ct_config = map_fd(obj, "vm_ct_config");
    m.ct_stats = map_fd(obj, "vm_ct_stats");
    return m;
}

namespace {
using Entries = std::map<std::string, std::string>;

Entries read_all(int fd, const bpf_map_info& info)
{
    Entries out;
    std::string key(info.key_size, '\0'), next(info.key_size, '\0'), value(info.value_size, '\0');
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(fd, prev, next.data())) {
        if (!bpf_map_lookup_elem(fd, next.data(), value.data()))
            out[next] = value;
        key = next;
        prev = key.data();
    }
    return out;
}

bpf_map_info map_info(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len))
        dme::fail(errno, std::string("reading a map's info failed: ") + std::strerror(errno));
    return info;
}
}  // namespace

bool holds_policy(const PolicyMaps& maps, const VmPolicy& p, const GroupIds& groups)
{
    // What write_policy() writes; the rest is state (counters, flows) or the host's.
    int PolicyMaps::*const written[] = {&PolicyMaps::identity,   &PolicyMaps::macs,       &PolicyMaps::owned,
                                        &PolicyMaps::owned_prefixes, &PolicyMaps::allow_src4, &PolicyMaps::allow_src6,
                                        &PolicyMaps::allow_ports, &PolicyMaps::sg_rules,  &PolicyMaps::ct_config};
    PolicyMaps scratch;
    std::vector<dme::Fd> fds;
    std::vector<bpf_map_info> infos;
    for (auto field : written) {
        const bpf_map_info& info = infos.emplace_back(map_info(maps.*field));
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = info.map_flags);
        dme::Fd fd(bpf_map_create(bpf_map_type(info.type), nullptr, info.key_size, info.value_size,
                                  info.max_entries, &opts));
        if (!fd)
            dme::fail(errno, std::string("creating a scratch map to compare policies failed: ") + std::strerror(errno));
        scratch.*field = fd.get();
        fds.push_back(std::move(fd));
    }
    try {
        write_policy(scratch, p, groups);
    } catch (const dme::Error&) {
        return false;  // a policy that cannot be written is not what the maps hold
    }
    for (size_t i = 0; i < std::size(written); i++)
        if (read_all(maps.*written[i], infos[i]) != read_all(scratch.*written[i], infos[i]))
            return false;
    return true;
}

vm_sg_rule to_bpf(const SgRule& r, const GroupIds& groups)
{
    vm_sg_rule b{};
    b.dir = r.dir == SgRule::Dir::to_vm ? VM_DIR_TO_VM : VM_DIR_FROM_VM;
    b.family = uint8_t(r.family);
    b.proto = r.proto;
    b.flags = r.stateful ? 0 : VM_SG_STATELESS;
    b.port_min = r.port_min;
    b.port_max = r.port_max;
    b.icmp_type = r.icmp_type < 0 ? VM_SG_ANY : uint16_t(r.icmp_type);
    b.icmp_code = r.icmp_code < 0 ? VM_SG_ANY : uint16_t(r.icmp_code);
    if (!r.remote_group.empty()) {
        auto it = groups.find(r.remote_group);
        if (it == groups.end())
            dme::fail(ENOENT, "remote_group '" + r.remote_group + "' is no group on this host");
        b.flags |= VM_SG_REMOTE_GROUP;
        b.remote_group = it->second;
    } else if (r.remote) {
        for (int bit = 0; bit < r.remote->len; bit++)
            b.remote_mask[bit / 8] |= uint8_t(0x80 >> (bit % 8));
        for (int i = 0; i < 16; i++)
            b.remote[i] = r.remote->addr.bytes[i] & b.remote_mask[i];
    }  // else: mask and network all zero, anywhere
    return b;
}

void write_policy(const PolicyMaps& maps, const VmPolicy& p, const GroupIds& groups)
{
    validate(p);
    const uint8_t one = 1;
    const uint32_t zero = 0;
    vm_identity id{};
    std::memcpy(id.mac, p.mac.b.data(), 6);
    std::memcpy(id.host_mac, p.host_mac.b.data(), 6);
    id.flags = (p.may_route ? VM_MAY_ROUTE : 0) | (p.may_serve_dhcp ? VM_MAY_SERVE_DHCP : 0) |
               (p.allow_src.empty() ? 0 : VM_HAS_ALLOW_LIST);
    id.sg_rules = uint32_t(p.rules.size());
    // Every rule is converted before any is written: a bad one leaves the maps as they were.
    std::vector<vm_sg_rule> rules;
    for (size_t i = 0; i < p.rules.size(); i++) {
        try {
            rules.push_back(to_bpf(p.rules[i], groups));
        } catch (const dme::Error& e) {
            dme::fail(e.code(), "rules[" + std::to_string(i) + "]: " + e.what());
        }
    }

    for (const Mac& m : allowed_macs(p)) {
        vm_mac k{};
        std::memcpy(k.mac, m.b.data(), 6);
        put(maps.macs, &k, &one, "vm_macs");
    }
    for (const auto& a : p.addrs)
        own(maps, p.mac, a, a.family == 4 ? 32 : 128);
    for (const auto& pr : p.prefixes)
        own(maps, p.mac, pr.addr, pr.len);
    own(maps, p.mac, p.link_local.value_or(eui64_link_local(p.mac)), 128);
    for (const auto& pair : p.allowed_pairs) {
        const Mac& mac = pair_mac(p, pair);
        own(maps, mac, pair.prefix.addr, pair.prefix.len);
        if (mac != p.mac)  // a virtual MAC's interface has its own link-local
            own(maps, mac, eui64_link_local(mac), 128);
    }
    for (const auto& pr : p.allow_src) {
        if (pr.addr.family == 4) {
            vm_prefix4 k{pr.len, 0};
            std::memcpy(&k.addr, pr.addr.bytes.data(), 4);
            put(maps.allow_src4, &k, &one, "allow_src4");
        } else {
            vm_prefix6 k{};
            k.prefixlen = pr.len;
            std::memcpy(k.addr, pr.addr.bytes.data(), 16);
            put(maps.allow_src6, &k, &one, "allow_src6");
        }
    }
    for (const auto& r : p.allow_ports) {
        vm_port k{r.proto, 0, r.port};
        put(maps.allow_ports, &k, &one, "allow_ports");
    }
    for (uint32_t i = 0; i < rules.size(); i++)
        put(maps.sg_rules, &i, &rules[i], "vm_sg_rules");
    vm_ct_config cfg{};
    std::copy(p.conntrack.timeouts.begin(), p.conntrack.timeouts.end(), cfg.timeout);
    cfg.hz = kernel_hz();
    put(maps.ct_config, &zero, &cfg, "vm_ct_config");
    // The identity last: until it is there the guard drops everything.
    put(maps.identity, &zero, &id, "vm_identity");
}

}  // namespace vmhost
