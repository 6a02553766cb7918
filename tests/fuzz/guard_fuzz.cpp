// guard-fuzz: the loaded VM guard (bpf/vm_firewall.bpf.c, XDP on the tap)
// against the reference model (guard_model.*) on seeded, generated frames.
//
// In a private network and mount namespace (nothing outlives the process),
// it builds a VM host on a veth uplink with one VM per identity below, each
// on a veth tap, and runs every frame through that VM's guard with
// BPF_PROG_TEST_RUN. Per frame it compares the guard's return value with the
// model's action; per batch it compares the guard's verdict counters
// (vm->counts(VM_PATH_GUARD), before and after) with the model's reasons,
// and re-runs a batch that disagrees frame by frame to name each frame the
// two judge differently. Mismatches are printed (hex, both verdicts) and
// written to --corpus; --replay runs one such file again. Exit status 1 on
// any mismatch.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <devmap_egress/devmap_egress.hpp>

#include "guard_gen.hpp"
#include "guard_identities.hpp"
#include "guard_model.hpp"
#include "netns.hpp"
#include "veth.hpp"
#include "xdp.hpp"
#include "vm_host.hpp"

using guardmodel::Frame;
using guardmodel::MacAddr;

namespace {

// XDP_PASS in two instructions: on each veth's far end, so that its near
// end can transmit XDP frames (a devmap slot requires it).
dme::Fd xdp_pass_program()
{
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "fuzz_far_pass", "GPL", insns, 2, nullptr);
    if (fd < 0)
        throw std::runtime_error(std::string("loading an XDP_PASS program: ") + std::strerror(-fd));
    return dme::Fd(fd);
}

std::string hex(const Frame& f)
{
    std::string s;
    char b[3];
    for (uint8_t x : f) {
        std::snprintf(b, sizeof b, "%02x", x);
        s += b;
    }
    return s;
}

void hexdump(const Frame& f)
{
    for (size_t i = 0; i < f.size(); i += 16) {
        std::printf("    %04zx ", i);
        for (size_t j = i; j < std::min(f.size(), i + 16); j++)
            std::printf(" %02x", f[j]);
        std::printf("\n");
    }
}

const char* action_name(uint32_t a)
{
    switch (a) {
    case XDP_ABORTED: return "XDP_ABORTED";
    case XDP_DROP: return "XDP_DROP";
    case XDP_PASS: return "XDP_PASS";
    case XDP_TX: return "XDP_TX";
    case XDP_REDIRECT: return "XDP_REDIRECT";
    default: return "XDP_?";
    }
}

std::string reason_str(int r) { return r < 0 ? "(no single counter)" : guardmodel::reason_name(r); }

// One VM of the host: its identity, model and loaded guard.
struct Subject {
    vmhost::VmPolicy policy;
    std::unique_ptr<guardmodel::Identity> model;
    std::unique_ptr<netlab::VethPair> tap;
    vmhost::Vm* vm = nullptr;
    dme::Fd guard;
    uint32_t ifindex = 0;
    std::unique_ptr<guardmodel::FrameGen> gen;

    uint32_t run(const Frame& f) const
    {
        xdp_md ctx{};
        ctx.data_end = uint32_t(f.size());
        ctx.ingress_ifindex = ifindex;
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f.data(), .data_size_in = uint32_t(f.size()),
                    .ctx_in = &ctx, .ctx_size_in = sizeof ctx, .repeat = 1);
        int err = bpf_prog_test_run_opts(guard.get(), &opts);
        if (err) {
            std::fprintf(stderr, "guard-fuzz: BPF_PROG_TEST_RUN on a %zu-byte frame: %s\n", f.size(), std::strerror(-err));
            std::exit(1);
        }
        return opts.retval;
    }
    vmhost::ReasonCounts counts() const { return vm->counts(VM_PATH_GUARD); }
    // The guard's reason for one frame: the one counter that moved.
    int reason_of(const Frame& f, uint32_t* retval) const
    {
        auto before = counts();
        *retval = run(f);
        auto after = counts();
        int reason = -1, moved = 0;
        for (int r = 0; r < VM_REASONS; r++)
            if (after[r] != before[r])
                reason = r, moved++;
        return moved == 1 ? reason : -1;
    }
};

struct Mismatch {
    size_t identity, index;
    Frame frame;
    guardmodel::Verdict model;
    const char* rule;  // the model's deciding rule
    int bpf_reason;
    uint32_t bpf_action;
};

