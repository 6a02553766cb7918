// Every bad input is refused with a message that names the cause and the
// fix, and the map is left exactly as it was.
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <linux/filter.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf_ext/bpf_ext.h>

#include "fixtures.hpp"

using namespace netlab;
using Catch::Matchers::Contains;

namespace {
using Snapshot = std::vector<std::tuple<uint32_t, uint32_t, uint32_t>>;

Snapshot snapshot(const dme::DevmapEgress& m)
{
    Snapshot s;
    for (const auto& slot : m.slots())
        s.emplace_back(slot.key, slot.ifindex, slot.prog.id);
    return s;
}

Snapshot snapshot(const dme::CpuMap& m)
{
    Snapshot s;
    for (const auto& slot : m.slots())
        s.emplace_back(slot.cpu, slot.qsize, slot.prog.id);
    return s;
}

// A socket filter: a loaded program of the wrong type.
dme::Fd socket_filter()
{
    struct bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "not_xdp", "GPL", insns, 2, nullptr);
    if (fd < 0)
        throw std::runtime_error("loading a socket filter failed");
    return dme::Fd(fd);
}

// The C call must fail with `err`, explain with `words`, and leave `m` as it was.
template <class Map, class Call>
void refused(const Map& m, int err, const std::string& words, Call call)
{
    auto before = snapshot(m);
    int rc = call();
    CHECK(rc == -err);
    CHECK_THAT(bpfext_errmsg(), Contains(words));
    CHECK(snapshot(m) == before);
}
}  // namespace

TEST_CASE("devmap slot writes refuse bad inputs and leave the map unchanged", "[devmap][errors]")
{
    Target target("bi0");
    Counter egress;
    auto m = dme::DevmapEgress::create("bi_slots", 4);
    m.set(0, target.dev(), egress.prog);
    m.set(1, target.dev());
    uint32_t ifx = target.near().ifindex;

    SECTION("program loaded as plain XDP, not for devmap slots")
    {
        Redirector rx;  // SEC("xdp")
        refused(m, EINVAL, "expected attach type BPF_XDP_DEVMAP",
                [&] { return bpfext_devmap_set(m.fd(), 0, ifx, rx.fd(), nullptr); });
        CHECK_THAT(bpfext_errmsg(), Contains("SEC(\"xdp/devmap\")"));
    }
    SECTION("cpumap program in a devmap slot")
    {
        auto cpu = open_load<cpumap_redirect_again>();
        refused(m, EINVAL, "BPF_XDP_DEVMAP", [&] {
            return bpfext_devmap_set(m.fd(), 0, ifx, bpf_program__fd(cpu->progs.cpumap_redirect_again), nullptr);
        });
    }
    SECTION("program of another type")
    {
        auto filter = socket_filter();
        refused(m, EINVAL, "socket_filter program",
                [&] { return bpfext_devmap_set(m.fd(), 0, ifx, filter.get(), nullptr); });
    }
    SECTION("closed program fd")
    {
        int fd = dup(egress.prog.fd());
        close(fd);
        refused(m, EBADF, "not open", [&] { return bpfext_devmap_set(m.fd(), 0, ifx, fd, nullptr); });
    }
    SECTION("a map fd where the program fd goes")
    {
        refused(m, EINVAL, "is a BPF map, not a program",
                [&] { return bpfext_devmap_set(m.fd(), 0, ifx, m.fd(), nullptr); });
    }
    SECTION("missing device")
    {
        refused(m, ENODEV, "no device with ifindex 999999",
                [&] { return bpfext_devmap_set(m.fd(), 0, 999999, egress.prog.fd(), nullptr); });
        CHECK_THROWS_WITH(dme::Interface::named("no-such-tap"), Contains("no device named 'no-such-tap'"));
    }
    SECTION("device that cannot transmit XDP frames")
    {
        // A veth whose peer has no XDP program (and no GRO) refuses XDP frames.
        Netns far = Netns::create();
        VethPair bare("bi0bare", "bi0barep", far);
        refused(m, EOPNOTSUPP, "cannot transmit XDP frames",
                [&] { return bpfext_devmap_set(m.fd(), 0, bare.near().ifindex, egress.prog.fd(), nullptr); });
        CHECK_THAT(bpfext_errmsg(), Contains("attach an XDP program to its peer"));
        // Generic-XDP users may still write it on purpose.
        LIBBPF_OPTS(bpfext_devmap_set_opts, force, .skip_xmit_check = true);
        CHECK(bpfext_devmap_set(m.fd(), 2, bare.near().ifindex, egress.prog.fd(), &force) == 0);
    }
    SECTION("key out of range")
    {
        refused(m, E2BIG, "key 4 is out of range",
                [&] { return bpfext_devmap_set(m.fd(), 4, ifx, egress.prog.fd(), nullptr); });
    }
    SECTION("ifindex 0")
    {
        refused(m, EINVAL, "to empty a slot, delete it",
                [&] { return bpfext_devmap_set(m.fd(), 0, 0, -1, nullptr); });
    }
    SECTION("BPF_NOEXIST on an array devmap")
    {
        LIBBPF_OPTS(bpfext_devmap_set_opts, o, .flags = BPF_NOEXIST);
        refused(m, EEXIST, "always exists", [&] { return bpfext_devmap_set(m.fd(), 3, ifx, -1, &o); });
    }
    SECTION("closed map fd")
    {
        int fd = dup(m.fd());
        close(fd);
        refused(m, EBADF, "map fd", [&] { return bpfext_devmap_set(fd, 0, ifx, -1, nullptr); });
    }
    SECTION("map of another type")
    {
        auto cpus = dme::CpuMap::create("bi_cpus");
        refused(m, EINVAL, "not devmap or devmap_hash",
                [&] { return bpfext_devmap_set(cpus.fd(), 0, ifx, -1, nullptr); });
    }
    SECTION("opts from a newer caller with unknown fields set")
    {
        struct {
            bpfext_devmap_set_opts known;
            uint64_t future;
        } bigger{};
        bigger.known.sz = sizeof(bigger);
        bigger.future = 1;
        refused(m, EINVAL, "does not know it", [&] { return bpfext_devmap_set(m.fd(), 0, ifx, -1, &bigger.known); });
    }
}

