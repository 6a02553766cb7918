// Real packets sent from another namespace through a device's receive path,
// with the ingress program in native (driver) and in generic (skb) mode.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

using namespace netlab;

namespace {
struct Path {
    Netns src_ns = Netns::create();
    VethPair uplink;  // near: the host side whose ingress program redirects
    Target target;
    Redirector rx;
    Counter egress;
    dme::DevmapEgress slots = rx.devmap_hash();

    Path(const std::string& name, dme::XdpMode mode, uint32_t sink_flags)
        : uplink(name + "u", name + "up", src_ns), target(name + "t", sink_flags)
    {
        dme::DevmapEgress::SetOptions opts;
        // Generic redirects go through the skb path: no ndo_xdp_xmit needed.
        opts.skip_xmit_check = mode == dme::XdpMode::generic;
        slots.set(9, target.dev(), egress.prog, opts);
        rx.to_devmap_hash(9);
    }
    void send(uint32_t n, const Frame& f) { send_frames(src_ns, uplink.far().ifindex, f, n); }
};

void drop_and_pass(Path& p)
{
    p.send(50, raw_frame(100));
    REQUIRE(eventually([&] { return p.target.received() == 50; }));
    CHECK(p.egress.counts().passed == 50);
    CHECK(p.egress.skel->bss->seen_egress_ifindex == p.target.near().ifindex);
    CHECK(p.egress.skel->bss->seen_ingress_ifindex == p.uplink.near().ifindex);

    p.egress.verdict(XDP_DROP);
    p.send(30, raw_frame(100));
    REQUIRE(eventually([&] { return p.egress.counts().dropped == 30; }));
    CHECK(p.target.received() == 50);
}
}  // namespace

TEST_CASE("native XDP: packets from another namespace meet the slot's egress program", "[devmap][native]")
{
    Path p("rxn", dme::XdpMode::native, XDP_FLAGS_DRV_MODE);
    auto ingress = dme::IngressProgram::from(p.rx.skel->progs.xdp_redirect_slot);
    auto attached = dme::XdpAttachment::attach(dme::Interface::index(p.uplink.near().ifindex), ingress);
    drop_and_pass(p);
}

TEST_CASE("generic XDP: the slot's egress program runs on the skb path too", "[devmap][generic]")
{
    Path p("rxg", dme::XdpMode::generic, XDP_FLAGS_SKB_MODE);
    auto ingress = dme::IngressProgram::from(p.rx.skel->progs.xdp_redirect_slot);
    auto attached =
        dme::XdpAttachment::attach(dme::Interface::index(p.uplink.near().ifindex), ingress, dme::XdpMode::generic);
    drop_and_pass(p);
}

TEST_CASE("an attachment detaches its program when the handle goes away", "[xdp]")
{
    Path p("rxd", dme::XdpMode::native, XDP_FLAGS_DRV_MODE);
    auto ingress = dme::IngressProgram::from(p.rx.skel->progs.xdp_redirect_slot);
    auto dev = dme::Interface::index(p.uplink.near().ifindex);
    {
        auto attached = dme::XdpAttachment::attach(dev, ingress);
        __u32 id = 0;
        REQUIRE(bpf_xdp_query_id(int(dev.ifindex()), 0, &id) == 0);
        CHECK(id == ingress.id());
        CHECK_THROWS_WITH(dme::XdpAttachment::attach(dev, ingress),
                          Catch::Matchers::Contains("another XDP program is attached"));
    }
    __u32 id = 1;
    REQUIRE(bpf_xdp_query_id(int(dev.ifindex()), 0, &id) == 0);
    CHECK(id == 0);
}

TEST_CASE("an attachment swaps its program in one step, and refuses if another replaced it", "[xdp]")
{
    Path p("rxr", dme::XdpMode::native, XDP_FLAGS_DRV_MODE);
    Redirector other;
    auto first = dme::IngressProgram::from(p.rx.skel->progs.xdp_redirect_slot);
    auto second = dme::IngressProgram::from(other.skel->progs.xdp_redirect_slot);
    auto dev = dme::Interface::index(p.uplink.near().ifindex);
    auto on_dev = [&] {
        __u32 id = 0;
        REQUIRE(bpf_xdp_query_id(int(dev.ifindex()), 0, &id) == 0);
        return id;
    };
    auto attached = dme::XdpAttachment::attach(dev, first);
    attached.replace(second);
    CHECK(on_dev() == second.id());
    // Someone else swaps the program behind the handle's back.
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = second.fd());
    REQUIRE(bpf_xdp_attach(int(dev.ifindex()), first.fd(), XDP_FLAGS_DRV_MODE | XDP_FLAGS_REPLACE, &opts) == 0);
    CHECK_THROWS_WITH(attached.replace(second), Catch::Matchers::Contains("another program replaced ours"));
    CHECK(on_dev() == first.id());  // theirs stays
    bpf_xdp_detach(int(dev.ifindex()), XDP_FLAGS_DRV_MODE, nullptr);
}
