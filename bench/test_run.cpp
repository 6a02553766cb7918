#include "test_run.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bench.hpp"

namespace bench {

TestRun test_run(int prog_fd, const netlab::Frame& frame, uint32_t repeat, uint32_t want_retval, const char* who)
{
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = uint32_t(frame.size()),
                .repeat = int(repeat));
    double t0 = thread_cpu_ns();
    int err = bpf_prog_test_run_opts(prog_fd, &run);
    double t1 = thread_cpu_ns();
    if (err)
        throw std::runtime_error(std::string(who) + ": test run failed: " + std::strerror(errno));
    if (run.retval != want_retval)
        throw std::runtime_error(std::string(who) + ": a legitimate frame got XDP action " +
                                 std::to_string(run.retval) + " instead of " + std::to_string(want_retval));
    return {(t1 - t0) / repeat, run.duration};
}

}  // namespace bench
