#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "time_scale.hpp"

namespace netlab {

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what)
{
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

// argv[0] as an absolute path: exec in the child must not allocate.
std::string resolve(const std::string& prog)
{
    if (prog.find('/') != std::string::npos)
        return prog;
    const char* path = std::getenv("PATH");
    std::string dirs = path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    // Root's PATH may lack the sbin directories where daemons live.
    dirs += ":/usr/sbin:/sbin";
    std::stringstream ss(dirs);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty())
            continue;
        std::string full = dir + "/" + prog;
        if (::access(full.c_str(), X_OK) == 0)
            return full;
    }
    throw std::runtime_error("'" + prog + "' is not installed (run 'make deps')");
}

// fork + setns + exec. `out_fd` becomes stdout and stderr (-1: /dev/null).
// Only async-signal-safe calls between fork and exec.
pid_t spawn(const Netns& ns, const std::vector<std::string>& argv, int out_fd)
{
    if (argv.empty())
        throw std::invalid_argument("spawn: empty argv");
    std::string exe = resolve(argv[0]);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        die("open /dev/null");
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(devnull);
        die("fork");
    }
    if (pid == 0) {
        // The child dies with the test process, even if that is SIGKILLed.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent)
            ::_exit(127);
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        if (::setns(ns.fd(), CLONE_NEWNET))
            ::_exit(126);
        int out = out_fd >= 0 ? out_fd : devnull;
        if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0)
            ::_exit(126);
        ::execv(exe.c_str(), args.data());
        ::_exit(127);
    }
    ::close(devnull);
    ::setpgid(pid, pid);  // also here: no race with a kill before the child ran
    return pid;
}

}  // namespace

TempDir::TempDir(const std::string& prefix)
{
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + ".XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!::mkdtemp(buf.data()))
        die("mkdtemp " + tmpl);
    path_ = buf.data();
}

TempDir::~TempDir()
{
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content, bool executable) const
{
    std::string p = file(name);
    {
        std::ofstream f(p, std::ios::trunc);
        f << content;
        if (!f)
            throw std::runtime_error("writing " + p + " failed");
    }
    if (::chmod(p.c_str(), executable ? 0755 : 0644))
        die("chmod " + p);
    return p;
}

std::string TempDir::read(const std::string& name) const
{
    std::ifstream f(file(name));
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

Process::Process(const Netns& ns, const std::vector<std::string>& argv, const std::string& log_path)
    : name_(argv.empty() ? "" : argv[0])
{
    int out = -1;
    if (!log_path.empty()) {
        out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (out < 0)
            die("open " + log_path);
    }
    try {
        pid_ = spawn(ns, argv, out);
    } catch (...) {
        if (out >= 0)
            ::close(out);
        throw;
    }
    if (out >= 0)
        ::close(out);
}

Process::Process(const Netns& ns, const std::vector<std::string>& argv, int out_fd)
    : pid_(spawn(ns, argv, out_fd)), name_(argv.empty() ? "" : argv[0])
{
}

Process::~Process() { stop(); }

Process::Process(Process&& o) noexcept : pid_(o.pid_), status_(o.status_), name_(std::move(o.name_))
{
    o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept
{
    if (this != &o) {
        stop();
        pid_ = o.pid_;
        status_ = o.status_;
        name_ = std::move(o.name_);
        o.pid_ = -1;
    }
    return *this;
}

std::optional<int> Process::poll()
{
    if (status_ || pid_ < 0)
        return status_;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = st;
        // Whatever the child left in its group (a script's children) goes too.
        ::kill(-pid_, SIGKILL);
    }
    return status_;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout)
{
    return wait_until(Clock::now() + scaled(timeout));
}

std::optional<int> Process::wait_until(std::chrono::steady_clock::time_point end)
{
    while (!poll()) {
        if (Clock::now() >= end)
            return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
}

void Process::stop(std::chrono::milliseconds grace)
{
    if (pid_ < 0 || status_)
        return;
    ::kill(-pid_, SIGTERM);
    if (!wait(grace)) {
        ::kill(-pid_, SIGKILL);
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        status_ = st;
    }
}

std::string Process::describe(int status)
{
    if (WIFEXITED(status))
        return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

RunResult run_in(const Netns& ns, const std::vector<std::string>& argv, std::chrono::milliseconds timeout)
{
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC))
        die("pipe2");
    Process p = [&] {
        try {
            return Process(ns, argv, fds[1]);
        } catch (...) {
            ::close(fds[0]);
            ::close(fds[1]);
            throw;
        }
    }();
    ::close(fds[1]);
    RunResult r;
    timeout = scaled(timeout);
    auto end = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        if (left <= 0)
            break;
        pollfd pfd{fds[0], POLLIN, 0};
        int n = ::poll(&pfd, 1, int(left));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        ssize_t got = ::read(fds[0], buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;  // EOF: the child (and what it started) closed the pipe
        r.output.append(buf, size_t(got));
    }
    ::close(fds[0]);
    auto st = p.wait_until(end);
    if (!st) {
        p.stop(std::chrono::milliseconds(0));
        r.output += "\n[killed: still running after " + std::to_string(timeout.count()) + " ms]";
        return r;
    }
    r.status = WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
    return r;
}

void write_sysctl(const Netns& ns, const std::string& key, const std::string& value)
{
    // /proc/sys/net is the opener's namespace: open it from inside `ns`.
    NetnsScope in(ns);
    std::string path = "/proc/sys/" + key;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        die("open " + path);
    ssize_t n = ::write(fd, value.data(), value.size());
    int saved = errno;
    ::close(fd);
    if (n != ssize_t(value.size())) {
        errno = saved;
        die("writing '" + value + "' to " + path);
    }
}

}  // namespace netlab
