// The C++ API's less travelled calls, each used at least once: a program
// taken from a loaded fd, an object opened from memory, and the write modes.
#include <catch2/catch.hpp>

#include <cstddef>
#include <span>

#include "fixtures.hpp"

using namespace netlab;
using Catch::Matchers::Contains;

TEST_CASE("XdpProgram::from_fd and BpfObject::open_memory", "[cxx]")
{
    size_t size = 0;
    const void* elf = egress_count__elf_bytes(&size);
    auto obj = dme::BpfObject::open_memory("egress_count", std::span(static_cast<const std::byte*>(elf), size));
    auto prog = dme::EgressProgram::load(obj, "egress_count");
    auto copy = dme::EgressProgram::from_fd(prog.fd());
    CHECK(copy.id() == prog.id());
    CHECK(copy.fd() != prog.fd());
    CHECK(copy.name() == "egress_count");

    Target target("cx0");
    auto m = dme::DevmapEgress::create("cx_slots", 2);
    m.set(0, target.dev(), copy);
    CHECK(m.get(0)->prog.id == prog.id());
    // A map fd is not a program.
    CHECK_THROWS_WITH(dme::EgressProgram::from_fd(m.fd()), Contains("is a BPF map, not a program"));
}

TEST_CASE("WriteMode::create_only and replace_only on every slot map", "[cxx][errors]")
{
    Target target("cx1");
    const dme::DevmapSetOptions create_only{.mode = dme::WriteMode::create_only};
    const dme::DevmapSetOptions replace_only{.mode = dme::WriteMode::replace_only};

    auto hash = dme::DevmapEgress::create_hash("cx_hash", 4);
    hash.set(5, target.dev(), create_only);
    CHECK_THROWS_WITH(hash.set(5, target.dev(), create_only), Contains("already set and BPF_NOEXIST"));
    hash.set(5, target.dev(), replace_only);
    CHECK_THROWS_WITH(hash.set(6, target.dev(), replace_only), Contains("does not exist"));
    CHECK_FALSE(hash.get(6));

    // Every slot of an array devmap exists: create_only is refused, and
    // replace_only needs a slot in use, as on a devmap_hash.
    auto array = dme::DevmapEgress::create("cx_array", 4);
    CHECK_THROWS_WITH(array.set(1, target.dev(), create_only), Contains("always exists"));
    CHECK_THROWS_WITH(array.set(1, target.dev(), replace_only), Contains("does not exist"));
    CHECK_FALSE(array.get(1));
    array.set(1, target.dev());
    array.set(1, target.dev(), replace_only);
    CHECK(array.get(1));

    auto cpus = dme::Cpumap::create("cx_cpus");
    CHECK_THROWS_WITH(cpus.set(0, 64, dme::CpumapSetOptions{.mode = dme::WriteMode::replace_only}),
                      Contains("does not exist"));
    CHECK_THROWS_WITH(cpus.set(0, 64, dme::CpumapSetOptions{.mode = dme::WriteMode::create_only}),
                      Contains("always exists"));
    CHECK_FALSE(cpus.get(0));
}
