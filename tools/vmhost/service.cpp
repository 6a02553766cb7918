#include "service.hpp"

#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include <devmap_egress/error.hpp>

#include "config.hpp"
#include "control_socket.hpp"
#include "daemon.hpp"
#include "metrics.hpp"
#include "status_report.hpp"

namespace vmhost {

namespace {
double now_unix()
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return double(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// SIGHUP, SIGTERM and SIGINT as a file descriptor the loop polls.
dme::Fd signal_fd()
{
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGHUP, SIGTERM, SIGINT})
        sigaddset(&set, s);
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr))
        dme::fail(errno, "blocking signals failed");
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        dme::fail(errno, std::string("signalfd failed: ") + std::strerror(errno));
    return dme::Fd(fd);
}

// The metrics address "HOST:PORT" ([v6]:port too).
std::pair<std::string, int> host_port(const std::string& a)
{
    auto colon = a.rfind(':');
    std::string host = a.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return {host, std::stoi(a.substr(colon + 1))};
}

// The Prometheus endpoint: GET /metrics, on its own thread.
class MetricsServer {
public:
    MetricsServer(const std::string& address, std::function<std::string()> render)
    {
        auto [host, port] = host_port(address);
        server_.Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
            res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
        });
        server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("vmhostd: metrics at /metrics\n", "text/plain");
        });
        if (!server_.bind_to_port(host, port))
            dme::fail(EADDRINUSE, "metrics address " + address +
                                      ": cannot listen there (in use, or not an address of this host); "
                                      "change host.metrics in the configuration");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~MetricsServer()
    {
        server_.stop();
        if (thread_.joinable())
            thread_.join();
    }

private:
    httplib::Server server_;
    std::thread thread_;
};
}  // namespace

Service::Service(ServiceOptions opts, Log log) : opts_(std::move(opts)), log_(std::move(log)) {}

void Service::run()
{
    dme::Fd signals = signal_fd();
    HostConfig cfg = load_config(opts_.config_path);
    std::mutex mu;  // the daemon, between this loop and the metrics thread
    Health health;
    health.started_time = now_unix();
    // The control socket first: it refuses to start a second daemon, which
    // would adopt the running one's datapath. A later failure (metrics)
    // unwinds the daemon, which detaches it all.
    ControlSocket control(opts_.control_path);
    Daemon d(cfg, log_);
    MetricsServer metrics(cfg.metrics, [&] {
        std::lock_guard<std::mutex> l(mu);
        return prometheus_text(d, health);
    });
    log_("control socket " + control.path() + ", metrics at http://" + cfg.metrics + "/metrics");

    auto status_line = [&] {
        int enforced = 0;
        for (const auto& s : d.status())
            enforced += s.enforced;
        return "STATUS=" + std::to_string(enforced) + " of " + std::to_string(d.status().size()) + " VMs enforced";
    };
    auto reload = [&]() -> nlohmann::json {
        sd_notify(0, "RELOADING=1");
        health.reloads++;
        health.last_reload_time = now_unix();
        nlohmann::json r;
        try {
            auto res = d.reload(load_config(opts_.config_path));
            health.last_reload_ok = res.ok;
            r = {{"ok", res.ok}, {"summary", res.summary()}};
        } catch (const ConfigError& e) {
            health.last_reload_ok = false;
            for (const auto& p : e.problems())
                log_("reload refused: " + p);
            log_("reload refused: the running configuration stays");
            r = {{"ok", false}, {"summary", "refused: the running configuration stays"}, {"problems", e.problems()}};
        } catch (const dme::Error& e) {
            health.last_reload_ok = false;
            log_(std::string("reload refused: ") + e.what());
            r = {{"ok", false}, {"summary", std::string("refused: ") + e.what()}};
        }
        if (!health.last_reload_ok)
            health.reload_failures++;
        sd_notify(0, ("READY=1\n" + status_line()).c_str());
        return r;
    };

    sd_notify(0, ("READY=1\n" + status_line()).c_str());
    for (;;) {
        pollfd fds[3] = {{d.fd(), POLLIN, 0}, {control.fd(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
        const auto wait = d.until_retry();  // until an event, or a VM's retry
        if (poll(fds, 3, wait ? int(wait->count()) : -1) < 0) {
            if (errno == EINTR)
                continue;
            dme::fail(errno, std::string("poll failed: ") + std::strerror(errno));
        }
        if (fds[0].revents) {
            std::lock_guard<std::mutex> l(mu);
            d.on_readable();
            sd_notify(0, status_line().c_str());
        }
        if (wait) {
            std::lock_guard<std::mutex> l(mu);
            if (d.retry_due())
                sd_notify(0, status_line().c_str());
        }
        if (fds[1].revents) {
            control.serve_one([&](const std::string& req) {
                std::lock_guard<std::mutex> l(mu);
                // Link changes not read yet come first: a libvirt hook asks
                // right after its tap appeared.
                pollfd links{d.fd(), POLLIN, 0};
                if (poll(&links, 1, 0) > 0)
                    d.on_readable();
                try {
                    if (req == "status")
                        return status_report(d, health).dump();
                    if (req.rfind("vm ", 0) == 0)
                        return vm_report(d, req.substr(3)).dump();
                    if (req == "reload") {
                        log_("reload asked for by vmhostctl");
                        return reload().dump();
                    }
                    return nlohmann::json{{"error", "unknown request '" + req + "'; expected status, vm NAME or reload"}}
                        .dump();
                } catch (const dme::Error& e) {
                    return nlohmann::json{{"error", e.what()}}.dump();
                }
            });
        }
        if (fds[2].revents) {
            signalfd_siginfo si{};
            if (read(signals.get(), &si, sizeof(si)) != sizeof(si))
                continue;
            if (si.ssi_signo == SIGHUP) {
                std::lock_guard<std::mutex> l(mu);
                log_("reload asked for by SIGHUP");
                reload();
                continue;
            }
            log_(std::string("stopping on ") + strsignal(int(si.ssi_signo)) +
                 "; vmhostd teardown removes the datapath");
            sd_notify(0, "STOPPING=1");
            std::lock_guard<std::mutex> l(mu);
            d.release();
            return;
        }
    }
}

void Service::teardown()
{
    HostConfig cfg = load_config(opts_.config_path);
    ControlSocket control(opts_.control_path);  // no daemon may be running
    cfg.vms.clear();  // so every VM pinned is no longer configured
    // Whatever kind of datapath is pinned (shared or per-VM slot programs)
    // is taken off: auto takes the pinned kind, where a setting could refuse it.
    cfg.slot_programs = SlotPrograms::automatic;
    {
        Daemon d(cfg, log_);
    }
    log_("teardown: the NIC demux is off " + cfg.uplink + ", every VM's programs are off its tap, the taps vmhostd "
         "made are deleted, " + cfg.state_dir + " is removed");
}

}  // namespace vmhost
