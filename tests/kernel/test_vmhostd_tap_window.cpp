// The window from a tap's creation to its policy, closed without libvirt's
// hook: with `create_tap`, vmhostd makes the VM's tap itself, persistent and
// down, and brings it up only once the VM's guard is attached. A tap that is
// down drops what is written to it (tun_get_user: -EIO), so a VM (QEMU) that
// opens the tap the instant it exists and writes at once gets nothing past
// the host unjudged.
//
// The rig makes an unjudged frame count: the host namespace forwards
// (ip_forward=1, rp_filter off) to an outside namespace behind the uplink,
// where a UDP socket tells each frame's source. A writer thread plays QEMU:
// spoofed frames (another VM's source address) and legitimate ones, to the
// outside, addressed to the tap's MAC so the host routes them.
//   build/tests/kernel/kernel-tests "[tapwindow]"
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <algorithm>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon.hpp"
#include "fixtures.hpp"
#include "netcfg.hpp"
#include "persistent_tap.hpp"
#include "vmhostd_helpers.hpp"

using namespace netlab;
using namespace vmhostd_test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {
constexpr const char* kTap = "vdtapr";
constexpr uint16_t kPort = 7777;
constexpr uint16_t kSpoofSport = 1111, kLegitSport = 2222;

// VM r (10.7.0.21) on tap vdtapr, all IPv4 egress; VM s (10.7.0.22), whose
// address r spoofs. `tap_lines` go into r's entry (create_tap and co).
std::string config(const std::string& tap_lines)
{
    return "[host]\nuplink = \"vdnic\"\n\n[[vm]]\nname = \"r\"\nmac = \"52:54:00:aa:00:21\"\ntap = \"vdtapr\"\n" +
           tap_lines +
           "addresses = [\"10.7.0.21\"]\n[[vm.rule]]\ndirection = \"egress\"\nethertype = \"IPv4\"\n\n"
           "[[vm]]\nname = \"s\"\nmac = \"52:54:00:aa:00:22\"\ntap = \"vdtaps\"\naddresses = [\"10.7.0.22\"]\n";
}

std::string read_sysctl(const std::string& path)
{
    std::ifstream in(path);
    std::string v;
    in >> v;
    return v;
}

void write_sysctl(const std::string& path, const std::string& v)
{
    std::ofstream out(path);
    out << v;
    out.flush();
    if (!out)
        throw std::runtime_error("writing " + path + " failed");
}

// Sysctls of the calling thread's namespace, put back as they were.
class Sysctls {
public:
    void set(const std::string& name, const std::string& v)
    {
        const std::string path = "/proc/sys/net/" + name;
        saved_.emplace_back(path, read_sysctl(path));
        write_sysctl(path, v);
    }
    ~Sysctls()
    {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
            try {
                write_sysctl(it->first, it->second);
            } catch (...) {
            }
    }

private:
    std::vector<std::pair<std::string, std::string>> saved_;
};

// A device's drops in this namespace (/proc/net/dev): what a frame the tap
// took may still meet on the way out, under load.
struct Drops {
    uint64_t rx = 0, tx = 0;
};
Drops drops_of(const std::string& dev)
{
    std::ifstream in("/proc/net/dev");
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::string name = line.substr(0, colon);
        name.erase(0, name.find_first_not_of(' '));
        if (name != dev)
            continue;
        std::istringstream f(line.substr(colon + 1));
        uint64_t v[16] = {};
        for (auto& x : v)
            f >> x;
        return {v[3], v[11]};  // rx drop, tx drop
    }
    return {};
}

