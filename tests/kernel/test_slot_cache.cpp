// The slot writes' fast path (libbpf-ext/src/slots.c) and its cache of the
// devices' XDP features (netdev.c): a cached answer never lets a slot take a
// device that cannot transmit XDP frames or a program of the wrong kind, the
// map stays as it was on every refusal, and the cache does answer repeated
// writes (counted by the library, not timed).
#include <catch2/catch.hpp>

#include <bpf/bpf.h>
#include <linux/filter.h>
#include <net/if.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include <bpf_ext/bpf_ext.h>

#include "fixtures.hpp"
#include "internal.h"  // ext_xmit_cache_read_stats: internal, hidden from libbpf-ext.so

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

ext_xmit_cache_stats cache_stats()
{
    ext_xmit_cache_stats s{};
    ext_xmit_cache_read_stats(&s);
    return s;
}

// The C call must fail with `err`, explain with `words`, and leave `m` as it was.
template <class Call>
void refused(const dme::DevmapEgress& m, int err, const std::string& words, Call call)
{
    auto before = snapshot(m);
    int rc = call();
    CHECK(rc == -err);
    CHECK_THAT(bpfext_errmsg(), Contains(words));
    CHECK(snapshot(m) == before);
}

void run(const std::string& cmd)
{
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
}

// A veth pair, both ends in the calling thread's namespace, `near` with the
// given ifindex, neither end with XDP: `near` cannot transmit XDP frames.
struct BareVeth {
    std::string near;
    BareVeth(const std::string& name, uint32_t ifindex) : near(name)
    {
        // The peer registers first: give it an index out of the way.
        run("ip link add " + name + " index " + std::to_string(ifindex) + " type veth peer name " + name + "p index " +
            std::to_string(ifindex + 100000));
        run("ip link set " + name + " up && ip link set " + name + "p up");
    }
    ~BareVeth() { std::system(("ip link del " + near + " 2>/dev/null").c_str()); }
};

// A veth whose far end (in its own namespace) can get and lose an XDP
// program: with one there, the near end can transmit XDP frames.
struct SwitchableTarget {
    Netns far_ns = Netns::create();
    VethPair veth;
    Skel<frame_sink> sink = open_load<frame_sink>();
    explicit SwitchableTarget(const std::string& name) : veth(name, name + "p", far_ns) { xdp_on_far(true); }
    void xdp_on_far(bool on)
    {
        NetnsScope in(far_ns);
        int err = on ? bpf_xdp_attach(int(veth.far().ifindex), bpf_program__fd(sink->progs.frame_sink),
                                      XDP_FLAGS_DRV_MODE, nullptr)
                     : bpf_xdp_detach(int(veth.far().ifindex), XDP_FLAGS_DRV_MODE, nullptr);
        REQUIRE(err == 0);
    }
    uint32_t ifindex() const { return veth.near().ifindex; }
};

dme::Fd socket_filter()
{
    struct bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "not_xdp", "GPL", insns, 2, nullptr);
    REQUIRE(fd >= 0);
    return dme::Fd(fd);
}
}  // namespace

TEST_CASE("repeated slot writes to one device are answered from the cache", "[devmap][cache]")
{
    SwitchableTarget t("sc0");
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_hits", 8);
    auto before = cache_stats();
    for (uint32_t k = 0; k < 8; k++)
        REQUIRE(bpfext_devmap_set(m.fd(), k, t.ifindex(), egress.prog.fd(), nullptr) == 0);
    auto after = cache_stats();
    CHECK(after.queries - before.queries == 1);
    CHECK(after.hits - before.hits == 7);
    // The C++ API takes the same path.
    m.set(0, dme::Interface::index(t.ifindex()), egress.prog);
    CHECK(cache_stats().queries == after.queries);
    CHECK(cache_stats().hits == after.hits + 1);
}

TEST_CASE("a cache hit for one device does not let another device through", "[devmap][cache][errors]")
{
    Target good("sc1");
    Netns far = Netns::create();
    VethPair bare("sc1bare", "sc1barep", far);  // its peer has no XDP: cannot transmit
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_other", 4);
    m.set(0, good.dev(), egress.prog);
    m.set(1, good.dev(), egress.prog);  // a hit
    for (int i = 0; i < 2; i++)         // the second time from the cache too
        refused(m, EOPNOTSUPP, "cannot transmit XDP frames",
                [&] { return bpfext_devmap_set(m.fd(), 2, bare.near().ifindex, egress.prog.fd(), nullptr); });
    CHECK_THROWS_WITH(m.set(2, dme::Interface::index(bare.near().ifindex), egress.prog),
                      Contains("cannot transmit XDP frames"));
    CHECK(bpfext_devmap_set(m.fd(), 2, good.near().ifindex, egress.prog.fd(), nullptr) == 0);
}