struct Options {
    uint64_t frames = 200000;
    uint64_t seed = 1;
    size_t batch = 500;
    std::string corpus, replay;
    int print_per_class = 3;
    uint64_t keep_per_class = 50;
    bool coverage = false;
};

void usage()
{
    std::printf(
        "usage: guard-fuzz [--frames N] [--seed S] [--batch B] [--corpus DIR] [--print K] [--keep K] [--coverage]\n"
        "       guard-fuzz --replay FILE|DIR\n"
        "  runs N generated frames (default 200000) through each VM's loaded guard and the\n"
        "  reference model; mismatches go to DIR (one file each, for --replay). Needs root.\n"
        "  --print K: hex dumps of the first K mismatches of each kind (default 3);\n"
        "  --keep K: files of the first K of each kind (default 50);\n"
        "  --coverage: how many frames each rule of the spec decided (in the model).\n");
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "guard-fuzz: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--frames")
            o.frames = std::stoull(value());
        else if (a == "--seed")
            o.seed = std::stoull(value());
        else if (a == "--batch")
            o.batch = std::max<size_t>(1, std::stoull(value()));
        else if (a == "--corpus")
            o.corpus = value();
        else if (a == "--replay")
            o.replay = value();
        else if (a == "--coverage")
            o.coverage = true;
        else if (a == "--keep")
            o.keep_per_class = std::stoull(value());
        else if (a == "--print")
            o.print_per_class = std::stoi(value());
        else if (a == "-h" || a == "--help")
            usage(), std::exit(0);
        else {
            std::fprintf(stderr, "guard-fuzz: unknown argument %s\n", a.c_str());
            usage();
            std::exit(2);
        }
    }
    return o;
}

void print_mismatch(const Mismatch& m)
{
    std::printf("MISMATCH identity %zu frame %zu (%zu bytes): model %s/%s (rule %s), guard %s/%s\n", m.identity,
                m.index, m.frame.size(), guardmodel::reason_name(m.model.reason), action_name(m.model.action), m.rule,
                reason_str(m.bpf_reason).c_str(), action_name(m.bpf_action));
    hexdump(m.frame);
}

void write_mismatch(const std::string& dir, const Mismatch& m, uint64_t seed)
{
    std::filesystem::create_directories(dir);
    std::string path = dir + "/id" + std::to_string(m.identity) + "-seed" + std::to_string(seed) + "-" +
                       std::to_string(m.index) + "-" + guardmodel::reason_name(m.model.reason) + "-vs-" +
                       reason_str(m.bpf_reason) + ".txt";
    std::ofstream out(path);
    out << "# guard-fuzz mismatch: model " << guardmodel::reason_name(m.model.reason) << "/"
        << action_name(m.model.action) << " (rule " << m.rule << "), guard " << reason_str(m.bpf_reason) << "/" << action_name(m.bpf_action)
        << "\nidentity " << m.identity << "\nhex " << hex(m.frame) << "\n";
}

// A replay file: "identity N", "hex ...", optionally "expect REASON" (the
// spec's answer, written by hand: then the model is held to it too).
bool read_replay(const std::string& path, size_t* identity, Frame* frame, int* expect)
{
    std::ifstream in(path);
    std::string line;
    bool have_hex = false;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string key;
        ls >> key;
        if (key == "identity") {
            ls >> *identity;
        } else if (key == "expect") {
            std::string name;
            ls >> name;
            for (int r = 0; r < VM_REASONS; r++)
                if (name == guardmodel::reason_name(r))
                    *expect = r;
        } else if (key == "hex") {
            std::string h;
            ls >> h;
            frame->clear();
            for (size_t i = 0; i + 1 < h.size(); i += 2)
                frame->push_back(uint8_t(std::stoul(h.substr(i, 2), nullptr, 16)));
            have_hex = true;
        }
    }
    return have_hex;
}

