// devmap-bench: clocks, CPU pinning and the fd limit (see bench.hpp).
#include "bench.hpp"

namespace bench {

double ms_since(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// CPU time of the calling thread (user + system), ns: unlike wall time it
// leaves out the time other tasks held the CPU (a shared, loaded machine).
double thread_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

std::string read_first_line(const std::string& path, const std::string& prefix)
{
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (prefix.empty() || line.rfind(prefix, 0) == 0) {
            if (!prefix.empty()) {
                auto colon = line.find(':');
                line = colon == std::string::npos ? line : line.substr(colon + 1);
                line.erase(0, line.find_first_not_of(" \t"));
            }
            return line;
        }
    return "";
}

// Thousands of loaded programs and their maps each hold fds (a per-slot tail
// program's object holds 8): raise the limit, the hard one too (root).
void raise_fd_limit()
{
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r))
        return;
    rlim_t want = 1 << 17;
    if (r.rlim_max < want) {
        rlimit more{want, want};
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            return;
    }
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
}

// The online CPUs this process may run on, before it pins itself.
std::vector<int> usable_cpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set))
        throw std::runtime_error("cannot read the CPU affinity");
    std::vector<int> out;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            out.push_back(c);
    return out;
}

void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        throw std::runtime_error("cannot pin to CPU " + std::to_string(cpu));
}

}  // namespace bench
