// devmapctl stats: per-slot program runs and device transmit results, read
// while traffic flows.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <bpf_ext/pin.h>

#include "fixtures.hpp"
#include "stats.hpp"

using namespace netlab;

TEST_CASE("slot statistics report program runs and what the device sent or not", "[devmap][stats]")
{
    Target pass_dev("st0"), drop_dev("st1");
    Redirector rx;
    Counter passing, dropping;
    dropping.verdict(XDP_DROP);
    auto slots = rx.devmap_hash();
    slots.set(1, pass_dev.dev(), passing.prog);
    slots.set(2, drop_dev.dev(), dropping.prog);
    slots.pin("/sys/fs/bpf/st_slots");

    devmapctl::SlotStats stats;
    std::atomic<bool> stop{false};
    // One batch of 64 a call: each fits veth's 256-frame ring even when the
    // peer's NAPI falls behind (a debug kernel under TCG, a loaded host), so
    // a frame the passing program lets through is never "not sent".
    std::thread traffic([&] {
        while (!stop) {
            rx.to_devmap_hash(1);
            run_live_frames(rx.fd(), raw_frame(), 64);
            rx.to_devmap_hash(2);
            run_live_frames(rx.fd(), raw_frame(), 64);
        }
    });
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : stats.sample("/sys/fs/bpf/st_slots", std::chrono::milliseconds(300)))
        rows.push_back(s.to_json());
    stop = true;
    traffic.join();
    REQUIRE(bpfext_unpin("/sys/fs/bpf/st_slots") == 0);

    REQUIRE(rows.size() == 2);
    for (const auto& r : rows) {
        INFO(r.dump());
        CHECK(r["prog_runs_per_s"].get<double>() > 0);
        if (r["key"] == 1) {
            CHECK(r["dev_sent_per_s"].get<double>() > 0);
            CHECK(r["dev_not_sent_per_s"].get<double>() == 0);
        } else {
            CHECK(r["dev_sent_per_s"].get<double>() == 0);
            CHECK(r["dev_not_sent_per_s"].get<double>() > 0);  // the program's drops
        }
        CHECK(r["dev_xmit_errors_per_s"].get<double>() == 0);
    }
}