// Replays one file; true when the guard, the model and the file's expected
// reason (if any) agree.
bool replay(const std::vector<Subject>& subjects, const std::string& path)
{
    size_t identity = 0;
    int expect = -1;
    Frame f;
    if (!read_replay(path, &identity, &f, &expect) || identity >= subjects.size()) {
        std::printf("guard-fuzz: %s: no 'identity N' (0..%zu) and 'hex ...' lines\n", path.c_str(),
                    subjects.size() - 1);
        return false;
    }
    const Subject& s = subjects[identity];
    const char* rule = "";
    auto want = guardmodel::judge(*s.model, f, &rule);
    bool model_ok = expect < 0 || expect == int(want.reason);
    if (f.size() < 14) {
        std::printf("%s %s: model %s/%s (rule %s; BPF_PROG_TEST_RUN refuses frames under 14 bytes)\n",
                    model_ok ? "SAME" : "MISMATCH", path.c_str(), guardmodel::reason_name(want.reason),
                    action_name(want.action), rule);
        return model_ok;
    }
    uint32_t ret = 0;
    int got = s.reason_of(f, &ret);
    bool same = model_ok && got == int(want.reason) && ret == uint32_t(want.action);
    std::printf("%s %s: identity %zu, model %s/%s (rule %s), guard %s/%s", same ? "SAME" : "MISMATCH", path.c_str(),
                identity, guardmodel::reason_name(want.reason), action_name(want.action), rule, reason_str(got).c_str(),
                action_name(ret));
    if (expect >= 0)
        std::printf(", expected %s", guardmodel::reason_name(expect));
    std::printf("\n");
    if (!same)
        hexdump(f);
    return same;
}

}  // namespace