TEST_CASE("a program in a 4-byte-value devmap is refused", "[devmap][errors]")
{
    Target target("bi1");
    Counter egress;
    LIBBPF_OPTS(bpfext_devmap_create_opts, four, .value_size = 4);
    int fd = bpfext_devmap_create(BPF_MAP_TYPE_DEVMAP, "bi_old", 4, &four);
    REQUIRE(fd >= 0);
    auto m = dme::DevmapEgress::from(fd);
    close(fd);
    refused(m, EINVAL, "no room for a program",
            [&] { return bpfext_devmap_set(m.fd(), 0, target.near().ifindex, egress.prog.fd(), nullptr); });
    CHECK(bpfext_devmap_set(m.fd(), 0, target.near().ifindex, -1, nullptr) == 0);
}

TEST_CASE("a full devmap_hash and BPF_EXIST on a missing key are explained", "[devmap][errors]")
{
    Target target("bi2");
    auto m = dme::DevmapEgress::create_hash("bi_full", 2);
    m.set(10, target.dev());
    m.set(11, target.dev());
    refused(m, E2BIG, "is full", [&] { return bpfext_devmap_set(m.fd(), 12, target.near().ifindex, -1, nullptr); });
    LIBBPF_OPTS(bpfext_devmap_set_opts, exist, .flags = BPF_EXIST);
    m.erase(11);
    refused(m, ENOENT, "does not exist", [&] { return bpfext_devmap_set(m.fd(), 11, target.near().ifindex, -1, &exist); });
}

TEST_CASE("the C++ API refuses a program of the wrong kind before loading it", "[devmap][errors]")
{
    auto obj = dme::BpfObject::open_file(std::string(BPF_OBJ_DIR) + "/cpumap_redirect_again.bpf.o");
    CHECK_THROWS_WITH(dme::EgressProgram::load(obj, "cpumap_redirect_again"),
                      Contains("is not a devmap egress") && Contains("xdp/cpumap"));
    CHECK_FALSE(obj.loaded());
    CHECK_THROWS_WITH(dme::EgressProgram::load(obj, "nope"), Contains("has no program 'nope'"));
    try {
        dme::Interface::named("no-such-dev");
        FAIL("expected an error");
    } catch (const dme::Error& e) {
        CHECK(e.code() == ENODEV);
    }
}