TEST_CASE("a device whose XDP features change is asked again", "[devmap][cache][errors]")
{
    SwitchableTarget t("sc2");
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_change", 4);
    REQUIRE(bpfext_devmap_set(m.fd(), 0, t.ifindex(), egress.prog.fd(), nullptr) == 0);
    REQUIRE(bpfext_devmap_set(m.fd(), 1, t.ifindex(), egress.prog.fd(), nullptr) == 0);  // cached: can

    // The peer loses its XDP program: veth can no longer transmit XDP frames.
    auto before = cache_stats();
    t.xdp_on_far(false);
    refused(m, EOPNOTSUPP, "cannot transmit XDP frames",
            [&] { return bpfext_devmap_set(m.fd(), 2, t.ifindex(), egress.prog.fd(), nullptr); });
    auto after = cache_stats();
    CHECK(after.notifications > before.notifications);
    CHECK(after.queries > before.queries);

    // ... and gets it back.
    t.xdp_on_far(true);
    CHECK(bpfext_devmap_set(m.fd(), 2, t.ifindex(), egress.prog.fd(), nullptr) == 0);
}

TEST_CASE("a deleted device's ifindex given to a device that cannot transmit is refused", "[devmap][cache][errors]")
{
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_reuse", 4);
    uint32_t ifindex;
    {
        SwitchableTarget t("sc3");
        ifindex = t.ifindex();
        REQUIRE(bpfext_devmap_set(m.fd(), 0, ifindex, egress.prog.fd(), nullptr) == 0);
        REQUIRE(bpfext_devmap_set(m.fd(), 1, ifindex, egress.prog.fd(), nullptr) == 0);  // cached: can
        t.veth.remove();  // the kernel empties slots 0 and 1
    }
    // A new device with the same ifindex: deleted and re-created in between
    // two writes, with no other write of this process in the middle.
    BareVeth reuse("sc3new", ifindex);
    REQUIRE(if_nametoindex("sc3new") == ifindex);
    refused(m, EOPNOTSUPP, "cannot transmit XDP frames",
            [&] { return bpfext_devmap_set(m.fd(), 2, ifindex, egress.prog.fd(), nullptr); });
    CHECK(snapshot(m).empty());
}

TEST_CASE("the same ifindex in another network namespace is asked about there", "[devmap][cache][errors]")
{
    SwitchableTarget t("sc4");
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_netns", 4);
    REQUIRE(bpfext_devmap_set(m.fd(), 0, t.ifindex(), egress.prog.fd(), nullptr) == 0);
    REQUIRE(bpfext_devmap_set(m.fd(), 1, t.ifindex(), egress.prog.fd(), nullptr) == 0);  // cached: can

    Netns other = Netns::create();
    {
        NetnsScope in(other);
        BareVeth there("sc4other", t.ifindex());
        refused(m, EOPNOTSUPP, "cannot transmit XDP frames",
                [&] { return bpfext_devmap_set(m.fd(), 2, t.ifindex(), egress.prog.fd(), nullptr); });
    }
    // Back home the device can transmit, as before.
    CHECK(bpfext_devmap_set(m.fd(), 2, t.ifindex(), egress.prog.fd(), nullptr) == 0);
}

