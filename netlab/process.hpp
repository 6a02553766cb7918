// Real programs (daemons, DHCP clients, ping, ip) run inside a test's network
// namespaces: fork, setns, exec. Every child is killed and reaped by its
// handle's destructor, and dies with the test process (PR_SET_PDEATHSIG) if
// that is killed. Temporary files live in a TempDir removed the same way.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "netns.hpp"

namespace netlab {

// A directory under $TMPDIR (or /tmp), removed with everything in it when the
// handle goes.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "dme-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    // Writes `content` to file(name) (mode 0755 when `executable`); returns its path.
    std::string write(const std::string& name, const std::string& content, bool executable = false) const;
    // The file's content, or "" if it cannot be read.
    std::string read(const std::string& name) const;

private:
    std::string path_;
};

// A child process running argv[0] (looked up in PATH) in namespace `ns`, in a
// process group of its own, stdin from /dev/null, stdout and stderr appended
// to `log_path` (or /dev/null). The destructor (or stop()) sends SIGTERM to
// the group, waits a moment, then SIGKILL, and reaps the child.
class Process {
public:
    Process(const Netns& ns, const std::vector<std::string>& argv, const std::string& log_path = "");
    // The same with stdout and stderr on `out_fd` (the caller keeps it).
    Process(const Netns& ns, const std::vector<std::string>& argv, int out_fd);
    ~Process();
    Process(Process&& o) noexcept;
    Process& operator=(Process&& o) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    const std::string& name() const noexcept { return name_; }
    // The exit status (as waitpid's, decoded below) once it has ended;
    // nullopt while it runs. Reaps it.
    std::optional<int> poll();
    // Waits up to scaled(timeout) (time_scale.hpp) for the end; nullopt if it
    // is still running.
    std::optional<int> wait(std::chrono::milliseconds timeout);
    // The same up to a point in time, as it is.
    std::optional<int> wait_until(std::chrono::steady_clock::time_point end);
    // TERM, then KILL after `grace`; reaps. Idempotent.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1000));

    // "exit 0", "exit 1", "signal 9".
    static std::string describe(int status);

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    std::string name_;
};

// Runs argv to completion in `ns`, with stdout and stderr captured together.
// Killed (and `status` = -1) if it outlasts scaled(timeout).
struct RunResult {
    int status = -1;   // exit code; -1: killed by the timeout or by a signal
    std::string output;
    bool ok() const { return status == 0; }
};
RunResult run_in(const Netns& ns, const std::vector<std::string>& argv,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

// Writes `value` to /proc/sys/<key> ("net/ipv6/conf/eth0/accept_ra") as seen
// from namespace `ns`. Throws naming the key on failure.
void write_sysctl(const Netns& ns, const std::string& key, const std::string& value);

}  // namespace netlab