TEST_CASE("cpumap slot writes refuse bad inputs and leave the map unchanged", "[cpumap][errors]")
{
    auto m = dme::CpuMap::create("bi_cpus");  // one slot per possible CPU
    m.set(0, 256);
    auto remote = open_load<cpumap_redirect_again>();
    int prog = bpf_program__fd(remote->progs.cpumap_redirect_again);

    SECTION("queue size 0 and above the kernel's limit")
    {
        refused(m, EINVAL, "qsize 0 would empty", [&] { return bpfext_cpumap_set(m.fd(), 1, 0, prog, nullptr); });
        refused(m, EOVERFLOW, "above the kernel's limit of 16384",
                [&] { return bpfext_cpumap_set(m.fd(), 1, 16385, prog, nullptr); });
    }
    SECTION("CPU that does not exist, and CPU beyond the map")
    {
        // A map as wide as the kernel allows (NR_CPUS): where this machine
        // has fewer possible CPUs, the top slots name impossible ones.
        uint32_t nr_cpus = 0, impossible = uint32_t(libbpf_num_possible_cpus());
        if (FILE* f = std::fopen("/sys/devices/system/cpu/kernel_max", "re")) {
            if (std::fscanf(f, "%u", &nr_cpus) == 1)
                nr_cpus++;
            std::fclose(f);
        }
        if (impossible < nr_cpus) {
            auto wide = dme::CpuMap::create("bi_wide", nr_cpus);
            refused(wide, ENODEV, "does not exist on this machine",
                    [&] { return bpfext_cpumap_set(wide.fd(), impossible, 64, prog, nullptr); });
        }
        uint32_t beyond = m.info().max_entries;
        refused(m, E2BIG, "out of range", [&] { return bpfext_cpumap_set(m.fd(), beyond, 64, prog, nullptr); });
    }
    SECTION("devmap program in a cpumap slot")
    {
        Counter egress;
        // The kernel reports this as ENOMEM; the library finds the real cause.
        refused(m, EINVAL, "expected attach type BPF_XDP_CPUMAP",
                [&] { return bpfext_cpumap_set(m.fd(), 1, 64, egress.prog.fd(), nullptr); });
    }
    SECTION("closed program fd")
    {
        int fd = dup(prog);
        close(fd);
        refused(m, EBADF, "not open", [&] { return bpfext_cpumap_set(m.fd(), 1, 64, fd, nullptr); });
    }
}

TEST_CASE("pins outside bpffs and missing pins are explained", "[pin][errors]")
{
    auto m = dme::DevmapEgress::create("bi_pin", 2);
    CHECK(bpfext_pin(m.fd(), "/tmp/devmap-egress-not-bpffs") == -EINVAL);
    CHECK_THAT(bpfext_errmsg(), Contains("not on a BPF filesystem") && Contains("mount -t bpf"));
    CHECK(bpfext_pin(m.fd(), "/sys/fs/bpf/no/such/dir/x") == -ENOENT);
    CHECK_THAT(bpfext_errmsg(), Contains("does not exist"));
    CHECK(bpfext_pinned_open("/sys/fs/bpf/never-pinned") == -ENOENT);
    CHECK_THAT(bpfext_errmsg(), Contains("nothing is pinned"));

    m.pin("/sys/fs/bpf/bi_pin");
    CHECK_THROWS_WITH(m.pin("/sys/fs/bpf/bi_pin"), Contains("already pinned"));
    auto again = dme::DevmapEgress::open("/sys/fs/bpf/bi_pin");
    CHECK(again.info().id == m.info().id);
    CHECK(bpfext_unpin("/sys/fs/bpf/bi_pin") == 0);
}

TEST_CASE("without privileges, map creation says what is missing", "[errors][privileges]")
{
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Becoming 'nobody' drops every capability.
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
            _exit(2);
        int rc = bpfext_devmap_create(BPF_MAP_TYPE_DEVMAP, "x", 1, nullptr);
        bool ok = rc == -EPERM && std::string(bpfext_errmsg()).find("run as root") != std::string::npos;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

namespace {
// Takes a CPU offline for the scope. CPU hotplug is global, so a ctest
// cleanup fixture ("restore CPUs") brings every CPU back even if this
// process dies before its destructor runs.
class CpuOffline {
public:
    explicit CpuOffline(unsigned cpu) : path_("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/online")
    {
        write("0");
    }
    ~CpuOffline() { write("1"); }

private:
    void write(const char* v)
    {
        FILE* f = std::fopen(path_.c_str(), "we");
        if (!f || std::fputs(v, f) < 0 || std::fclose(f) != 0)
            throw std::runtime_error("cannot write " + path_);
    }
    std::string path_;
};
}  // namespace

TEST_CASE("an offline CPU is refused with the command that brings it back", "[cpumap][errors][hotplug]")
{
    if (libbpf_num_possible_cpus() < 2)
        FAIL("this test needs two CPUs");
    auto m = dme::CpuMap::create("bi_offline");
    m.set(0, 64);
    CpuOffline off(1);
    refused(m, ENODEV, "CPU 1 is offline", [&] { return bpfext_cpumap_set(m.fd(), 1, 64, -1, nullptr); });
    CHECK_THAT(bpfext_errmsg(), Contains("echo 1 > /sys/devices/system/cpu/cpu1/online"));
}
