// The probes ask the running kernel; on this project's minimum (5.9+) kernels
// with live frames, the features the tests rely on must be reported.
#include <catch2/catch.hpp>

#include "fixtures.hpp"

TEST_CASE("feature probe reports what the running kernel supports", "[probe]")
{
    auto f = dme::probe_features();
    CHECK(f.devmap_prog == BPFEXT_SUPPORTED);
    CHECK(f.devmap_hash == BPFEXT_SUPPORTED);
    CHECK(f.devmap_hash_prog == BPFEXT_SUPPORTED);
    CHECK(f.cpumap_prog == BPFEXT_SUPPORTED);
    CHECK(f.live_frames == BPFEXT_SUPPORTED);
    CHECK(f.broadcast != BPFEXT_UNKNOWN);
    CHECK(f.xdp_features != BPFEXT_UNKNOWN);
}

TEST_CASE("bypass probe accounts for every frame and decides from what ran", "[probe][bypass]")
{
    auto r = dme::probe_egress_bypass();
    CHECK(r.sent[0] + r.sent[1] == 6400);
    CHECK(r.sent[0] == r.sent[1]);
    // Each frame met exactly one egress program, the right one or not.
    CHECK(r.ran[0] + r.ran[1] == 6400);
    CHECK(r.affected == (r.ran[0] != r.sent[0]));
    INFO("slot 0 ran " << r.ran[0] << ", slot 1 ran " << r.ran[1]);
}

// Needs the project's kernel patch (kernel-patches/): runs in 'make vmtest'.
TEST_CASE("each slot's egress program runs on exactly its own frames", "[probe][bypass][patched-kernel]")
{
    auto r = dme::probe_egress_bypass();
    INFO("slot 0 sent " << r.sent[0] << " ran " << r.ran[0] << "; slot 1 sent " << r.sent[1] << " ran " << r.ran[1]);
    CHECK_FALSE(r.affected);
}
