// The cpulist parser that decides "possible" and "online" for cpumap slots.
#include <catch2/catch.hpp>

#include <cerrno>
#include <vector>

#include "internal.h"  // ext_parse_cpulist: internal, hidden from libbpf-ext.so

namespace {
std::vector<int> parse(const char* s, size_t n = 16)
{
    bool mask[64] = {};
    REQUIRE(ext_parse_cpulist(s, mask, n) == 0);
    std::vector<int> cpus;
    for (size_t i = 0; i < n; i++)
        if (mask[i])
            cpus.push_back(int(i));
    return cpus;
}
}  // namespace

TEST_CASE("cpulists with ranges, singles and a trailing newline", "[unit][cpus]")
{
    CHECK(parse("0-1\n") == std::vector<int>{0, 1});
    CHECK(parse("0") == std::vector<int>{0});
    CHECK(parse("0-2,5,7-8\n") == std::vector<int>{0, 1, 2, 5, 7, 8});
    CHECK(parse("") == std::vector<int>{});
}

TEST_CASE("cpulist entries past the mask are ignored", "[unit][cpus]")
{
    CHECK(parse("0,3-40", 5) == std::vector<int>{0, 3, 4});
}

TEST_CASE("malformed cpulists are rejected", "[unit][cpus]")
{
    bool mask[8];
    for (const char* bad : {"a", "1-", "3-1", "1;2", "-1", "1,,2"})
        CHECK(ext_parse_cpulist(bad, mask, 8) == -EINVAL);
}
