// vmhostd's control socket: a Unix stream socket only root may use (mode
// 0600), one request line per connection ("status", "vm NAME", "reload"),
// one JSON reply. vmhostctl is its client (control_request).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <devmap_egress/fd.hpp>

namespace vmhost {

class ControlSocket {
public:
    // Binds `path`, replacing a stale socket file. Throws dme::Error if a
    // running vmhostd answers there, or the path cannot be bound.
    explicit ControlSocket(std::string path);
    ~ControlSocket();
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

    int fd() const noexcept { return fd_.get(); }
    const std::string& path() const noexcept { return path_; }
    // Accepts one waiting client, reads its request line and answers with
    // handler(request). A client that sends nothing within a second is
    // dropped: the daemon's loop never waits on one.
    void serve_one(const std::function<std::string(const std::string&)>& handler);

private:
    std::string path_;
    dme::Fd fd_;
};

// Throws dme::Error if a running vmhostd answers on `path` (without binding
// it: its directory may be gone, as systemd removes RuntimeDirectory= when
// the unit stops).
void refuse_if_answered(const std::string& path);

// Sends one request and returns the reply. Throws dme::Error naming the
// socket and what to do (is vmhostd running? are you root?).
std::string control_request(const std::string& path, const std::string& request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace vmhost
