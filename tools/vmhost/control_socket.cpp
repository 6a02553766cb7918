#include "control_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <devmap_egress/error.hpp>

namespace vmhost {

namespace {
sockaddr_un address(const std::string& path)
{
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof(a.sun_path))
        dme::fail(ENAMETOOLONG, "control socket '" + path + "': longer than " +
                                    std::to_string(sizeof(a.sun_path) - 1) + " bytes");
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

dme::Fd stream_socket()
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        dme::fail(errno, std::string("creating a Unix socket failed: ") + std::strerror(errno));
    return dme::Fd(fd);
}

void set_timeout(int fd, std::chrono::milliseconds t)
{
    timeval tv{long(t.count() / 1000), long(t.count() % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool write_all(int fd, const std::string& s)
{
    size_t done = 0;
    while (done < s.size()) {
        ssize_t n = send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        done += size_t(n);
    }
    return true;
}

// Reads until `stop` is seen (a newline for requests) or the peer closes.
std::string read_until(int fd, char stop, size_t max)
{
    std::string s;
    char buf[4096];
    while (s.size() < max) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            break;
        s.append(buf, size_t(n));
        if (stop && s.find(stop) != std::string::npos)
            break;
    }
    return s;
}
}  // namespace

void refuse_if_answered(const std::string& path)
{
    // Someone answering there is a vmhostd already running.
    sockaddr_un a = address(path);
    dme::Fd probe = stream_socket();
    if (connect(probe.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0)
        dme::fail(EADDRINUSE,
                  "control socket " + path + ": another vmhostd answers there; stop it first (systemctl stop vmhostd)");
}

ControlSocket::ControlSocket(std::string path) : path_(std::move(path)), fd_(stream_socket())
{
    sockaddr_un a = address(path_);
    refuse_if_answered(path_);
    unlink(path_.c_str());  // a stale file from a daemon that was killed
    mode_t old = umask(0077);
    int err = bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) ? errno : 0;
    umask(old);
    if (err)
        dme::fail(err, "control socket " + path_ + ": cannot bind: " + std::strerror(err) +
                           (err == ENOENT ? " (its directory is missing; systemd makes it with RuntimeDirectory=)" : ""));
    if (listen(fd_.get(), 16))
        dme::fail(errno, "control socket " + path_ + ": cannot listen: " + std::strerror(errno));
}

ControlSocket::~ControlSocket() { unlink(path_.c_str()); }

void ControlSocket::serve_one(const std::function<std::string(const std::string&)>& handler)
{
    int c = accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0)
        return;
    dme::Fd client(c);
    // Blocking again, with a deadline.
    int fl = fcntl(c, F_GETFL);
    fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
    set_timeout(c, std::chrono::seconds(1));
    std::string req = read_until(c, '\n', 4096);
    auto nl = req.find('\n');
    if (nl == std::string::npos)
        return;
    req.resize(nl);
    write_all(c, handler(req) + "\n");
}

std::string control_request(const std::string& path, const std::string& request, std::chrono::milliseconds timeout)
{
    sockaddr_un a = address(path);
    dme::Fd fd = stream_socket();
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a))) {
        int err = errno;
        std::string why = err == ENOENT || err == ECONNREFUSED
                              ? "vmhostd is not running (systemctl start vmhostd), or uses another socket (--socket)"
                          : err == EACCES ? "permission denied: vmhostctl needs root"
                                          : std::strerror(err);
        dme::fail(err, "control socket " + path + ": " + why);
    }
    set_timeout(fd.get(), timeout);
    if (!write_all(fd.get(), request + "\n"))
        dme::fail(errno, "control socket " + path + ": sending the request failed: " + std::strerror(errno));
    std::string reply = read_until(fd.get(), 0, 64 << 20);
    if (reply.empty())
        dme::fail(ETIMEDOUT, "control socket " + path + ": no reply from vmhostd within " +
                                 std::to_string(timeout.count() / 1000) + " s");
    return reply;
}

}  // namespace vmhost
