// How long the tests wait for the kernel, a daemon or a child program, on a
// kernel slower than a plain host's.
#pragma once

#include <chrono>

namespace netlab {

// The factor in NETLAB_TIME_SCALE (a number from 1 to 1000, default 1).
// tests/vm/in-guest.sh sets it on a KASAN/kmemleak kernel under TCG, where
// the same work takes several times longer. A malformed value throws,
// naming the variable.
double time_scale();

// A wait stretched by time_scale(). eventually(), run_in() and
// Process::wait() apply it to the waits they are given.
std::chrono::milliseconds scaled(std::chrono::milliseconds wait);

}  // namespace netlab
