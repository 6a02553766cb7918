#include "link_watch.hpp"

#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <devmap_egress/error.hpp>

namespace vmhost {

namespace {
LinkEvent event_of(rtnl_link* link, LinkEvent::Kind kind)
{
    LinkEvent e;
    e.kind = kind;
    e.ifindex = uint32_t(rtnl_link_get_ifindex(link));
    if (const char* n = rtnl_link_get_name(link))
        e.name = n;
    if (const char* alias = rtnl_link_get_ifalias(link))
        e.alias = alias;
    e.up = rtnl_link_get_flags(link) & IFF_UP;
    nl_addr* a = rtnl_link_get_addr(link);
    if (a && nl_addr_get_len(a) == 6)
        std::memcpy(e.mac.b.data(), nl_addr_get_binary_addr(a), 6);
    return e;
}

struct Collect {
    std::vector<LinkEvent>* out;
    LinkEvent::Kind kind;
};

void on_object(nl_object* obj, void* arg)
{
    auto* c = static_cast<Collect*>(arg);
    c->out->push_back(event_of(reinterpret_cast<rtnl_link*>(obj), c->kind));
}

int on_message(nl_msg* msg, void* arg)
{
    auto* out = static_cast<std::vector<LinkEvent>*>(arg);
    int type = nlmsg_hdr(msg)->nlmsg_type;
    if (type != RTM_NEWLINK && type != RTM_DELLINK)
        return NL_OK;
    Collect c{out, type == RTM_NEWLINK ? LinkEvent::Kind::present : LinkEvent::Kind::gone};
    nl_msg_parse(msg, on_object, &c);
    return NL_OK;
}
}  // namespace

LinkWatch::LinkWatch() : sock_(nl_socket_alloc())
{
    if (!sock_)
        dme::fail(ENOMEM, "allocating a netlink socket failed");
    nl_socket_disable_seq_check(sock_);
    int err = nl_connect(sock_, NETLINK_ROUTE);
    if (!err)
        err = nl_socket_add_membership(sock_, RTNLGRP_LINK);
    if (!err)
        err = nl_socket_set_nonblocking(sock_);
    if (!err) {
        // A thousand taps appearing at once overflow the default 208 KiB
        // (ENOBUFS, then a full relist); 16 MiB holds such a burst.
        // SO_RCVBUFFORCE goes past net.core.rmem_max with CAP_NET_ADMIN.
        int size = 16 << 20;
        if (setsockopt(nl_socket_get_fd(sock_), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
            nl_socket_set_buffer_size(sock_, size, 0);
    }
    if (err) {
        nl_socket_free(sock_);
        dme::fail(EIO, std::string("subscribing to link notifications failed: ") + nl_geterror(err));
    }
}

LinkWatch::~LinkWatch() { nl_socket_free(sock_); }

int LinkWatch::fd() const { return nl_socket_get_fd(sock_); }

std::vector<LinkEvent> LinkWatch::list() const
{
    std::unique_ptr<nl_sock, decltype(&nl_socket_free)> sk(nl_socket_alloc(), nl_socket_free);
    nl_cache* cache = nullptr;
    int err = sk ? nl_connect(sk.get(), NETLINK_ROUTE) : -NLE_NOMEM;
    if (!err)
        err = rtnl_link_alloc_cache(sk.get(), AF_UNSPEC, &cache);
    if (err)
        dme::fail(EIO, std::string("listing the links failed: ") + nl_geterror(err));
    std::vector<LinkEvent> out;
    Collect c{&out, LinkEvent::Kind::present};
    nl_cache_foreach(cache, on_object, &c);
    nl_cache_free(cache);
    return out;
}

namespace {
using RouteSocket = std::unique_ptr<nl_sock, decltype(&nl_socket_free)>;

// A connected rtnetlink socket for one request; empty if none could be had.
RouteSocket route_socket()
{
    RouteSocket sk(nl_socket_alloc(), nl_socket_free);
    if (sk && nl_connect(sk.get(), NETLINK_ROUTE))
        sk.reset();
    return sk;
}

bool no_such_link(int err) { return err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND; }
}  // namespace

bool LinkWatch::exists(uint32_t ifindex) const
{
    RouteSocket sk = route_socket();
    if (!sk)
        return true;  // cannot tell: keep it
    rtnl_link* link = nullptr;
    int err = rtnl_link_get_kernel(sk.get(), int(ifindex), nullptr, &link);
    if (link)
        rtnl_link_put(link);
    return !no_such_link(err);
}

std::optional<LinkEvent> LinkWatch::named(const std::string& name) const
{
    RouteSocket sk = route_socket();
    if (!sk)
        dme::fail(EIO, "looking up link " + name + ": no rtnetlink socket");
    rtnl_link* link = nullptr;
    int err = rtnl_link_get_kernel(sk.get(), 0, name.c_str(), &link);
    if (no_such_link(err))
        return std::nullopt;
    if (err)
        dme::fail(EIO, "looking up link " + name + ": " + nl_geterror(err));
    LinkEvent e = event_of(link, LinkEvent::Kind::present);
    rtnl_link_put(link);
    return e;
}

std::vector<LinkEvent> LinkWatch::drain()
{
    std::vector<LinkEvent> out;
    nl_socket_modify_cb(sock_, NL_CB_VALID, NL_CB_CUSTOM, on_message, &out);
    for (;;) {
        int err = nl_recvmsgs_default(sock_);
        if (err == -NLE_AGAIN)
            break;
        if (err < 0)
            // An overrun loses notifications: the caller lists again.
            dme::fail(err == -NLE_NOMEM ? ENOBUFS : EIO, std::string("reading link notifications: ") + nl_geterror(err));
    }
    return out;
}

Mac libvirt_tap_mac(const Mac& vm_mac)
{
    Mac m = vm_mac;
    m.b[0] = 0xfe;
    return m;
}

}  // namespace vmhost
