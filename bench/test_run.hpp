// One BPF_PROG_TEST_RUN of a program on a frame, timed as the bench's
// program-alone figures are (the guard and security-groups sections).
#pragma once

#include <cstdint>

#include "frames.hpp"

namespace bench {

struct TestRun {
    // The calling thread's CPU time per run: the kernel's own duration is
    // whole ns, too coarse for programs of a few dozen ns, and wall time
    // counts other tasks on a shared machine; the syscall's own cost is
    // spread over the runs.
    double cpu_ns = 0;
    uint32_t kernel_ns = 0;  // the kernel's duration per run, for one-run samples
};

// `repeat` runs; throws, naming `who`, if the run fails or the program
// returns other than `want_retval`.
TestRun test_run(int prog_fd, const netlab::Frame& frame, uint32_t repeat, uint32_t want_retval, const char* who);

}  // namespace bench
