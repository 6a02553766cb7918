#include "netcfg.hpp"

#include <linux/neighbour.h>
#include <net/if.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <devmap_egress/error.hpp>

namespace vmhost::netcfg {

namespace {
template <class T, void (*Free)(T*)>
struct NlPtr {
    T* p;
    explicit NlPtr(T* x) : p(x)
    {
        if (!p)
            dme::fail(ENOMEM, "libnl allocation failed");
    }
    ~NlPtr() { Free(p); }
    NlPtr(const NlPtr&) = delete;
    NlPtr& operator=(const NlPtr&) = delete;
    T* get() const { return p; }
};
using Sock = NlPtr<nl_sock, nl_socket_free>;
using Addr = NlPtr<nl_addr, nl_addr_put>;

void check(int err, const std::string& what)
{
    if (err < 0)
        dme::fail(EIO, what + ": " + nl_geterror(err));
}

std::unique_ptr<Sock> route_socket()
{
    auto sk = std::make_unique<Sock>(nl_socket_alloc());
    check(nl_connect(sk->get(), NETLINK_ROUTE), "connecting to rtnetlink");
    return sk;
}

nl_addr* parse(const std::string& s, int family)
{
    nl_addr* a = nullptr;
    check(nl_addr_parse(s.c_str(), family, &a), "parsing address " + s);
    return a;
}

void rtnl_link_free(rtnl_link* l) { rtnl_link_put(l); }
}  // namespace

void set_mac(uint32_t ifindex, const Mac& mac)
{
    auto sk = route_socket();
    NlPtr<rtnl_link, rtnl_link_free> link(rtnl_link_alloc()), change(rtnl_link_alloc());
    rtnl_link_set_ifindex(link.get(), int(ifindex));
    Addr lladdr(nl_addr_build(AF_LLC, mac.b.data(), 6));
    rtnl_link_set_addr(change.get(), lladdr.get());
    check(rtnl_link_change(sk->get(), link.get(), change.get(), 0), "setting the MAC of ifindex " + std::to_string(ifindex));
}

Mac get_mac(uint32_t ifindex)
{
    auto sk = route_socket();
    rtnl_link* raw = nullptr;
    check(rtnl_link_get_kernel(sk->get(), int(ifindex), nullptr, &raw), "reading ifindex " + std::to_string(ifindex));
    NlPtr<rtnl_link, rtnl_link_free> link(raw);
    nl_addr* a = rtnl_link_get_addr(link.get());
    Mac m;
    if (a && nl_addr_get_len(a) == 6)
        std::memcpy(m.b.data(), nl_addr_get_binary_addr(a), 6);
    return m;
}

void add_address(uint32_t ifindex, const std::string& cidr)
{
    auto sk = route_socket();
    NlPtr<rtnl_addr, rtnl_addr_put> addr(rtnl_addr_alloc());
    Addr local(parse(cidr, AF_UNSPEC));
    rtnl_addr_set_ifindex(addr.get(), int(ifindex));
    check(rtnl_addr_set_local(addr.get(), local.get()), "address " + cidr);
    check(rtnl_addr_add(sk->get(), addr.get(), 0), "adding address " + cidr);
}

void add_route(const std::string& dst_cidr, uint32_t ifindex)
{
    auto sk = route_socket();
    NlPtr<rtnl_route, rtnl_route_put> route(rtnl_route_alloc());
    Addr dst(parse(dst_cidr, AF_UNSPEC));
    check(rtnl_route_set_dst(route.get(), dst.get()), "route " + dst_cidr);
    rtnl_route_set_scope(route.get(), RT_SCOPE_LINK);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    rtnl_route_nh_set_ifindex(nh, int(ifindex));
    rtnl_route_add_nexthop(route.get(), nh);
    check(rtnl_route_add(sk->get(), route.get(), NLM_F_CREATE | NLM_F_EXCL), "adding route " + dst_cidr);
}

void add_neighbor(uint32_t ifindex, const IpAddr& ip, const Mac& mac)
{
    auto sk = route_socket();
    NlPtr<rtnl_neigh, rtnl_neigh_put> neigh(rtnl_neigh_alloc());
    Addr dst(nl_addr_build(ip.family == 4 ? AF_INET : AF_INET6, ip.bytes.data(), ip.family == 4 ? 4 : 16));
    Addr lladdr(nl_addr_build(AF_LLC, mac.b.data(), 6));
    rtnl_neigh_set_ifindex(neigh.get(), int(ifindex));
    rtnl_neigh_set_dst(neigh.get(), dst.get());
    rtnl_neigh_set_lladdr(neigh.get(), lladdr.get());
    rtnl_neigh_set_state(neigh.get(), NUD_PERMANENT);
    check(rtnl_neigh_add(sk->get(), neigh.get(), NLM_F_CREATE | NLM_F_REPLACE), "adding neighbour " + ip.str());
}

uint32_t ifindex_of(const std::string& name)
{
    auto sk = route_socket();
    rtnl_link* raw = nullptr;
    int err = rtnl_link_get_kernel(sk->get(), 0, name.c_str(), &raw);
    if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
        return 0;
    check(err, "looking up link " + name);
    NlPtr<rtnl_link, rtnl_link_free> link(raw);
    return uint32_t(rtnl_link_get_ifindex(link.get()));
}

namespace {
void change_link(uint32_t ifindex, const std::string& what, void (*set)(rtnl_link*, const void*), const void* arg)
{
    auto sk = route_socket();
    NlPtr<rtnl_link, rtnl_link_free> link(rtnl_link_alloc()), change(rtnl_link_alloc());
    rtnl_link_set_ifindex(link.get(), int(ifindex));
    set(change.get(), arg);
    check(rtnl_link_change(sk->get(), link.get(), change.get(), 0), what + " of ifindex " + std::to_string(ifindex));
}
}  // namespace

void set_up(uint32_t ifindex, bool up)
{
    change_link(ifindex, up ? "bringing up" : "bringing down", up
                    ? +[](rtnl_link* l, const void*) { rtnl_link_set_flags(l, IFF_UP); }
                    : +[](rtnl_link* l, const void*) { rtnl_link_unset_flags(l, IFF_UP); },
                nullptr);
}

void set_alias(uint32_t ifindex, const std::string& alias)
{
    change_link(ifindex, "setting the alias", +[](rtnl_link* l, const void* a) {
        rtnl_link_set_ifalias(l, static_cast<const std::string*>(a)->c_str());
    }, &alias);
}

void rename(uint32_t ifindex, const std::string& name)
{
    change_link(ifindex, "renaming to " + name, +[](rtnl_link* l, const void* n) {
        rtnl_link_set_name(l, static_cast<const std::string*>(n)->c_str());
    }, &name);
}

void delete_link(uint32_t ifindex)
{
    auto sk = route_socket();
    NlPtr<rtnl_link, rtnl_link_free> link(rtnl_link_alloc());
    rtnl_link_set_ifindex(link.get(), int(ifindex));
    check(rtnl_link_delete(sk->get(), link.get()), "deleting ifindex " + std::to_string(ifindex));
}

}  // namespace vmhost::netcfg
