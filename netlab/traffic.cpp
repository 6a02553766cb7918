#include "traffic.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

namespace netlab {

uint32_t run_live_frames(int prog_fd, const Frame& frame, uint32_t count, uint32_t ingress_ifindex, uint32_t batch)
{
    xdp_md ctx{};
    ctx.data_end = frame.size();
    ctx.ingress_ifindex = ingress_ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = uint32_t(frame.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = int(count),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
    if (!ingress_ifindex) {
        run.ctx_in = nullptr;
        run.ctx_size_in = 0;
    }
    if (bpf_prog_test_run_opts(prog_fd, &run))
        throw std::runtime_error(std::string("live-frame test run failed: ") + std::strerror(errno));
    return run.duration;
}

PacketSocket::PacketSocket(const Netns& ns)
{
    NetnsScope in(ns);  // the socket belongs to the namespace it is made in
    fd_ = dme::Fd(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (!fd_)
        throw std::runtime_error(std::string("AF_PACKET socket: ") + std::strerror(errno));
}

uint32_t PacketSocket::send(uint32_t ifindex, const Frame& frame, uint32_t count) const
{
    uint32_t taken = 0;
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = int(ifindex);
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, frame.data(), ETH_ALEN);
    for (uint32_t i = 0; i < count; i++) {
        if (sendto(fd_.get(), frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) >= 0)
            taken++;
        else if (errno != ENOBUFS)
            throw std::runtime_error(std::string("sendto: ") + std::strerror(errno));
    }
    return taken;
}

void send_frames(const Netns& ns, uint32_t ifindex, const Frame& frame, uint32_t count)
{
    PacketSocket(ns).send(ifindex, frame, count);
}

std::vector<Counters> read_counters_per_cpu(int map_fd)
{
    int ncpu = libbpf_num_possible_cpus();
    struct Raw {
        uint64_t packets, bytes, passed, dropped;
    };
    std::vector<Raw> raw(ncpu);
    uint32_t key = 0;
    if (bpf_map_lookup_elem(map_fd, &key, raw.data()))
        throw std::runtime_error(std::string("reading counters: ") + std::strerror(errno));
    std::vector<Counters> out;
    for (const auto& r : raw)
        out.push_back({r.packets, r.bytes, r.passed, r.dropped});
    return out;
}

Counters read_counters(int map_fd)
{
    Counters sum;
    for (const auto& c : read_counters_per_cpu(map_fd)) {
        sum.packets += c.packets;
        sum.bytes += c.bytes;
        sum.passed += c.passed;
        sum.dropped += c.dropped;
    }
    return sum;
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    auto until = std::chrono::steady_clock::now() + scaled(timeout);
    while (!done()) {
        if (std::chrono::steady_clock::now() > until)
            return done();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

bool prog_exists(uint32_t id)
{
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

bool map_exists(uint32_t id)
{
    int fd = bpf_map_get_fd_by_id(id);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

}  // namespace netlab
