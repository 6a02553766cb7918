// Map-wide default programs (kernel-patches/ 0003-0004). On a stock kernel
// every call is refused with a message naming the patched kernel; on the
// patched kernel ('make vmtest') the semantics hold.
#include <catch2/catch.hpp>

#include <bpf_ext/bpf_ext.h>

#include "fixtures.hpp"

using namespace netlab;
using Catch::Matchers::Contains;

TEST_CASE("default programs on a stock kernel: refused, naming the patched kernel", "[default][stock-kernel]")
{
    REQUIRE(dme::probe_features().default_prog == BPFEXT_UNSUPPORTED);
    Counter egress;
    CHECK_THROWS_WITH(dme::DevmapEgress::create_hash("df_stock", 8, egress.prog),
                      Contains("patched kernel") && Contains("kernel-patches/"));
    auto m = dme::DevmapEgress::create_hash("df_stock", 8);
    CHECK_THROWS_WITH(m.set_default(egress.prog), Contains("patched kernel"));
    CHECK_THROWS_WITH(m.clear_default(), Contains("patched kernel"));
    CHECK(m.default_program().id == 0);
    LIBBPF_OPTS(bpfext_devmap_create_opts, ext, .value_size = BPFEXT_SLOT_VALUE_EXT_SIZE);
    CHECK(bpfext_devmap_create(BPF_MAP_TYPE_DEVMAP, "df_stock", 4, &ext) == -EOPNOTSUPP);
    CHECK_THAT(bpfext_errmsg(), Contains("12-byte values") && Contains("patched kernel"));
    auto remote = open_load<cpumap_redirect_again>();
    CHECK_THROWS_WITH(dme::CpuMap::create("df_stock_cpu", 0, dme::CpumapProgram::from(remote->progs.cpumap_redirect_again)),
                      Contains("patched kernel"));
}

TEST_CASE("a devmap default program runs for inheriting slots and switches them all at once",
          "[default][patched-kernel]")
{
    REQUIRE(dme::probe_features().default_prog == BPFEXT_SUPPORTED);
    Target t1("df1"), t2("df2"), t3("df3"), t4("df4");
    Counter first, second, own;
    auto m = dme::DevmapEgress::create_hash("df_slots", 16, first.prog);
    CHECK(m.info().value_size == BPFEXT_SLOT_VALUE_EXT_SIZE);
    CHECK(m.default_program().id == first.prog.id());
    m.set(1, t1.dev());             // inherits
    m.set(2, t2.dev());             // inherits
    m.set(3, t3.dev(), own.prog);   // override
    dme::DevmapEgress::SetOptions out;
    out.no_default = true;
    m.set(4, t4.dev(), out);        // opted out

    auto s1 = m.get(1)->prog;
    CHECK(s1.id == first.prog.id());
    CHECK(s1.inherited);
    CHECK_FALSE(m.get(3)->prog.inherited);
    CHECK(m.get(3)->prog.id == own.prog.id());
    CHECK(m.get(4)->prog.opted_out);
    CHECK(m.get(4)->prog.id == 0);

    // Frames through each slot: the default runs for 1 and 2 only.
    Skel<xdp_redirect_slot> into = open_only<xdp_redirect_slot>();
    REQUIRE(bpf_map__reuse_fd(into->maps.tx_devmap_hash, m.fd()) == 0);
    REQUIRE(xdp_redirect_slot__load(into.get()) == 0);
    int prog = bpf_program__fd(into->progs.xdp_redirect_slot);
    for (uint32_t key = 1; key <= 4; key++) {
        into->bss->target = TARGET_DEVMAP_HASH;
        into->bss->target_key = key;
        run_live_frames(prog, raw_frame(), 64);
    }
    CHECK(first.counts().packets == 128);
    CHECK(own.counts().packets == 64);
    CHECK(eventually([&] { return t4.received() == 64; }));

    // One replace switches every inheriting slot; the old default is freed.
    uint32_t first_id = first.prog.id();
    m.set_default(second.prog);
    CHECK(m.get(2)->prog.id == second.prog.id());
    for (uint32_t key = 1; key <= 2; key++) {
        into->bss->target_key = key;
        run_live_frames(prog, raw_frame(), 32);
    }
    CHECK(second.counts().packets == 64);
    CHECK(first.counts().packets == 128);
    first.skel.reset();
    { auto gone = std::move(first.prog); }
    CHECK(eventually([&] { return !prog_exists(first_id); }));

    // Cleared: inheriting slots run nothing and send everything.
    CHECK(m.clear_default());
    CHECK_FALSE(m.clear_default());
    uint64_t before = t1.received();
    into->bss->target_key = 1;
    run_live_frames(prog, raw_frame(), 16);
    CHECK(second.counts().packets == 64);
    CHECK(eventually([&] { return t1.received() == before + 16; }));
}

// The refused self-referencing default (ELOOP) is covered by the series'
// own selftest (0006), which has a program built to use its own map.
TEST_CASE("a cpumap default program is inherited by CPUs written without one, and can be cleared",
          "[default][patched-kernel]")
{
    REQUIRE(dme::probe_features().default_prog == BPFEXT_SUPPORTED);
    auto remote = open_load<cpumap_redirect_again>();
    remote->bss->next_hop = 2;  // drop
    auto prog = dme::CpumapProgram::from(remote->progs.cpumap_redirect_again);
    auto cpus = dme::CpuMap::create("df_cpus", 0, prog);
    cpus.set(0, 64);
    dme::CpuMap::SetOptions out;
    out.no_default = true;
    cpus.set(1, 64, out);
    CHECK(cpus.get(0)->prog.inherited);
    CHECK(cpus.get(0)->prog.id == prog.id());
    CHECK(cpus.get(1)->prog.opted_out);

    // Frames to CPU 0's queue meet the default there.
    Skel<xdp_redirect_slot> into = open_only<xdp_redirect_slot>();
    REQUIRE(bpf_map__reuse_fd(into->maps.tx_cpumap, cpus.fd()) == 0);
    REQUIRE(xdp_redirect_slot__load(into.get()) == 0);
    into->bss->target = TARGET_CPUMAP;
    into->bss->target_key = 0;
    run_live_frames(bpf_program__fd(into->progs.xdp_redirect_slot), raw_frame(), 32);
    CHECK(eventually([&] { return read_counters(bpf_map__fd(remote->maps.counters)).dropped == 32; }));

    CHECK(cpus.clear_default());
    CHECK(cpus.default_program().id == 0);
}