int main(int argc, char** argv)
{
    Options opt = parse(argc, argv);
    if (geteuid() != 0) {
        std::fprintf(stderr, "guard-fuzz: needs root (BPF, network namespaces): run it as root\n");
        return 1;
    }
    try {
        netlab::isolate_process();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "guard-fuzz: cannot isolate the process: %s\n", e.what());
        return 1;
    }

    auto policies = guardmodel::identities();
    std::vector<MacAddr> all_macs;
    for (const auto& p : policies)
        all_macs.push_back(p.mac.b);

    netlab::Netns far = netlab::Netns::create();
    netlab::VethPair uplink("fzup", "fzup-far", far);
    std::vector<Subject> subjects(policies.size());
    std::unique_ptr<vmhost::VmHost> host;
    try {
        dme::Fd far_pass = xdp_pass_program();
        netlab::attach_xdp_in(far, uplink.far().ifindex, far_pass.get());
        host = std::make_unique<vmhost::VmHost>(dme::Interface::index(uplink.near().ifindex));
        for (size_t i = 0; i < policies.size(); i++) {
            Subject& s = subjects[i];
            s.policy = policies[i];
            s.model = std::make_unique<guardmodel::Identity>(s.policy);
            s.tap = std::make_unique<netlab::VethPair>("fztap" + std::to_string(i), "fzvm" + std::to_string(i), far);
            s.ifindex = s.tap->near().ifindex;
            netlab::attach_xdp_in(far, s.tap->far().ifindex, far_pass.get());
            s.vm = &host->add_vm(uint32_t(i + 1), dme::Interface::index(s.ifindex), s.policy);
            s.guard = dme::open_program_by_id(s.vm->objects().prog_ids.at(2));
            std::vector<MacAddr> neighbours;
            for (size_t j = 0; j < all_macs.size(); j++)
                if (j != i)
                    neighbours.push_back(all_macs[j]);
            s.gen = std::make_unique<guardmodel::FrameGen>(s.policy, neighbours, opt.seed * 1000003 + i);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "guard-fuzz: cannot build the VM host: %s\n", e.what());
        return 1;
    }

    if (!opt.replay.empty()) {
        // A file, or every *.txt file of a directory (a regression corpus).
        std::vector<std::string> files;
        if (std::filesystem::is_directory(opt.replay)) {
            for (const auto& e : std::filesystem::directory_iterator(opt.replay))
                if (e.path().extension() == ".txt")
                    files.push_back(e.path().string());
            std::sort(files.begin(), files.end());
        } else {
            files.push_back(opt.replay);
        }
        int failed = 0;
        for (const auto& file : files)
            failed += replay(subjects, file) ? 0 : 1;
        if (files.size() > 1)
            std::printf("guard-fuzz: %zu frames replayed, %d disagree\n", files.size(), failed);
        return failed ? 1 : 0;
    }

    std::printf("guard-fuzz: %llu frames from seed %llu over %zu identities, batches of %zu\n",
                (unsigned long long)opt.frames, (unsigned long long)opt.seed, subjects.size(), opt.batch);
    std::fflush(stdout);
    auto t0 = std::chrono::steady_clock::now();
    std::array<uint64_t, VM_REASONS> model_hist{}, bpf_hist{};
    std::array<std::array<uint64_t, VM_REASONS>, 8> per_identity{};
    // (model reason, model action, guard reason, guard action) -> count
    std::map<std::tuple<int, int, int, int>, uint64_t> classes;
    std::vector<Mismatch> printed;
    uint64_t mismatches = 0, done = 0, batches_rerun = 0;
    std::vector<Frame> frames;
    std::vector<guardmodel::Verdict> want;
    std::vector<const char*> rules;
    std::map<std::string, uint64_t> coverage;  // the model's deciding rule -> frames
    for (size_t b = 0; done < opt.frames; b++) {
        Subject& s = subjects[b % subjects.size()];
        const size_t n = std::min<uint64_t>(opt.batch, opt.frames - done);
        frames.clear();
        want.clear();
        rules.clear();
        std::array<uint64_t, VM_REASONS> expect{};
        for (size_t i = 0; i < n; i++) {
            frames.push_back(s.gen->next());
            const char* rule = "";
            want.push_back(guardmodel::judge(*s.model, frames.back(), &rule));
            rules.push_back(rule);
            coverage[rule]++;
            expect[want.back().reason]++;
        }
        auto before = s.counts();
        bool action_differs = false;
        for (size_t i = 0; i < n; i++)
            action_differs |= s.run(frames[i]) != uint32_t(want[i].action);
        auto after = s.counts();
        bool hist_differs = false;
        for (int r = 0; r < VM_REASONS; r++) {
            bpf_hist[r] += after[r] - before[r];
            model_hist[r] += expect[r];
            per_identity[b % subjects.size()][r] += expect[r];
            hist_differs |= after[r] - before[r] != expect[r];
        }
        if (action_differs || hist_differs) {
            batches_rerun++;
            for (size_t i = 0; i < n; i++) {
                uint32_t ret = 0;
                int got = s.reason_of(frames[i], &ret);
                if (got == int(want[i].reason) && ret == uint32_t(want[i].action))
                    continue;
                mismatches++;
                Mismatch m{b % subjects.size(), done + i, frames[i], want[i], rules[i], got, ret};
                auto key = std::make_tuple(int(want[i].reason), int(want[i].action), got, int(ret));
                const uint64_t seen = classes[key]++;
                if (seen < uint64_t(opt.print_per_class))
                    print_mismatch(m);
                else if (mismatches <= 1000)  // one line each, the hex for the first of a kind
                    std::printf("MISMATCH identity %zu frame %zu (%zu bytes): model %s/%s (rule %s), guard %s/%s\n",
                                m.identity, m.index, m.frame.size(), guardmodel::reason_name(m.model.reason),
                                action_name(m.model.action), m.rule, reason_str(m.bpf_reason).c_str(),
                                action_name(m.bpf_action));
                if (seen < opt.keep_per_class && !opt.corpus.empty())
                    write_mismatch(opt.corpus, m, opt.seed);
            }
        }
        done += n;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::printf("\nguard-fuzz: %llu frames, seed %llu, %zu identities, %.1f s (%.0f frames/s)\n",
                (unsigned long long)done, (unsigned long long)opt.seed, subjects.size(), secs, done / secs);
    std::printf("%-12s %10s %10s", "reason", "model", "guard");
    for (size_t i = 0; i < subjects.size(); i++)
        std::printf("   id%zu", i);
    std::printf("\n");
    for (int r = 0; r < VM_REASONS; r++) {
        if (!model_hist[r] && !bpf_hist[r] && (r >= VM_DROP_DST_MAC && r <= VM_DROP_PORT))
            continue;  // host -> VM reasons, never the guard's
        std::printf("%-12s %10llu %10llu", guardmodel::reason_name(r), (unsigned long long)model_hist[r],
                    (unsigned long long)bpf_hist[r]);
        for (size_t i = 0; i < subjects.size(); i++)
            std::printf(" %6llu", (unsigned long long)per_identity[i][r]);
        std::printf("\n");
    }
    if (opt.coverage) {
        std::printf("\nthe model's deciding rules (docs/port-security.md):\n");
        for (const auto& [rule, c] : coverage)
            std::printf("  %-40s %10llu\n", rule.c_str(), (unsigned long long)c);
    }
    if (mismatches) {
        std::printf("\n%llu mismatches in %llu batches; by class (model -> guard):\n", (unsigned long long)mismatches,
                    (unsigned long long)batches_rerun);
        for (const auto& [k, c] : classes)
            std::printf("  %-11s %-12s -> %-18s %-12s %llu\n", guardmodel::reason_name(std::get<0>(k)),
                        action_name(uint32_t(std::get<1>(k))), reason_str(std::get<2>(k)).c_str(),
                        action_name(uint32_t(std::get<3>(k))), (unsigned long long)c);
        if (!opt.corpus.empty())
            std::printf("examples written to %s (guard-fuzz --replay FILE)\n", opt.corpus.c_str());
        return 1;
    }
    std::printf("no mismatches\n");
    return 0;
}
