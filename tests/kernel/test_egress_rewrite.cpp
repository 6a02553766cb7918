// The rewrite helpers as slot egress programs: what arrives at the far end.
#include <catch2/catch.hpp>

#include <cstring>

#include "egress_rewrite.skel.h"
#include "fixtures.hpp"

using namespace netlab;

namespace netlab {
TESTING_SKEL(egress_rewrite)
}

namespace {
// A veth whose far end keeps the first bytes of the last frame it received.
struct PeekTarget {
    Netns ns = Netns::create();
    VethPair veth;
    Skel<frame_sink> peek = open_load<frame_sink>();
    explicit PeekTarget(const std::string& name) : veth(name, name + "p", ns)
    {
        attach_xdp_in(ns, veth.far().ifindex, bpf_program__fd(peek->progs.frame_peek));
    }
    uint64_t received() const { return read_counters(bpf_map__fd(peek->maps.counters)).packets; }
    std::vector<uint8_t> last() const
    {
        return {peek->bss->last_frame, peek->bss->last_frame + sizeof(peek->bss->last_frame)};
    }
};

// Send `f` through slot 1 holding `prog`; return what arrived.
std::vector<uint8_t> through(PeekTarget& t, const dme::EgressProgram& prog, const Frame& f, uint32_t* len = nullptr)
{
    Redirector rx;
    rx.devmap_hash().set(1, dme::Interface::index(t.veth.near().ifindex), prog);
    rx.to_devmap_hash(1);
    uint64_t before = t.received();
    run_live_frames(rx.fd(), f, 1);
    REQUIRE(eventually([&] { return t.received() == before + 1; }));
    if (len)
        *len = t.peek->bss->last_len;
    return t.last();
}
}  // namespace

TEST_CASE("vlan_push tags frames with the slot's VLAN, and refuses tagged ones", "[devmap][rewrite]")
{
    PeekTarget t("rw0");
    auto rw = open_load<egress_rewrite>();
    rw->data->vlan_id = 100;
    rw->bss->vlan_pcp = 5;
    auto push = dme::EgressProgram::from(rw->progs.vlan_push);
    Frame f = udp4_frame(ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1, 2, 30);
    uint32_t len = 0;
    auto out = through(t, push, f, &len);
    CHECK(len == f.size() + 4);
    CHECK(std::memcmp(out.data(), f.data(), 12) == 0);  // MACs kept
    CHECK(out[12] == 0x81);
    CHECK(out[13] == 0x00);
    CHECK(((out[14] << 8 | out[15]) & 0x0fff) == 100);
    CHECK((out[14] >> 5) == 5);
    CHECK(out[16] == 0x08);  // the inner ethertype: IPv4
    CHECK(out[17] == 0x00);
    CHECK(std::memcmp(out.data() + 18, f.data() + 14, 20) == 0);  // IPv4 header intact

    Frame tagged = f;
    tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x07});
    Redirector rx;
    rx.devmap_hash().set(2, dme::Interface::index(t.veth.near().ifindex), push);
    rx.to_devmap_hash(2);
    run_live_frames(rx.fd(), tagged, 1);
    CHECK(rw->bss->dropped == 1);
}

TEST_CASE("vlan_pop strips one tag and passes untagged frames as they are", "[devmap][rewrite]")
{
    PeekTarget t("rw1");
    auto rw = open_load<egress_rewrite>();
    auto pop = dme::EgressProgram::from(rw->progs.vlan_pop);
    Frame f = udp4_frame(ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1, 2, 30);
    Frame tagged = f;
    tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x64});
    uint32_t len = 0;
    auto out = through(t, pop, tagged, &len);
    CHECK(len == f.size());
    CHECK(std::vector<uint8_t>(out.begin(), out.begin() + 60) == std::vector<uint8_t>(f.begin(), f.begin() + 60));
    out = through(t, pop, f, &len);
    CHECK(len == f.size());
    CHECK(std::memcmp(out.data(), f.data(), 60) == 0);
    CHECK(rw->bss->rewritten == 1);
}

TEST_CASE("mac_rewrite sets the destination and, if given, the source MAC", "[devmap][rewrite]")
{
    PeekTarget t("rw2");
    auto rw = open_load<egress_rewrite>();
    const uint8_t dst[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, src[6] = {0x02, 1, 2, 3, 4, 5};
    std::memcpy(rw->bss->new_dst, dst, 6);
    auto rewrite = dme::EgressProgram::from(rw->progs.mac_rewrite);
    Frame f = udp4_frame(ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1, 2, 30);
    auto out = through(t, rewrite, f);
    CHECK(std::memcmp(out.data(), dst, 6) == 0);
    CHECK(std::memcmp(out.data() + 6, f.data() + 6, 6) == 0);  // source kept
    std::memcpy(rw->bss->new_src, src, 6);
    out = through(t, rewrite, f);
    CHECK(std::memcmp(out.data() + 6, src, 6) == 0);
    CHECK(std::memcmp(out.data() + 12, f.data() + 12, 48) == 0);
}