TEST_CASE("after cache hits, programs of the wrong kind are still refused", "[devmap][cache][errors]")
{
    Target good("sc5");
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_progs", 4);
    uint32_t ifx = good.near().ifindex;
    m.set(0, good.dev(), egress.prog);
    m.set(1, good.dev(), egress.prog);
    auto hits = cache_stats().hits;

    SECTION("program of another type")
    {
        auto filter = socket_filter();
        refused(m, EINVAL, "socket_filter program",
                [&] { return bpfext_devmap_set(m.fd(), 0, ifx, filter.get(), nullptr); });
    }
    SECTION("XDP program loaded as plain XDP, not for devmap slots")
    {
        Redirector rx;
        refused(m, EINVAL, "expected attach type BPF_XDP_DEVMAP",
                [&] { return bpfext_devmap_set(m.fd(), 1, ifx, rx.fd(), nullptr); });
    }
    SECTION("cpumap program")
    {
        auto cpu = open_load<cpumap_redirect_again>();
        refused(m, EINVAL, "BPF_XDP_DEVMAP", [&] {
            return bpfext_devmap_set(m.fd(), 2, ifx, bpf_program__fd(cpu->progs.cpumap_redirect_again), nullptr);
        });
    }
    SECTION("a map where the program goes, and a program where the map goes")
    {
        refused(m, EINVAL, "is a BPF map, not a program",
                [&] { return bpfext_devmap_set(m.fd(), 0, ifx, m.fd(), nullptr); });
        // An SK_SKB program's info reads, as map info, like a devmap's type.
        struct bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
        int sk = bpf_prog_load(BPF_PROG_TYPE_SK_SKB, "skskb", "GPL", insns, 2, nullptr);
        REQUIRE(sk >= 0);
        dme::Fd owned(sk);
        refused(m, EINVAL, "is a BPF program, not a map",
                [&] { return bpfext_devmap_set(sk, 0, ifx, egress.prog.fd(), nullptr); });
    }
    SECTION("closed program fd")
    {
        int fd = dup(egress.prog.fd());
        close(fd);
        refused(m, EBADF, "not open", [&] { return bpfext_devmap_set(m.fd(), 0, ifx, fd, nullptr); });
    }
    // The device's answer came from the cache each time.
    CHECK(cache_stats().hits > hits);
}

TEST_CASE("a forked child's writes do not take the parent's notifications", "[devmap][cache][errors]")
{
    SwitchableTarget t("sc6");
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_fork", 4);
    REQUIRE(bpfext_devmap_set(m.fd(), 0, t.ifindex(), egress.prog.fd(), nullptr) == 0);  // parent: cached

    // The child reads the features change (with its own cache); the parent
    // must still see it.
    t.xdp_on_far(false);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int rc = bpfext_devmap_set(m.fd(), 1, t.ifindex(), egress.prog.fd(), nullptr);
        _exit(rc == -EOPNOTSUPP ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    refused(m, EOPNOTSUPP, "cannot transmit XDP frames",
            [&] { return bpfext_devmap_set(m.fd(), 1, t.ifindex(), egress.prog.fd(), nullptr); });
}

TEST_CASE("slot deletes refuse what the checked path refuses, and leave the map unchanged", "[devmap][errors]")
{
    Target good("sc7");
    Counter egress;
    auto m = dme::DevmapEgress::create("sc_del", 4);
    auto h = dme::DevmapEgress::create_hash("sc_delh", 4);
    m.set(0, good.dev(), egress.prog);
    h.set(7, good.dev(), egress.prog);

    refused(m, ENOENT, "slot 1 of map 'sc_del' is already empty", [&] { return bpfext_devmap_delete(m.fd(), 1); });
    refused(h, ENOENT, "slot 1 of map 'sc_delh' is already empty", [&] { return bpfext_devmap_delete(h.fd(), 1); });
    refused(m, E2BIG, "key 4 is out of range", [&] { return bpfext_devmap_delete(m.fd(), 4); });
    refused(m, EINVAL, "is a BPF program, not a map", [&] { return bpfext_devmap_delete(egress.prog.fd(), 0); });
    struct bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    int sk = bpf_prog_load(BPF_PROG_TYPE_SK_SKB, "skskb", "GPL", insns, 2, nullptr);
    REQUIRE(sk >= 0);
    dme::Fd owned(sk);
    refused(m, EINVAL, "is a BPF program, not a map", [&] { return bpfext_devmap_delete(sk, 0); });
    LIBBPF_OPTS(bpf_get_fd_by_id_opts, ro, .open_flags = BPF_F_RDONLY);
    int rdonly = bpf_map_get_fd_by_id_opts(m.info().id, &ro);
    REQUIRE(rdonly >= 0);
    dme::Fd owned_ro(rdonly);
    refused(m, EPERM, "not writable through this fd", [&] { return bpfext_devmap_delete(rdonly, 0); });

    CHECK(bpfext_devmap_delete(m.fd(), 0) == 0);
    CHECK(bpfext_devmap_delete(h.fd(), 7) == 0);
    CHECK(snapshot(m).empty());
    CHECK(snapshot(h).empty());
}
