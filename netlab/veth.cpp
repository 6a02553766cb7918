#include "veth.hpp"

#include <net/if.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include <memory>
#include <stdexcept>

namespace netlab {

namespace {
using Sock = std::unique_ptr<nl_sock, decltype(&nl_socket_free)>;

Sock route_socket()
{
    Sock sk(nl_socket_alloc(), nl_socket_free);
    if (!sk || nl_connect(sk.get(), NETLINK_ROUTE))
        throw std::runtime_error("cannot open an rtnetlink socket");
    return sk;
}

void check_nl(int err, const std::string& what)
{
    if (err < 0)
        throw std::runtime_error(what + ": " + nl_geterror(err));
}

// The kernel refuses IFF_UP for a peer created straight into another
// namespace, so the far end is brought up from inside its namespace.
void set_up(const std::string& name)
{
    auto sk = route_socket();
    rtnl_link *link = nullptr, *change = rtnl_link_alloc();
    int err = rtnl_link_get_kernel(sk.get(), 0, name.c_str(), &link);
    if (!err) {
        rtnl_link_set_flags(change, IFF_UP);
        err = rtnl_link_change(sk.get(), link, change, 0);
    }
    rtnl_link_put(link);
    rtnl_link_put(change);
    check_nl(err, "bringing up " + name);
}
}  // namespace

VethPair::VethPair(const std::string& near, const std::string& far, const Netns& far_ns)
    : near_{near, 0}, far_{far, 0}, far_ns_(far_ns)
{
    auto sk = route_socket();
    rtnl_link* link = rtnl_link_veth_alloc();
    if (!link)
        throw std::runtime_error("rtnl_link_veth_alloc");
    rtnl_link* peer = rtnl_link_veth_get_peer(link);
    rtnl_link_set_name(link, near.c_str());
    rtnl_link_set_flags(link, IFF_UP);
    rtnl_link_set_name(peer, far.c_str());
    rtnl_link_set_ns_fd(peer, far_ns.fd());
    int err = rtnl_link_add(sk.get(), link, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(peer);  // libnl 3.7's rtnl_link_veth_get_peer() took a reference
    rtnl_link_veth_release(link);
    check_nl(err, "creating veth " + near + "/" + far);
    near_.ifindex = if_nametoindex(near.c_str());
    NetnsScope in_far(far_ns);
    set_up(far);
    far_.ifindex = if_nametoindex(far.c_str());
    if (!near_.ifindex || !far_.ifindex)
        throw std::runtime_error("veth " + near + "/" + far + " did not appear");
}

void VethPair::remove()
{
    if (removed_)
        return;
    removed_ = true;
    auto sk = route_socket();
    rtnl_link* link = rtnl_link_alloc();
    rtnl_link_set_ifindex(link, near_.ifindex);
    int err = rtnl_link_delete(sk.get(), link);
    rtnl_link_put(link);
    check_nl(err, "deleting veth " + near_.name);
}

VethPair::~VethPair()
{
    try {
        remove();
    } catch (...) {
        // The namespace's end takes the pair with it anyway.
    }
}

}  // namespace netlab
