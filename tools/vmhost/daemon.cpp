#include "daemon.hpp"

#include <poll.h>

#include <cerrno>

#include <devmap_egress/error.hpp>

namespace vmhost {

Daemon::Daemon(HostConfig cfg, Log log) : cfg_(std::move(cfg)), log_(std::move(log))
{
    dme::Interface uplink = [&] {
        try {
            return dme::Interface::named(cfg_.uplink);
        } catch (const dme::Error& e) {
            dme::fail(e.code(), "uplink '" + cfg_.uplink + "': " + e.what() + " (host.uplink in the configuration)");
        }
    }();
    host_ = std::make_unique<VmHost>(uplink, cfg_.mode);
    log_("uplink " + cfg_.uplink + ": NIC demux attached (" +
         (cfg_.mode == dme::XdpMode::native ? "native" : "generic") + " XDP), " + std::to_string(cfg_.vms.size()) +
         " VMs configured");
    for (size_t i = 0; i < cfg_.vms.size(); i++) {
        VmStatus s;
        s.name = cfg_.vms[i].name;
        s.port = uint32_t(i + 1);  // slot 0 is the uplink's
        vms_.push_back(s);
    }
    for (const auto& e : watch_.list())
        on_link(e);
}

std::optional<size_t> Daemon::match(const LinkEvent& e) const
{
    for (size_t i = 0; i < cfg_.vms.size(); i++) {
        const VmConfig& vm = cfg_.vms[i];
        if (vm.tap ? e.name == *vm.tap : e.mac == libvirt_tap_mac(vm.policy.mac))
            return i;
    }
    return std::nullopt;
}

void Daemon::on_link(const LinkEvent& e)
{
    // A tap that goes: whichever VM had it (its name or MAC may be gone).
    if (e.kind == LinkEvent::Kind::gone) {
        for (auto& s : vms_)
            if (s.ifindex == e.ifindex) {
                if (s.enforced)
                    host_->forget_vm(s.port);
                log_("vm " + s.name + ": tap " + e.name + " gone; its programs and maps went with it, host state forgotten");
                s.ifindex.reset();
                s.enforced = false;
                s.error.clear();
            }
        return;
    }
    auto i = match(e);
    if (!i)
        return;
    VmStatus& s = vms_[*i];
    if (s.ifindex == e.ifindex)
        return;  // already handled: another change of the same tap
    if (s.ifindex) {
        log_("vm " + s.name + ": tap " + e.name + " also matches, but ifindex " + std::to_string(*s.ifindex) +
             " has the VM; ignored");
        return;
    }
    s.ifindex = e.ifindex;
    auto t0 = std::chrono::steady_clock::now();
    try {
        VmPolicy p = cfg_.vms[*i].policy;
        p.host_mac = e.mac;
        host_->add_vm(s.port, dme::Interface::index(e.ifindex), p);
        s.enforced = true;
        s.time_to_policy = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
        log_("vm " + s.name + ": tap " + e.name + " (ifindex " + std::to_string(e.ifindex) + ") seen; policy enforced in " +
             std::to_string(s.time_to_policy.count() / 1000.0) + " ms");
    } catch (const dme::Error& err) {
        s.error = err.what();
        log_("vm " + s.name + ": tap " + e.name + " seen; enforcing its policy failed: " + s.error);
    }
}

void Daemon::step(std::chrono::milliseconds timeout)
{
    pollfd p{watch_.fd(), POLLIN, 0};
    int n = poll(&p, 1, int(timeout.count()));
    if (n < 0 && errno != EINTR)
        dme::fail(errno, "waiting for link notifications failed");
    if (n <= 0)
        return;
    std::vector<LinkEvent> events;
    try {
        events = watch_.drain();
    } catch (const dme::Error& e) {
        // Notifications were lost: what is there now is the truth.
        log_(std::string("link notifications lost (") + e.what() + "); listing the links again");
        events = watch_.list();
        for (auto& s : vms_) {
            bool there = false;
            for (const auto& l : events)
                there |= s.ifindex == l.ifindex;
            if (s.ifindex && !there)
                events.push_back({LinkEvent::Kind::gone, *s.ifindex, "", {}});
        }
    }
    for (const auto& e : events)
        on_link(e);
}

std::vector<Daemon::VmStatus> Daemon::status() const { return vms_; }

}  // namespace vmhost