// The outside: a namespace behind the uplink (192.0.2.50), where a UDP
// socket counts what the host forwarded, by source address.
class Outside {
public:
    Outside() : ns_(Netns::create()), link_("vdnic", "vdout", ns_)
    {
        {
            NetnsScope in(ns_);
            sysctls_.set("ipv4/conf/all/rp_filter", "0");
            sysctls_.set("ipv4/conf/default/rp_filter", "0");
            sysctls_.set("ipv4/conf/vdout/rp_filter", "0");
            vmhost::netcfg::add_address(link_.far().ifindex, "192.0.2.50/24");
            vmhost::netcfg::add_route("10.7.0.0/16", link_.far().ifindex);
            far_mac_ = vmhost::netcfg::get_mac(link_.far().ifindex);
            // XDP on the far end lets the uplink's slot transmit (veth's
            // ndo_xdp_xmit); it passes everything to the outside's stack.
            const bpf_insn pass[] = {
                {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = XDP_PASS},
                {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
            };
            pass_ = dme::Fd(bpf_prog_load(BPF_PROG_TYPE_XDP, "tapwin_pass", "GPL", pass, 2, nullptr));
            if (!pass_ || bpf_xdp_attach(int(link_.far().ifindex), pass_.get(), XDP_FLAGS_DRV_MODE, nullptr))
                throw std::runtime_error(std::string("attaching XDP_PASS to the outside's end failed: ") +
                                         std::strerror(errno));
            sock_ = dme::Fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
            int size = 16 << 20;
            setsockopt(sock_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(kPort);
            if (!sock_ || bind(sock_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
                throw std::runtime_error(std::string("binding the outside's socket failed: ") + std::strerror(errno));
        }
        // The host forwards to it: a route behind the uplink, its neighbour known.
        host_.set("ipv4/ip_forward", "1");
        host_.set("ipv4/conf/all/rp_filter", "0");
        host_.set("ipv4/conf/default/rp_filter", "0");
        vmhost::netcfg::add_route("192.0.2.0/24", link_.near().ifindex);
        vmhost::netcfg::add_neighbor(link_.near().ifindex, vmhost::IpAddr::parse("192.0.2.50"), far_mac_);
        reader_ = std::thread([this] {
            while (!stop_) {
                pollfd p{sock_.get(), POLLIN, 0};
                if (poll(&p, 1, 20) <= 0)
                    continue;
                char buf[256];
                sockaddr_in from{};
                socklen_t len = sizeof(from);
                while (recvfrom(sock_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len) >= 0) {
                    if (from.sin_addr.s_addr == ip4("10.7.0.22"))
                        spoofed_++;
                    else if (from.sin_addr.s_addr == ip4("10.7.0.21"))
                        legit_++;
                    len = sizeof(from);
                }
            }
        });
    }
    ~Outside()
    {
        stop_ = true;
        reader_.join();
    }
    const VethPair& link() const { return link_; }
    uint64_t spoofed() const { return spoofed_; }
    uint64_t legit() const { return legit_; }
private:
    Netns ns_;
    VethPair link_;
    Sysctls sysctls_, host_;
    vmhost::Mac far_mac_;
    dme::Fd pass_, sock_;
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> spoofed_{0}, legit_{0};
    std::thread reader_;
};

// Plays QEMU: writes VM r's frames to a tap (vdtapr), spoofed and legitimate
// in turn, paced, until stop(). `open_existing`: opens the tap the instant
// it exists (TUNSETIFF on the persistent tap, as QEMU does with libvirt's
// managed='no'). `create_up`: makes it the ordinary way, as QEMU or libvirt
// does without vmhostd (TUNSETIFF creates it, then it is brought up), and
// writes at once. The tap is open until the writer goes.
class Writer {
public:
    enum class Mode { open_existing, create_up };
    explicit Writer(Mode mode, std::string name = kTap) : mode_(mode), name_(std::move(name))
    {
        spoofed_at_.reserve(1 << 20);
        thread_ = std::thread([this] { run(); });
    }
    ~Writer() { stop(); }
    void stop()
    {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    uint64_t written() const { return written_; }
    uint64_t refused() const { return refused_; }  // -EIO: the tap was down
    bool attached() const { return attached_; }
    // When it opened (create_up: created) the tap; valid once attached().
    Clock::time_point opened_at() const { return opened_at_; }
    // open_existing: when it saw the tap's name; when it first wrote.
    Clock::time_point seen_at() const { return seen_at_; }
    Clock::time_point first_write_at() const { return first_write_at_; }
    // create_up: when bringing it up returned.
    Clock::time_point up_at() const { return up_at_; }
    // create_up: spoofed frames the tap surely took before its hold (a
    // query after them found no XDP program on it).
    uint64_t unheld_spoofed() const { return unheld_spoofed_; }
    // How many spoofed frames the tap took before `t` (after stop()).
    size_t spoofed_before(Clock::time_point t) const
    {
        return size_t(std::lower_bound(spoofed_at_.begin(), spoofed_at_.end(), t) - spoofed_at_.begin());
    }
    std::string error() const
    {
        std::lock_guard<std::mutex> l(mu_);
        return error_;
    }

private:
    void fail(const std::string& what)
    {
        std::lock_guard<std::mutex> l(mu_);
        error_ = what + ": " + std::strerror(errno);
    }
    void run()
    {
        if (mode_ == Mode::open_existing) {
            // Polls for the tap's name, then opens it: no sleep between.
            const auto deadline = Clock::now() + netlab::scaled(10s);
            while (!stop_ && !if_nametoindex(name_.c_str()))
                if (Clock::now() > deadline)
                    return fail("the tap never appeared");
            if (stop_)
                return;
            seen_at_ = Clock::now();
        }
        tap_ = dme::Fd(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
        ifreq ifr{};
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
        if (!tap_ || ioctl(tap_.get(), TUNSETIFF, &ifr))
            return fail("opening the tap as QEMU does");
        opened_at_ = Clock::now();
        const int fd = tap_.get();
        const uint32_t ifindex = if_nametoindex(name_.c_str());
        dme::Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        if (mode_ == Mode::create_up) {
            if (ioctl(s.get(), SIOCGIFFLAGS, &ifr))
                return fail("reading the tap's flags");
            ifr.ifr_flags |= IFF_UP;
            if (ioctl(s.get(), SIOCSIFFLAGS, &ifr))
                return fail("bringing the tap up");
            up_at_ = Clock::now();
        }
        attached_ = true;
        // Addressed to the tap's own MAC, so the host routes them.
        if (ioctl(s.get(), SIOCGIFHWADDR, &ifr))
            return fail("reading the tap's MAC");
        netlab::Mac tap_mac{};
        std::memcpy(tap_mac.b, ifr.ifr_hwaddr.sa_data, 6);
        const Frame spoofed = udp4_frame(ip4("10.7.0.22"), ip4("192.0.2.50"), kSpoofSport, kPort, 18, tap_mac, kRMac);
        const Frame legit = udp4_frame(ip4("10.7.0.21"), ip4("192.0.2.50"), kLegitSport, kPort, 18, tap_mac, kRMac);
        for (uint64_t i = 0; !stop_; i++) {
            const Frame& f = i % 2 ? legit : spoofed;
            // A write returns the frame's length once XDP dropped it (the
            // hold, the guard) or it entered the host; -EIO when the tap is
            // down and XDP passed it or there was none.
            if (write(fd, f.data(), f.size()) == ssize_t(f.size())) {
                written_++;
                if (!(i % 2) && spoofed_at_.size() < spoofed_at_.capacity())
                    spoofed_at_.push_back(Clock::now());
            } else if (errno == EIO) {
                refused_++;
            } else {
                return fail("writing a frame");
            }
            if (i == 0)
                first_write_at_ = Clock::now();  // when the first write had returned
            // create_up: after each batch, whether the tap still has no XDP
            // program: if so, the batch's spoofed frames surely entered the
            // host before any hold.
            if (mode_ == Mode::create_up && i % 16 == 15 && !held_) {
                uint32_t id = 0;
                bpf_xdp_query_id(int(ifindex), 0, &id);
                if (id)
                    held_ = true;
                else
                    unheld_spoofed_ += 8;
            }
            if (i % 16 == 15)
                std::this_thread::sleep_for(50us);  // about 100k frames/s at most: the outside keeps up
        }
    }

    Mode mode_;
    std::string name_;
    dme::Fd tap_;
    Clock::time_point seen_at_{}, opened_at_{}, up_at_{}, first_write_at_{};
    std::vector<Clock::time_point> spoofed_at_;  // each spoofed frame the tap took
    std::atomic<bool> stop_{false}, attached_{false};
    std::atomic<uint64_t> written_{0}, refused_{0};
    bool held_ = false;
    uint64_t unheld_spoofed_ = 0;
    mutable std::mutex mu_;
    std::string error_;
    std::thread thread_;
};

// The tap's link notifications, as rtnetlink sends them: whether it is up,
// and the XDP program on it at that moment (IFLA_XDP_PROG_ID), and what tun
// says of it (owner, group, persistence).
struct LinkState {
    bool up = false;
    uint32_t xdp_prog = 0;
    std::optional<uint32_t> owner, group;
    bool persist = false;
};

class LinkMonitor {
public:
    LinkMonitor() : sock_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE))
    {
        sockaddr_nl a{};
        a.nl_family = AF_NETLINK;
        a.nl_groups = RTMGRP_LINK;
        int size = 4 << 20;
        setsockopt(sock_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
        if (!sock_ || bind(sock_.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)))
            throw std::runtime_error(std::string("subscribing to link notifications failed: ") + std::strerror(errno));
        thread_ = std::thread([this] { run(); });
    }
    ~LinkMonitor()
    {
        stop_ = true;
        thread_.join();
    }
    std::vector<LinkState> states() const
    {
        std::lock_guard<std::mutex> l(mu_);
        return states_;
    }
    bool overrun() const { return overrun_; }

private:
    static void parse_tun(const rtattr* data, int len, LinkState& s)
    {
        for (const rtattr* a = data; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
            if (a->rta_type == IFLA_TUN_OWNER)
                s.owner = *static_cast<const uint32_t*>(RTA_DATA(a));
            else if (a->rta_type == IFLA_TUN_GROUP)
                s.group = *static_cast<const uint32_t*>(RTA_DATA(a));
            else if (a->rta_type == IFLA_TUN_PERSIST)
                s.persist = *static_cast<const uint8_t*>(RTA_DATA(a));
        }
    }
    void on_message(const nlmsghdr* h)
    {
        if (h->nlmsg_type != RTM_NEWLINK)
            return;
        const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
        LinkState s;
        s.up = ifi->ifi_flags & IFF_UP;
        std::string name;
        int len = int(IFLA_PAYLOAD(h));
        for (const rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
            if (a->rta_type == IFLA_IFNAME)
                name = static_cast<const char*>(RTA_DATA(a));
            if (a->rta_type == IFLA_XDP) {
                int n = int(RTA_PAYLOAD(a));
                for (const rtattr* x = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(x, n); x = RTA_NEXT(x, n))
                    if (x->rta_type == IFLA_XDP_PROG_ID)
                        s.xdp_prog = *static_cast<const uint32_t*>(RTA_DATA(x));
            }
            if (a->rta_type == IFLA_LINKINFO) {
                int n = int(RTA_PAYLOAD(a));
                for (const rtattr* x = static_cast<const rtattr*>(RTA_DATA(a)); RTA_OK(x, n); x = RTA_NEXT(x, n))
                    if (x->rta_type == IFLA_INFO_DATA)
                        parse_tun(static_cast<const rtattr*>(RTA_DATA(x)), int(RTA_PAYLOAD(x)), s);
            }
        }
        if (name != kTap)
            return;
        std::lock_guard<std::mutex> l(mu_);
        states_.push_back(s);
    }
    void run()
    {
        std::vector<char> buf(1 << 16);
        while (!stop_) {
            pollfd p{sock_.get(), POLLIN, 0};
            if (poll(&p, 1, 20) <= 0)
                continue;
            for (;;) {
                ssize_t n = recv(sock_.get(), buf.data(), buf.size(), 0);
                if (n < 0) {
                    overrun_ = overrun_ || errno == ENOBUFS;
                    break;
                }
                int len = int(n);
                for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
                    on_message(h);
            }
        }
    }

    dme::Fd sock_;
    std::atomic<bool> stop_{false}, overrun_{false};
    mutable std::mutex mu_;
    std::vector<LinkState> states_;
    std::thread thread_;
};

// The daemon on its own thread, as in its own process.
class DaemonThread {
public:
    explicit DaemonThread(vmhost::Daemon& d) : d_(d)
    {
        thread_ = std::thread([this] {
            while (!stop_) {
                pollfd p{d_.fd(), POLLIN, 0};
                const int ready = poll(&p, 1, 10);
                std::lock_guard<std::mutex> l(mu_);
                if (ready > 0)
                    d_.on_readable();
                d_.retry_due();
            }
        });
    }
    ~DaemonThread() { stop(); }
    void stop()
    {
        stop_ = true;
        if (thread_.joinable())
            thread_.join();
    }
    template <typename F>
    auto with(F f)
    {
        std::lock_guard<std::mutex> l(mu_);
        return f(d_);
    }

private:
    vmhost::Daemon& d_;
    std::mutex mu_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};
}  // namespace

TEST_CASE("vmhostd: a tap it creates is up only once its guard is attached, and no spoofed frame sent as it comes up gets out",
          "[vmhost][vmhostd][tapwindow]")
{
    Outside out;
    LinkMonitor monitor;
    Writer qemu(Writer::Mode::open_existing);  // waiting for the tap to exist
    std::vector<std::string> log;
    auto d = std::make_unique<vmhost::Daemon>(
        vmhost::parse_config(config("create_tap = true\ntap_owner = \"root\"\ntap_group = 0\n"), "zero.toml"),
        [&](const std::string& l) { log.push_back(l); });
    {
        DaemonThread running(*d);
        // The VM's frames that pass its guard reach the outside once it is enforced.
        INFO("daemon: " << [&] {
            std::string all;
            for (const auto& l : log)
                all += l + "\n";
            return all;
        }());
        INFO("writer: attached " << qemu.attached() << ", written " << qemu.written() << ", refused " << qemu.refused()
                                 << ", " << qemu.error());
        REQUIRE(eventually([&] { return out.legit() > 100; }, 5000ms));
        const uint64_t legit_at_first = out.legit();
        std::this_thread::sleep_for(300ms);  // and keep doing so
        qemu.stop();
        running.stop();
        INFO("writer: " << qemu.error());
        REQUIRE(qemu.error().empty());
        REQUIRE(qemu.attached());
        CHECK(out.legit() > legit_at_first);
    }
    const auto st = d->status().at(0);
    REQUIRE(st.enforced);
    const vmhost::Vm* vm = d->host().vm(st.port);
    REQUIRE(vm);
    const uint32_t guard = vm->objects().prog_ids.at(2);
    const auto guarded = vm->counts(VM_PATH_GUARD);
    auto ms = [&](Clock::time_point t) { return std::chrono::duration<double, std::milli>(t - st.held_at).count(); };
    std::printf("vmhostd tap window, created down: QEMU's writes refused while down %llu, taken %llu; "
                "outside got %llu legitimate, %llu spoofed; the guard dropped %llu as spoofed; from the hold: QEMU "
                "saw the tap %.2f ms, opened it %.2f ms, first wrote %.2f ms; guard %.2f ms, tap up %.2f ms\n",
                (unsigned long long)qemu.refused(), (unsigned long long)qemu.written(),
                (unsigned long long)out.legit(), (unsigned long long)out.spoofed(),
                (unsigned long long)guarded[VM_DROP_IP_SPOOF], ms(qemu.seen_at()), ms(qemu.opened_at()),
                ms(qemu.first_write_at()), ms(st.enforced_at), ms(st.up_at));
    // Not one unjudged frame: every spoofed one was dropped (down, or by the guard).
    CHECK(out.spoofed() == 0);
    CHECK(guarded[VM_DROP_IP_SPOOF] > 0);
    // QEMU was writing before the policy was in place, so before the tap
    // was up (vmhostd brings it up after enforced_at): the hold dropped
    // those frames, or the kernel refused them (-EIO, down) before the hold.
    CHECK(qemu.first_write_at() < st.enforced_at);

    // The order, as rtnetlink told it: down when it appeared, and the first
    // notification with the tap up already carries the guard, not the hold.
    REQUIRE_FALSE(monitor.overrun());
    const auto states = monitor.states();
    REQUIRE_FALSE(states.empty());
    CHECK_FALSE(states.front().up);
    auto first_up = std::find_if(states.begin(), states.end(), [](const LinkState& s) { return s.up; });
    REQUIRE(first_up != states.end());
    CHECK(first_up->xdp_prog == guard);
    // What vmhostd set with tun's ioctls, as the kernel reports it.
    CHECK(first_up->persist);
    CHECK(first_up->owner == std::optional<uint32_t>(0));
    CHECK(first_up->group == std::optional<uint32_t>(0));
    CHECK(logged(log, "vm r: tap vdtapr created"));
    CHECK(logged(log, "vm r: tap vdtapr up"));

    // The daemon going (not released) takes the tap it made with it.
    d.reset();
    CHECK(if_nametoindex(kTap) == 0);
}

TEST_CASE("vmhostd: a tap made the ordinary way, up at once, leaks what the VM sends before the hold",
          "[vmhost][vmhostd][tapwindow]")
{
    Outside out;
    std::vector<std::string> log;
    vmhost::Daemon d(vmhost::parse_config(config(""), "open.toml"), [&](const std::string& l) { log.push_back(l); });
    DaemonThread running(d);
    // The rig sees an unjudged frame: from a tap no VM is configured for,
    // the spoofed frames are forwarded to the outside.
    {
        Writer stranger(Writer::Mode::create_up, "vdtapx");
        const bool leaked = eventually([&] { return out.spoofed() > 100; }, 3000ms);
        stranger.stop();
        INFO("writer: " << stranger.error());
        REQUIRE(leaked);
    }
    const uint64_t spoofed_before = out.spoofed(), legit_before = out.legit();

    // As a tap is made without vmhostd creating it: created, up, written to at once.
    Writer qemu(Writer::Mode::create_up);
    // Until the guard is in place and has judged the VM's frames a while.
    auto guarded = [&] {
        return running.with([](vmhost::Daemon& d) {
            const auto st = d.status().at(0);
            return st.enforced ? d.host().vm(st.port)->counts(VM_PATH_GUARD)[VM_DROP_IP_SPOOF] : 0;
        });
    };
    const bool judged = eventually([&] { return guarded() > 1000; }, 5000ms);
    const Drops tap_drops = drops_of(kTap), uplink_drops = drops_of("vdnic");
    qemu.stop();
    running.stop();
    INFO("writer: " << qemu.error());
    REQUIRE(qemu.error().empty());
    REQUIRE(judged);
    const auto st = d.status().at(0);
    REQUIRE(st.enforced);
    CHECK(out.legit() > legit_before);
    // What leaked depends on how soon the daemon heard of the tap and held
    // it, against QEMU bringing it up: reported, not asserted.
    auto ms = [&](Clock::time_point t) { return std::chrono::duration<double, std::milli>(t - qemu.opened_at()).count(); };
    std::printf("vmhostd tap window, ordinary tap (up at once): %llu spoofed frames reached the outside; the tap "
                "surely took %llu before its hold (%zu by the clock; %llu written in all, half of them spoofed); "
                "from its creation: up "
                "%.2f ms, hold attach returned %.2f ms, enforced %.2f ms; drops on the way: tap rx %llu, uplink tx %llu\n",
                (unsigned long long)(out.spoofed() - spoofed_before), (unsigned long long)qemu.unheld_spoofed(),
                qemu.spoofed_before(st.held_at),
                (unsigned long long)qemu.written(), ms(qemu.up_at()), ms(st.held_at), ms(st.enforced_at),
                (unsigned long long)tap_drops.rx, (unsigned long long)uplink_drops.tx);
}

namespace {
bool link_up(const char* name)
{
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    dme::Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    return !ioctl(s.get(), SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_UP);
}

// A persistent tap made by someone else (no vmhostd mark), down.
uint32_t foreign_tap(const char* name)
{
    dme::Fd fd(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (!fd || ioctl(fd.get(), TUNSETIFF, &ifr) || ioctl(fd.get(), TUNSETPERSIST, 1))
        throw std::runtime_error(std::string("making a persistent tap failed: ") + std::strerror(errno));
    return if_nametoindex(name);
}
}  // namespace

TEST_CASE("vmhostd: a tap it made is taken over at restart, deleted with its VM, kept down while its policy fails, "
          "and a tap it did not make is never brought up or deleted",
          "[vmhost][vmhostd][tapwindow]")
{
    Target uplink("vdnic");
    const std::string with_r = config("create_tap = true\n");
    const std::string without_r = "[host]\nuplink = \"vdnic\"\n\n[[vm]]\nname = \"s\"\nmac = \"52:54:00:aa:00:22\"\n"
                                  "tap = \"vdtaps\"\naddresses = [\"10.7.0.22\"]\n";
    auto cfg = [](const std::string& text) { return vmhost::parse_config(text, "taps.toml"); };
    std::vector<std::string> log;
    auto logger = [&](const std::string& l) { log.push_back(l); };
    auto r_ready = [](const vmhost::Daemon& d) { return d.status().at(0).enforced && d.status()[0].tap_up; };

    // Made and brought up; a stop that leaves the datapath leaves the tap.
    uint32_t made = 0;
    {
        vmhost::Daemon a(cfg(with_r), logger);
        REQUIRE(r_ready(a));
        CHECK(a.status()[0].tap_made);
        made = a.status()[0].ifindex.value_or(0);
        CHECK(made == if_nametoindex(kTap));
        CHECK(link_up(kTap));
        a.release();
    }
    REQUIRE(if_nametoindex(kTap) == made);
    {
        // The next daemon takes it over: the same tap, its programs adopted.
        vmhost::Daemon b(cfg(with_r), logger);
        REQUIRE(r_ready(b));
        CHECK(b.status()[0].ifindex == made);
        CHECK(b.host().vm(b.status()[0].port)->origin() == vmhost::Vm::Origin::adopted);
        CHECK(logged(log, "vm r: tap vdtapr was made by vmhostd before (vmhostd vm r); taken over, not made again"));
        // A reload without the VM deletes its tap; one with it makes it anew.
        auto res = b.reload(cfg(without_r));
        CHECK(res.removed == 1);
        CHECK(if_nametoindex(kTap) == 0);
        CHECK(logged(log, "vm r: no longer configured; tap vdtapr, which vmhostd made, deleted"));
        res = b.reload(cfg(with_r));
        CHECK(res.added == 1);
        REQUIRE(step_until(b, [&] { return r_ready(b); }));
        CHECK(link_up(kTap));
        // Deleted by someone else while its VM is configured: made again.
        const uint32_t before = if_nametoindex(kTap);
        vmhost::netcfg::delete_link(before);
        REQUIRE(step_until(b, [&] { return r_ready(b) && b.status()[0].ifindex != before; }));
        CHECK(b.status()[0].tap_made);
        CHECK(if_nametoindex(kTap) == b.status()[0].ifindex);
        // New settings for the tap it made (an owner): deleted and made anew.
        const uint32_t old_tap = if_nametoindex(kTap);
        res = b.reload(cfg(config("create_tap = true\ntap_owner = 0\n")));
        CHECK(res.changed == 1);
        REQUIRE(step_until(b, [&] { return r_ready(b) && b.status()[0].ifindex != old_tap; }));
        CHECK(logged(log, "vm r: its create_tap settings changed; tap vdtapr, which vmhostd made, deleted"));
        b.release();
    }
    {
        // A start without the VM (as `vmhostd teardown` starts) deletes the tap it made for it.
        vmhost::Daemon c(cfg(without_r), logger);
        CHECK(if_nametoindex(kTap) == 0);
        CHECK(logged(log, "tap vdtapr (vmhostd vm r): made by vmhostd for a VM no longer configured with it; deleted"));
    }

    // A tap it made, found down with another's XDP program: the policy
    // cannot be attached, the tap stays down and the policy is tried again.
    vmhost::create_persistent_tap(kTap, {}, vmhost::tap_mark("r"));
    const uint32_t marked = if_nametoindex(kTap);
    REQUIRE(marked);
    Redirector other;
    REQUIRE(bpf_xdp_attach(int(marked), other.fd(), XDP_FLAGS_DRV_MODE, nullptr) == 0);
    {
        vmhost::Daemon d(cfg(with_r), logger);
        CHECK_FALSE(d.status().at(0).enforced);
        CHECK(d.status()[0].tap_made);
        CHECK_FALSE(link_up(kTap));
        CHECK(logged(log, "enforcing its policy failed"));
        CHECK(logged(log, "the tap stays down"));
        CHECK(step_until(d, [&] { return logged(log, "trying again in 400 ms"); }));
        CHECK_FALSE(link_up(kTap));
        REQUIRE(bpf_xdp_detach(int(marked), XDP_FLAGS_DRV_MODE, nullptr) == 0);
        REQUIRE(step_until(d, [&] { return r_ready(d); }));
        CHECK(d.status()[0].ifindex == marked);
        CHECK(link_up(kTap));
    }
    // The daemon going without release() deletes the tap it made.
    CHECK(if_nametoindex(kTap) == 0);

    // A tap of that name made by someone else: the VM's policy, but never up, never deleted.
    const uint32_t foreign = foreign_tap(kTap);
    REQUIRE(foreign);
    {
        vmhost::Daemon d(cfg(with_r), logger);
        REQUIRE(d.status().at(0).enforced);
        CHECK_FALSE(d.status()[0].tap_made);
        CHECK_FALSE(link_up(kTap));
        CHECK(logged(log, "vm r: tap vdtapr is there and was not made by vmhostd"));
        // create_tap off by a reload: the tap is not vmhostd's, so its guard stays, untouched.
        const uint32_t guard = xdp_prog_on(foreign);
        REQUIRE(guard);
        auto res = d.reload(cfg(config("")));
        CHECK(res.ok);
        CHECK(res.changed == 1);
        CHECK(xdp_prog_on(foreign) == guard);
        CHECK(d.status().at(0).enforced);
    }
    CHECK(if_nametoindex(kTap) == foreign);
    vmhost::netcfg::delete_link(foreign);
}

TEST_CASE("vmhostd: a tap it cannot make is named with its cause and tried again, and a link in its way is left alone",
          "[vmhost][vmhostd][tapwindow]")
{
    Target uplink("vdnic");
    std::vector<std::string> log;
    auto logger = [&](const std::string& l) { log.push_back(l); };
    const auto cfg = vmhost::parse_config(config("create_tap = true\n"), "taps.toml");
    {
        // No /dev/net/tun (an empty directory over /dev/net, in this test's
        // own mount namespace): the error says what to do; tried again.
        struct Hidden {
            Hidden()
            {
                if (mount("tmpfs", "/dev/net", "tmpfs", 0, "size=16k"))
                    throw std::runtime_error(std::string("hiding /dev/net/tun failed: ") + std::strerror(errno));
            }
            ~Hidden() { umount2("/dev/net", MNT_DETACH); }
        };
        auto hidden = std::make_unique<Hidden>();
        vmhost::Daemon d(cfg, logger);
        CHECK_FALSE(d.status().at(0).ifindex.has_value());
        CHECK_THAT(d.status()[0].error, Catch::Contains("creating tap vdtapr: opening /dev/net/tun failed: No such file") &&
                                            Catch::Contains("modprobe tun") &&
                                            Catch::Contains("DeviceAllow=/dev/net/tun rw"));
        CHECK(logged(log, "trying again in 200 ms"));
        REQUIRE(d.until_retry().has_value());
        hidden.reset();
        REQUIRE(step_until(d, [&] { return d.status().at(0).enforced && d.status()[0].tap_up; }));
        CHECK(d.status()[0].error.empty());
        CHECK(link_up(kTap));
    }
    CHECK(if_nametoindex(kTap) == 0);

    // A link of the tap's name that is not vmhostd's (a veth): matched by
    // name as any tap, never taken over; once it goes, vmhostd makes its own.
    log.clear();
    Target squatter(kTap);
    vmhost::Daemon d(cfg, logger);
    CHECK(logged(log, "vm r: tap vdtapr is there and was not made by vmhostd"));
    CHECK_FALSE(d.status().at(0).tap_made);
    squatter.veth().remove();
    REQUIRE(step_until(d, [&] { return d.status().at(0).tap_made && d.status()[0].enforced; }));
    CHECK(link_up(kTap));
    CHECK(logged(log, "vm r: tap vdtapr created"));
}

TEST_CASE("vmhostd: the tap it makes has the queues asked for, never takes an existing link, and leaves nothing when it fails",
          "[vmhost][vmhostd][tapwindow]")
{
    auto open_queue = [](const char* name, bool multi) {
        dme::Fd fd(open("/dev/net/tun", O_RDWR | O_CLOEXEC));
        ifreq ifr{};
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
        std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        return fd && !ioctl(fd.get(), TUNSETIFF, &ifr) ? std::move(fd) : dme::Fd();
    };
    vmhost::TapSettings mq;
    mq.multi_queue = true;
    vmhost::create_persistent_tap("vdmq", mq, vmhost::tap_mark("mq"));
    const uint32_t ifindex = if_nametoindex("vdmq");
    REQUIRE(ifindex);
    CHECK_FALSE(link_up("vdmq"));  // made down
    {
        // QEMU's queues=2: two opens with IFF_MULTI_QUEUE; a single-queue open is refused.
        dme::Fd q0 = open_queue("vdmq", true), q1 = open_queue("vdmq", true);
        CHECK(q0);
        CHECK(q1);
        CHECK_FALSE(open_queue("vdmq", false));
    }
    // A link of that name is there: refused, naming it, and not touched.
    CHECK_THROWS_WITH(vmhost::create_persistent_tap("vdmq", {}, vmhost::tap_mark("mq")),
                      Catch::Contains("creating tap vdmq") && Catch::Contains("exists already"));
    CHECK(if_nametoindex("vdmq") == ifindex);
    vmhost::netcfg::delete_link(ifindex);
    // No temporary tap is left behind by a creation that succeeded or failed.
    struct if_nameindex* all = if_nameindex();
    REQUIRE(all);
    std::vector<std::string> temps;
    for (auto* i = all; i->if_index; i++)
        if (std::string(i->if_name).rfind("vmhdtap", 0) == 0)
            temps.push_back(i->if_name);
    if_freenameindex(all);
    CHECK(temps.empty());
}
