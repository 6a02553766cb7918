#include "daemon.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <map>
#include <set>

#include <bpf_ext/errors.h>
#include <bpf_ext/probe.h>
#include <devmap_egress/error.hpp>

#include "netcfg.hpp"
#include "persistent_tap.hpp"

namespace vmhost {

namespace {
const char* mode_name(dme::XdpMode m) { return m == dme::XdpMode::native ? "native" : "generic"; }

// What finds a VM's tap: a change of it is a different tap, not a new policy.
bool same_match(const VmConfig& a, const VmConfig& b)
{
    return a.tap == b.tap && (a.tap || a.policy.mac == b.policy.mac);
}

std::string tap_settings(const TapSettings& how)
{
    std::string s;
    if (how.owner)
        s += ", owner uid " + std::to_string(*how.owner);
    if (how.group)
        s += ", group gid " + std::to_string(*how.group);
    if (how.multi_queue)
        s += ", multi-queue";
    return s;
}
}  // namespace

Daemon::Daemon(HostConfig cfg, Log log) : cfg_(std::move(cfg)), log_(std::move(log))
{
    dme::Interface uplink = [&] {
        try {
            return dme::Interface::named(cfg_.uplink);
        } catch (const dme::Error& e) {
            dme::fail(e.code(), "uplink '" + cfg_.uplink + "': " + e.what() + " (host.uplink in the configuration)");
        }
    }();
    uplink_ifindex_ = uplink.ifindex();
    log_(kernel_report());
    host_ = std::make_unique<VmHost>(uplink, cfg_.mode, cfg_.state_dir, cfg_.slot_programs);
    log_("slot programs: " + host_->slot_mode_note());
    const auto pinned = host_->pinned_vms();
    log_("uplink " + cfg_.uplink + ": NIC demux " +
         (host_->demux_adopted() ? "adopted from " + cfg_.state_dir + " (" + std::to_string(pinned.size()) +
                                       " VMs pinned there)"
                                 : std::string("attached")) +
         " (" + mode_name(cfg_.mode) + " XDP), " + std::to_string(cfg_.vms.size()) + " VMs configured");
    // A VM a previous daemon left keeps its slot; the others take free ones.
    std::map<std::string, uint32_t> pinned_port;  // by VM name
    for (const auto& [port, rec] : pinned)
        pinned_port.emplace(rec.name, port);
    std::set<uint32_t> taken;
    for (const auto& vm : cfg_.vms) {
        Entry e{vm, {}, {}, {}, {}, {}};
        e.status.name = vm.name;
        if (auto it = pinned_port.find(vm.name); it != pinned_port.end() && taken.insert(it->second).second)
            e.status.port = it->second;
        vms_.push_back(std::move(e));
    }
    const std::set<uint32_t> kept = taken;  // the slots of configured VMs left pinned
    for (auto& e : vms_)
        if (!e.status.port)
            e.status.port = take_port(taken);
    for (const auto& [port, rec] : pinned) {
        if (!kept.count(port)) {
            host_->discard_pinned(port);
            log_(std::string("vm ") + rec.name + ": left by the previous daemon, no longer configured; its programs are off ifindex " +
                 std::to_string(rec.ifindex) + " and its pins removed");
        }
    }
    {
        // The taps vmhostd makes: those it made for VMs no longer configured
        // with create_tap go; those of the configured VMs are made, or
        // taken over where a previous vmhostd made them.
        const auto before = watch_.list();
        for (const auto& l : before) {
            if (!is_tap_mark(l.alias))
                continue;
            bool wanted = false;
            for (const auto& e : vms_)
                wanted |= e.cfg.create_tap && e.cfg.tap == l.name;
            if (wanted)
                continue;
            try {
                netcfg::delete_link(l.ifindex);
                log_("tap " + l.name + " (" + l.alias + "): made by vmhostd for a VM no longer configured with it; deleted");
            } catch (const dme::Error& err) {
                log_("tap " + l.name + " (" + l.alias + "): made by vmhostd for a VM no longer configured with it; "
                     "deleting it failed: " + err.what());
            }
        }
        for (auto& e : vms_)
            if (e.cfg.create_tap)
                make_tap(e);
    }
    const auto links = watch_.list();
    on_links(links);
    // A hold a previous daemon left on a tap whose VM is no longer configured.
    for (const auto& e : links)
        if (!match(e))
            host_->unhold(e.ifindex);
    // What the previous daemon left for VMs whose taps went meanwhile; a VM
    // whose tap is there but could not be enforced keeps what it had.
    std::set<uint32_t> failed;
    for (const auto& e : vms_)
        if (e.status.ifindex && !e.status.enforced)
            failed.insert(e.status.port);
    if (size_t n = host_->prune(failed))
        log_("removed " + std::to_string(n) + " entries left by the previous daemon for VMs no longer there");
    for (const auto& e : vms_)
        if (failed.count(e.status.port))
            if (auto members = host_->keep_pinned(e.status.port))
                log_("vm " + e.status.name + ": the previous daemon's programs stay in force on tap " + e.status.tap +
                     " as they were, with its slot, its MACs and its addresses' " + std::to_string(*members) +
                     " group memberships, until its policy can be enforced");
}

std::string Daemon::kernel_report()
{
    // The probe redirects live frames between two veths it makes in a
    // namespace of its own, and reports whether an entry's program can be
    // skipped when frames for one device come through different entries.
    bpfext_bypass_report r{};
    r.sz = sizeof(r);
    const int err = bpfext_probe_egress_bypass(&r);
    std::string bypass = err == -EPERM ? "not probed (its namespace needs CAP_SYS_ADMIN; 'devmapctl probe' as root tells)"
                         : err         ? std::string("unknown (") + bpfext_errmsg() + ")"
                         : r.affected  ? "affected"
                                       : "not affected";
    const bool defaults = kernel_has_default_progs();
    return "kernel: egress bypass " + bypass +
           "; this host's layout does not meet it (one devmap slot per tap, every redirect to a tap through "
           "its slot, no VM on the uplink); map-wide default programs " +
           (defaults ? "available" : "not available");
}

Daemon::~Daemon()
{
    if (released_)
        return;
    // Everything off the taps first, then the taps vmhostd made: none is
    // left up without its policy.
    host_.reset();
    for (auto& v : vms_)
        delete_tap(v, "vmhostd stopped, taking its datapath with it");
}

void Daemon::release() noexcept
{
    released_ = true;
    host_->release();
    log_("the datapath stays in place, pinned in " + cfg_.state_dir + ", for the next vmhostd to adopt");
}

uint32_t Daemon::take_port(std::set<uint32_t>& taken)
{
    // Slot 0 is the uplink's; the lowest free key keeps the devmap dense.
    uint32_t p = 1;
    while (taken.count(p))
        p++;
    taken.insert(p);
    return p;
}

Daemon::Entry* Daemon::match(const LinkEvent& e)
{
    if (e.ifindex == uplink_ifindex_)
        return nullptr;  // never a VM's tap, whatever its MAC (see kernel_report)
    for (auto& v : vms_)
        if (v.cfg.tap ? e.name == *v.cfg.tap : e.mac == libvirt_tap_mac(v.cfg.policy.mac))
            return &v;
    return nullptr;
}

namespace {
// The tap as netlink announced it. By index first; by name when the index
// lookup misses, provided the name still has that index: while hundreds of
// taps register at once, SIOCGIFNAME has answered "no such device" for a tap
// that SIOCGIFINDEX finds under the same index (docs/NOTES.md).
dme::Interface tap_interface(uint32_t ifindex, const std::string& name)
{
    try {
        return dme::Interface::index(ifindex);
    } catch (const dme::Error& e) {
        if (e.code() != ENODEV || name.empty())
            throw;
        dme::Interface by_name = dme::Interface::named(name);
        if (by_name.ifindex() != ifindex)
            throw;
        return by_name;
    }
}
}  // namespace

void Daemon::enforce(Entry& v, uint32_t ifindex, const std::string& tap, const Mac& tap_mac)
{
    VmStatus& s = v.status;
    const auto now = std::chrono::steady_clock::now();
    if (s.ifindex != ifindex)
        v.seen_at = now;
    s.ifindex = ifindex;
    s.tap = tap;
    v.tap_mac = tap_mac;
    VmPolicy p = v.cfg.policy;
    p.host_mac = tap_mac;
    Vm::Origin origin{};
    try {
        origin = host_->add_vm(s.port, tap_interface(ifindex, tap), p, s.name).origin();
    } catch (const dme::Error& err) {
        s.error = err.what();
        schedule_retry(v);
        log_("vm " + s.name + ": tap " + tap + " seen; enforcing its policy failed: " + s.error + "; trying again in " +
             std::to_string(v.backoff.count()) + " ms" + (s.tap_made ? "; the tap stays down" : ""));
        return;
    }
    v.backoff = {};
    s.enforced = true;
    s.error.clear();
    s.enforced_at = std::chrono::steady_clock::now();
    s.time_to_policy = std::chrono::duration_cast<std::chrono::microseconds>(s.enforced_at - v.seen_at);
    char ms[32];
    std::snprintf(ms, sizeof(ms), "%.2f ms", s.time_to_policy.count() / 1000.0);
    const char* how = origin == Vm::Origin::adopted ? "; adopted the previous daemon's programs unchanged in "
                      : origin == Vm::Origin::repaired
                          ? "; adopted the previous daemon's, with the policy or programs brought up to date, in "
                          : "; policy enforced in ";
    log_("vm " + s.name + ": tap " + tap + " (ifindex " + std::to_string(ifindex) + ") seen" + how + ms);
    bring_up(v);
}

void Daemon::schedule_retry(Entry& v)
{
    v.backoff = v.backoff.count() ? std::min(v.backoff * 2, std::chrono::milliseconds(10000))
                                  : std::chrono::milliseconds(200);
    v.retry_at = std::chrono::steady_clock::now() + v.backoff;
}

bool Daemon::retry_pending(const Entry& v) const
{
    const VmStatus& s = v.status;
    if (!v.backoff.count())
        return false;
    if (!s.ifindex)
        return v.cfg.create_tap && !s.tap_made;  // its creation failed
    if (!s.enforced)
        return true;
    return s.tap_made && !s.tap_up;  // bringing it up failed
}

void Daemon::make_tap(Entry& v)
{
    VmStatus& s = v.status;
    const std::string& name = *v.cfg.tap;
    std::optional<LinkEvent> there;
    try {
        there = watch_.named(name);
    } catch (const dme::Error& err) {
        s.error = err.what();
        schedule_retry(v);
        log_("vm " + s.name + ": " + s.error + "; trying again in " + std::to_string(v.backoff.count()) + " ms");
        return;
    }
    if (there) {
        const LinkEvent& l = *there;
        if (is_tap_mark(l.alias)) {
            if (!s.tap_made)
                log_("vm " + s.name + ": tap " + name + " was made by vmhostd before (" + l.alias +
                     "); taken over, not made again");
            s.tap_made = true;
            s.tap_up = l.up;
            v.foreign_tap = false;
            if (l.alias != tap_mark(s.name)) {
                try {
                    netcfg::set_alias(l.ifindex, tap_mark(s.name));
                } catch (const dme::Error&) {
                }
            }
        } else if (!v.foreign_tap) {
            v.foreign_tap = true;
            log_("vm " + s.name + ": tap " + name + " is there and was not made by vmhostd (its alias is not '" +
                 tap_mark(s.name) + "'); it gets the VM's policy as any tap, but vmhostd neither brings it up nor "
                 "deletes it, and what the VM sends before its hold is not judged: delete it for vmhostd to make it");
        }
        return;
    }
    v.foreign_tap = false;
    try {
        create_persistent_tap(name, *v.cfg.create_tap, tap_mark(s.name));
    } catch (const dme::Error& err) {
        s.error = err.what();
        schedule_retry(v);
        log_("vm " + s.name + ": " + s.error + "; trying again in " + std::to_string(v.backoff.count()) + " ms");
        return;
    }
    s.tap_made = true;
    s.tap_up = false;
    s.error.clear();
    v.backoff = {};
    log_("vm " + s.name + ": tap " + name + " created (persistent, down until its policy is enforced" +
         tap_settings(*v.cfg.create_tap) + ")");
}

void Daemon::bring_up(Entry& v)
{
    VmStatus& s = v.status;
    if (!s.tap_made || !s.ifindex || !s.enforced)
        return;
    try {
        netcfg::set_up(*s.ifindex, true);
    } catch (const dme::Error& err) {
        s.error = std::string("bringing its tap up failed: ") + err.what();
        schedule_retry(v);
        log_("vm " + s.name + ": " + s.error + "; trying again in " + std::to_string(v.backoff.count()) +
             " ms (its policy is enforced; the tap stays down)");
        return;
    }
    s.error.clear();
    v.backoff = {};
    if (!s.tap_up) {
        s.tap_up = true;
        s.up_at = std::chrono::steady_clock::now();
        log_("vm " + s.name + ": tap " + s.tap + " up: its policy is enforced");
    }
}

void Daemon::delete_tap(Entry& v, const std::string& why)
{
    VmStatus& s = v.status;
    if (!s.tap_made || !v.cfg.tap)
        return;
    s.tap_made = false;
    s.tap_up = false;
    try {
        if (uint32_t ifindex = netcfg::ifindex_of(*v.cfg.tap)) {
            netcfg::delete_link(ifindex);
            log_("vm " + s.name + ": " + why + "; tap " + *v.cfg.tap + ", which vmhostd made, deleted");
        }
    } catch (const dme::Error& err) {
        log_("vm " + s.name + ": " + why + "; deleting tap " + *v.cfg.tap + ", which vmhostd made, failed: " +
             err.what());
    }
}

void Daemon::unenforce(Entry& v, const std::string& why)
{
    VmStatus& s = v.status;
    if (s.enforced) {
        host_->remove_vm(s.port);
    } else if (s.ifindex) {
        host_->unhold(*s.ifindex);     // held, never enforced,
        host_->discard_kept(s.port);  // or kept as the previous daemon left it
    }
    if (s.ifindex)
        log_("vm " + s.name + ": " + why + "; its programs are off tap " + s.tap);
    s.ifindex.reset();
    s.tap.clear();
    s.enforced = false;
    s.error.clear();
    v.backoff = {};
}

void Daemon::tap_mac_changed(Entry& v, const Mac& mac)
{
    // The guard hands the host stack the frames to the tap's own MAC, so it
    // follows the MAC (libvirt, for one, sets it after making the tap).
    VmStatus& s = v.status;
    v.tap_mac = mac;
    if (!s.enforced)
        return;  // the next try takes the new MAC
    VmPolicy p = v.cfg.policy;
    p.host_mac = mac;
    try {
        host_->update_vm(s.port, p);
        log_("vm " + s.name + ": tap " + s.tap + " now has MAC " + mac.str() +
             "; the guard passes frames to it to the host");
    } catch (const dme::Error& err) {
        log_("vm " + s.name + ": tap " + s.tap + " now has MAC " + mac.str() +
             ", but the policy could not follow it: " + err.what() + "; frames to it go on to the uplink");
    }
}

void Daemon::on_link(const LinkEvent& e)
{
    // A tap that goes: whichever VM had it (its name or MAC may be gone).
    if (e.kind == LinkEvent::Kind::gone) {
        for (auto& v : vms_) {
            VmStatus& s = v.status;
            if (s.ifindex != e.ifindex)
                continue;
            if (s.enforced) {
                host_->forget_vm(s.port);
            } else {
                host_->unhold(e.ifindex);
                host_->discard_kept(s.port);  // its pins, MACs and memberships
            }
            log_("vm " + s.name + ": tap " + s.tap + " gone; its programs and maps went with it, host state forgotten");
            s.ifindex.reset();
            s.tap.clear();
            s.enforced = false;
            s.error.clear();
            v.backoff = {};
            s.tap_made = s.tap_up = false;
            v.foreign_tap = false;
            if (v.cfg.create_tap)
                make_tap(v);  // configured to have one: made again
        }
        return;
    }
    Entry* v = match(e);
    if (!v)
        return;
    VmStatus& s = v->status;
    if (s.ifindex == e.ifindex) {
        s.tap = e.name;  // a rename of the same tap
        if (e.mac != v->tap_mac)
            tap_mac_changed(*v, e.mac);
        return;
    }
    if (s.ifindex) {
        log_("vm " + s.name + ": tap " + e.name + " also matches, but ifindex " + std::to_string(*s.ifindex) +
             " has the VM; ignored");
        return;
    }
    enforce(*v, e.ifindex, e.name, e.mac);
}

std::vector<LinkEvent> Daemon::read_events()
{
    try {
        return watch_.drain();
    } catch (const dme::Error& e) {
        // Notifications were lost: what is there now is the truth.
        log_(std::string("link notifications lost (") + e.what() + "); listing the links again");
        auto events = watch_.list();
        for (auto& v : vms_) {
            bool there = false;
            for (const auto& l : events)
                there |= v.status.ifindex == l.ifindex;
            if (v.status.ifindex && !there && !watch_.exists(*v.status.ifindex))
                events.push_back({LinkEvent::Kind::gone, *v.status.ifindex, "", {}, "", false});
        }
        return events;
    }
}

void Daemon::on_readable() { on_links(read_events()); }

void Daemon::hold_new(const std::vector<LinkEvent>& events)
{
    for (const auto& e : events) {
        if (e.kind != LinkEvent::Kind::present)
            continue;
        Entry* v = match(e);
        if (v && !v->status.ifindex && host_->hold(e.ifindex))
            v->status.held_at = std::chrono::steady_clock::now();
    }
}

void Daemon::on_links(const std::vector<LinkEvent>& events)
{
    // Every new tap of a VM is held first, in microseconds; then each VM's
    // policy is loaded and takes the hold's place, tens of milliseconds
    // each. Taps that appear meanwhile are held between two VMs, not after
    // the whole queue: in a burst the last tap waits held, not open.
    hold_new(events);
    std::deque<LinkEvent> queue(events.begin(), events.end());
    while (!queue.empty()) {
        on_link(queue.front());
        queue.pop_front();
        pollfd p{watch_.fd(), POLLIN, 0};
        if (poll(&p, 1, 0) > 0) {
            auto more = read_events();
            hold_new(more);
            queue.insert(queue.end(), more.begin(), more.end());
        }
    }
}

void Daemon::step(std::chrono::milliseconds timeout)
{
    if (auto wait = until_retry())
        timeout = std::min(*wait, timeout);
    pollfd p{watch_.fd(), POLLIN, 0};
    int n = poll(&p, 1, int(timeout.count()));
    if (n < 0 && errno != EINTR)
        dme::fail(errno, "waiting for link notifications failed");
    if (n > 0)
        on_readable();
    retry_due();
}

std::optional<std::chrono::milliseconds> Daemon::until_retry() const
{
    std::optional<std::chrono::steady_clock::time_point> at;
    for (const auto& v : vms_)
        if (retry_pending(v) && (!at || v.retry_at < *at))
            at = v.retry_at;
    if (!at)
        return std::nullopt;
    return std::max(std::chrono::ceil<std::chrono::milliseconds>(*at - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(0));
}

bool Daemon::retry_due()
{
    const auto now = std::chrono::steady_clock::now();
    bool tried = false;
    for (auto& v : vms_) {
        if (!retry_pending(v) || v.retry_at > now)
            continue;
        if (!v.status.ifindex)
            make_tap(v);
        else if (!v.status.enforced)
            enforce(v, *v.status.ifindex, v.status.tap, v.tap_mac);
        else
            bring_up(v);
        tried = true;
    }
    return tried;
}

std::string Daemon::ReloadResult::summary() const
{
    std::string s = std::string(ok ? "applied" : "applied with errors") + ": " + std::to_string(added) + " added, " +
                    std::to_string(removed) + " removed, " + std::to_string(changed) + " changed, " +
                    std::to_string(unchanged) + " unchanged";
    for (const auto& e : errors)
        s += "; " + e;
    return s;
}

Daemon::ReloadResult Daemon::reload(HostConfig next)
{
    if (next.uplink != cfg_.uplink || next.mode != cfg_.mode || next.metrics != cfg_.metrics ||
        next.state_dir != cfg_.state_dir || next.slot_programs != cfg_.slot_programs)
        dme::fail(EINVAL, "the [host] section changed (uplink " + cfg_.uplink + " " + mode_name(cfg_.mode) +
                              ", metrics " + cfg_.metrics + ", state_dir " + cfg_.state_dir + ", slot_programs " +
                              slot_programs_name(cfg_.slot_programs) +
                              "): it takes a restart of vmhostd; nothing was changed");
    ReloadResult r;
    auto configured = [&](const std::string& name) -> const VmConfig* {
        for (const auto& vm : next.vms)
            if (vm.name == name)
                return &vm;
        return nullptr;
    };
    // Gone from the configuration, or found by another tap: off first, so
    // their MACs and addresses are free for what comes.
    std::vector<Entry> kept;
    std::set<std::string> held_changed;  // held (never enforced) with a new policy: tried at once, below
    for (auto& v : vms_) {
        const VmConfig* now = configured(v.cfg.name);
        if (!now) {
            unenforce(v, "no longer configured");
            delete_tap(v, "no longer configured");
            log_("vm " + v.status.name + ": removed from the configuration");
            r.removed++;
            continue;
        }
        // Another tap, or the one vmhostd made no longer as configured (its
        // owner, queues, or create_tap off): it starts over, and a tap
        // vmhostd made goes. A tap it did not make stays as it is, guarded.
        const bool remade = v.status.tap_made && v.cfg.create_tap != now->create_tap;
        if (!same_match(v.cfg, *now) || remade) {
            unenforce(v, remade ? "its create_tap settings changed" : "matched by another tap name or MAC now");
            delete_tap(v, remade ? "its create_tap settings changed" : "matched by another tap name now");
            v.foreign_tap = false;
            v.cfg = *now;
            r.changed++;
        } else if (!(v.cfg == *now)) {
            if (v.status.enforced && !(v.cfg.policy == now->policy)) {
                VmPolicy p = now->policy;
                p.host_mac = host_->vm(v.status.port)->policy().host_mac;
                try {
                    host_->update_vm(v.status.port, p);
                    log_("vm " + v.status.name + ": new policy enforced in place");
                } catch (const dme::Error& e) {
                    r.ok = false;
                    r.errors.push_back("vm " + v.status.name + ": " + e.what() + " (it keeps its previous policy)");
                    log_("vm " + v.status.name + ": the new policy failed, the previous one stays: " + e.what());
                    kept.push_back(std::move(v));
                    continue;
                }
            } else if (v.status.ifindex) {
                held_changed.insert(v.cfg.name);
            }
            v.cfg = *now;
            r.changed++;
        } else {
            r.unchanged++;
        }
        kept.push_back(std::move(v));
    }
    vms_ = std::move(kept);
    std::set<uint32_t> taken;
    for (const auto& v : vms_)
        taken.insert(v.status.port);
    // In the new file's order, with new VMs in free slots.
    std::vector<Entry> ordered;
    for (const auto& vm : next.vms) {
        auto it = std::find_if(vms_.begin(), vms_.end(), [&](const Entry& e) { return e.cfg.name == vm.name; });
        if (it != vms_.end()) {
            ordered.push_back(std::move(*it));
            vms_.erase(it);
            continue;
        }
        Entry e{vm, {}, {}, {}, {}, {}};
        e.status.name = vm.name;
        e.status.port = take_port(taken);
        log_("vm " + vm.name + ": added to the configuration (slot " + std::to_string(e.status.port) + ")");
        ordered.push_back(std::move(e));
        r.added++;
    }
    vms_ = std::move(ordered);
    cfg_ = std::move(next);
    // The taps vmhostd makes for VMs that have none yet.
    for (auto& v : vms_)
        if (v.cfg.create_tap && !v.status.tap_made && !v.status.ifindex)
            make_tap(v);
    // A held VM whose policy changed (the operator's fix, perhaps) is tried
    // now, not when its backoff (up to 10 s) runs out: a libvirt start may
    // be waiting on it.
    for (auto& v : vms_)
        if (held_changed.count(v.cfg.name) && v.status.ifindex && !v.status.enforced) {
            v.backoff = {};
            enforce(v, *v.status.ifindex, v.status.tap, v.tap_mac);
            if (!v.status.enforced) {
                r.ok = false;
                r.errors.push_back("vm " + v.status.name + ": " + v.status.error +
                                   (v.status.tap_made ? " (its tap stays held, and down)" : " (its tap stays held)"));
            }
        }
    // What is there now, for the VMs without a tap.
    on_links(watch_.list());
    log_("reload " + r.summary());
    return r;
}

std::vector<Daemon::VmStatus> Daemon::status() const
{
    std::vector<VmStatus> out;
    for (const auto& v : vms_) {
        out.push_back(v.status);
        out.back().mac = v.cfg.policy.mac;
        out.back().kept = !v.status.enforced && v.status.ifindex && host_->kept(v.status.port);
    }
    return out;
}

}  // namespace vmhost
