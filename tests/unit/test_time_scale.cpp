// netlab's time scale: the tests' waits stretched on a slow kernel
// (NETLAB_TIME_SCALE, set by tests/vm/in-guest.sh on a debug kernel).
// ctest runs this file three ways: without the variable, with 2.5, and with
// a malformed value, which must be refused with the variable named.
#include "time_scale.hpp"
#include "traffic.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using namespace std::chrono_literals;

TEST_CASE("netlab: waits are stretched by NETLAB_TIME_SCALE", "[time_scale]")
{
    const double scale = netlab::time_scale();  // first: a malformed value throws here
    const char* v = std::getenv("NETLAB_TIME_SCALE");
    const double expected = v && *v ? std::stod(v) : 1.0;
    CHECK(scale == Approx(expected));
    CHECK(netlab::scaled(1000ms).count() == static_cast<long>(1000 * expected));
    CHECK(netlab::scaled(0ms).count() == 0);
    // eventually() waits the stretched time, not the given one: a condition
    // that turns true only after 60 ms of a 40 ms wait is seen at 2.5x.
    const auto start = std::chrono::steady_clock::now();
    const bool seen = netlab::eventually([&] { return std::chrono::steady_clock::now() - start > 60ms; }, 40ms);
    CHECK(seen == (expected >= 2.0));
}
