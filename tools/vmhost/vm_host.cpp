#include "vm_host.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "nic_demux.skel.h"
#include "policy_maps.hpp"
#include "vm_firewall.skel.h"

namespace vmhost {

namespace {
void check_map(int err, const char* what)
{
    if (err)
        dme::fail(errno, std::string("writing ") + what + ": " + std::strerror(errno));
}

nic_demux* load_demux()
{
    nic_demux* s = nic_demux__open_and_load();
    if (!s)
        dme::fail(errno, std::string("loading the NIC demux program failed: ") + std::strerror(errno));
    return s;
}

struct MacKey {
    uint8_t mac[6];
    uint8_t pad[2];
};

MacKey mac_key(const Mac& m)
{
    MacKey k{};
    std::memcpy(k.mac, m.b.data(), 6);
    return k;
}

uint32_t map_id(const bpf_map* m)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len) ? 0 : info.id;
}
}  // namespace

VmHost::VmHost(const dme::Interface& uplink, dme::XdpMode mode)
    : demux_(load_demux()), ports_(dme::DevmapEgress::from(bpf_map__fd(demux_->maps.tx_ports))), mode_(mode)
{
    dme::DevmapEgress::SetOptions opts;
    opts.skip_xmit_check = mode == dme::XdpMode::generic;
    ports_.set(kUplinkPort, uplink, opts);
    auto prog = dme::IngressProgram::from(demux_->progs.nic_demux);
    demux_attachment_ = std::make_unique<dme::XdpAttachment>(dme::XdpAttachment::attach(uplink, prog, mode));
}

VmHost::~VmHost()
{
    vms_.clear();
    demux_attachment_.reset();
    nic_demux__destroy(demux_);
}

int VmHost::mac_to_port_fd() const { return bpf_map__fd(demux_->maps.mac_to_port); }
int VmHost::tx_ports_fd() const { return bpf_map__fd(demux_->maps.tx_ports); }

Vm& VmHost::add_vm(uint32_t port, const dme::Interface& tap, const VmPolicy& policy)
{
    if (port == kUplinkPort)
        dme::fail(EINVAL, "port 0 is the uplink's: give VMs ports from 1");
    if (vms_.count(port))
        dme::fail(EEXIST, "port " + std::to_string(port) + " already has a VM");
    validate(policy);
    std::unique_ptr<Vm> vm(new Vm(*this, port, tap, policy, mode_));
    groups_.add(policy);
    // Every MAC the VM may send as is also where its frames come back to.
    for (const Mac& m : allowed_macs(policy)) {
        MacKey k = mac_key(m);
        check_map(bpf_map_update_elem(mac_to_port_fd(), &k, &port, BPF_ANY), "the demux table");
    }
    return *vms_.emplace(port, std::move(vm)).first->second;
}

void VmHost::drop_macs(uint32_t port, const VmPolicy& old, const VmPolicy* now) noexcept
{
    auto kept = now ? allowed_macs(*now) : std::vector<Mac>{};
    for (const Mac& m : allowed_macs(old)) {
        if (std::find(kept.begin(), kept.end(), m) != kept.end())
            continue;
        MacKey k = mac_key(m);
        uint32_t owner = 0;
        // A MAC that moved to another VM since is that VM's now.
        if (!bpf_map_lookup_elem(mac_to_port_fd(), &k, &owner) && owner == port)
            bpf_map_delete_elem(mac_to_port_fd(), &k);
    }
}

void VmHost::update_vm(uint32_t port, const VmPolicy& policy)
{
    Vm* vm = this->vm(port);
    if (!vm)
        dme::fail(ENOENT, "port " + std::to_string(port) + " has no VM");
    validate(policy);
    const VmPolicy old = vm->policy();
    // Members join before the rules naming them, and leave after.
    groups_.add(policy);
    try {
        vm->replace(*this, policy);
    } catch (...) {
        groups_.remove(policy);
        throw;
    }
    for (const Mac& m : allowed_macs(policy)) {
        MacKey k = mac_key(m);
        check_map(bpf_map_update_elem(mac_to_port_fd(), &k, &port, BPF_ANY), "the demux table");
    }
    drop_macs(port, old, &policy);
    groups_.remove(old);
}

void VmHost::forget_vm(uint32_t port)
{
    auto it = vms_.find(port);
    if (it == vms_.end())
        return;
    drop_macs(port, it->second->policy(), nullptr);
    groups_.remove(it->second->policy());
    vms_.erase(it);
}

void VmHost::remove_vm(uint32_t port)
{
    if (Vm* vm = this->vm(port))
        vm->detach(*this);
    forget_vm(port);
}

Vm* VmHost::vm(uint32_t port)
{
    auto it = vms_.find(port);
    return it == vms_.end() ? nullptr : it->second.get();
}

const Vm* VmHost::vm(uint32_t port) const
{
    auto it = vms_.find(port);
    return it == vms_.end() ? nullptr : it->second.get();
}

namespace {
using Skel = std::unique_ptr<vm_firewall, decltype(&vm_firewall__destroy)>;

// The maps a VM keeps across a policy change: its counters and flows.
struct KeptState {
    int verdicts = -1, ct = -1, frags = -1, ct_stats = -1;
};

// A VM's object, loaded, its policy written.
Skel load_firewall(VmHost& host, const VmPolicy& policy, const KeptState& keep)
{
    Skel skel(vm_firewall__open(), vm_firewall__destroy);
    if (!skel)
        dme::fail(errno, "opening the VM firewall object failed");
    // The guard redirects through the host's maps, not copies of its own.
    if (bpf_map__reuse_fd(skel->maps.tx_ports, host.tx_ports_fd()) ||
        bpf_map__reuse_fd(skel->maps.mac_to_port, host.mac_to_port_fd()) ||
        bpf_map__reuse_fd(skel->maps.vm_sg_members, host.groups().fd()))
        dme::fail(errno, "sharing the host's port and group maps with the VM firewall failed");
    if (bpf_map__set_max_entries(skel->maps.vm_ct, policy.conntrack.max_flows))
        dme::fail(errno, "sizing the VM's flow table failed");
    const std::pair<bpf_map*, int> kept[] = {{skel->maps.verdicts, keep.verdicts},
                                             {skel->maps.vm_ct, keep.ct},
                                             {skel->maps.vm_frags, keep.frags},
                                             {skel->maps.vm_ct_stats, keep.ct_stats}};
    for (auto [map, fd] : kept)
        if (fd >= 0 && bpf_map__reuse_fd(map, fd))
            dme::fail(errno, std::string("keeping the VM's map ") + bpf_map__name(map) + " failed");
    skel->rodata->uplink_port = VmHost::kUplinkPort;
    // The skb build of the guard is for tests and tc-only hosts: verifying
    // it for every VM would only slow attaching a thousand of them.
    bpf_program__set_autoload(skel->progs.vm_guard_tc, false);
    if (int err = vm_firewall__load(skel.get()))
        dme::fail(-err, std::string("loading the VM firewall failed: ") + std::strerror(-err));
    write_policy(PolicyMaps::of(skel->obj), policy, host.groups().ids_for(policy));
    return skel;
}

dme::DevmapEgress::SetOptions slot_options(dme::XdpMode mode)
{
    dme::DevmapEgress::SetOptions opts;
    opts.skip_xmit_check = mode == dme::XdpMode::generic;
    return opts;
}
}  // namespace

Vm::Vm(VmHost& host, uint32_t port, dme::Interface tap, VmPolicy policy, dme::XdpMode mode)
    : port_(port), tap_(std::move(tap)), policy_(std::move(policy)), mode_(mode)
{
    Skel skel = load_firewall(host, policy_, {});
    host.ports().set(port_, tap_, dme::EgressProgram::from(skel->progs.vm_fw_xdp), slot_options(mode_));
    try {
        attach_tc(bpf_program__fd(skel->progs.vm_fw_tc));
        guard_ = std::make_unique<dme::XdpAttachment>(
            dme::XdpAttachment::attach(tap_, dme::IngressProgram::from(skel->progs.vm_guard), mode_));
    } catch (...) {
        detach(host);  // nothing half attached stays behind
        throw;
    }
    adopt(skel.get());
}

void Vm::replace(VmHost& host, const VmPolicy& policy)
{
    // A new table size needs a new table: its flows start over.
    KeptState keep{verdicts_.get(), policy.conntrack.max_flows == policy_.conntrack.max_flows ? ct_.get() : -1,
                   frags_.get(), ct_stats_.get()};
    Skel skel = load_firewall(host, policy, keep);
    const auto opts = slot_options(mode_);
    // To the VM (slot, then tc), then from it; each hook swaps in one step.
    // A hook that refuses puts the ones already swapped back.
    host.ports().set(port_, tap_, dme::EgressProgram::from(skel->progs.vm_fw_xdp), opts);
    try {
        replace_tc(bpf_program__fd(skel->progs.vm_fw_tc));
        try {
            guard_->replace(dme::IngressProgram::from(skel->progs.vm_guard));
        } catch (...) {
            try {
                replace_tc(fw_tc_.get());
            } catch (...) {
            }
            throw;
        }
    } catch (...) {
        try {
            host.ports().set(port_, tap_, dme::EgressProgram::from_fd(fw_xdp_.get()), opts);
        } catch (...) {
        }
        throw;
    }
    policy_ = policy;
    adopt(skel.get());
}

void Vm::adopt(const vm_firewall* skel)
{
    objects_ = {};
    for (auto* p : {skel->progs.vm_fw_xdp, skel->progs.vm_fw_tc, skel->progs.vm_guard}) {
        bpf_prog_info info{};
        uint32_t len = sizeof(info);
        if (!bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
            objects_.prog_ids.push_back(info.id);
    }
    for (auto* m : {skel->maps.vm_identity, skel->maps.vm_macs, skel->maps.vm_owned, skel->maps.vm_owned_prefixes,
                    skel->maps.allow_src4, skel->maps.allow_src6, skel->maps.allow_ports, skel->maps.verdicts,
                    skel->maps.vm_sg_rules, skel->maps.vm_ct, skel->maps.vm_frags, skel->maps.vm_ct_config,
                    skel->maps.vm_ct_stats})
    {
        objects_.map_ids.push_back(map_id(m));
        objects_.map_names.push_back(bpf_map__name(m));
    }
    verdicts_ = dme::Fd::dup(bpf_map__fd(skel->maps.verdicts));
    ct_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_ct));
    frags_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_frags));
    ct_stats_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_ct_stats));
    fw_xdp_ = dme::Fd::dup(bpf_program__fd(skel->progs.vm_fw_xdp));
    fw_tc_ = dme::Fd::dup(bpf_program__fd(skel->progs.vm_fw_tc));
}

Vm::~Vm() { guard_.reset(); }

void Vm::detach(VmHost& host) noexcept
{
    guard_.reset();
    if (tc_handle_) {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(tap_.ifindex()), .attach_point = BPF_TC_EGRESS);
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc_handle_, .priority = tc_priority_);
        bpf_tc_detach(&hook, &opts);
        tc_handle_ = 0;
    }
    host.ports().erase(port_);
}

void Vm::attach_tc(int prog_fd)
{
    // clsact egress: present on every kernel this project supports; the filter
    // and the qdisc go away with the tap.
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(tap_.ifindex()), .attach_point = BPF_TC_EGRESS);
    int err = bpf_tc_hook_create(&hook);
    if (err && err != -EEXIST)
        dme::fail(-err, "creating the clsact qdisc on " + tap_.name() + " failed: " + std::strerror(-err));
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd);
    err = bpf_tc_attach(&hook, &opts);
    if (err)
        dme::fail(-err, "attaching the tc egress firewall to " + tap_.name() + " failed: " + std::strerror(-err));
    tc_handle_ = opts.handle;
    tc_priority_ = opts.priority;
}

void Vm::replace_tc(int prog_fd)
{
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(tap_.ifindex()), .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE, .handle = tc_handle_,
                .priority = tc_priority_);
    if (int err = bpf_tc_attach(&hook, &opts))
        dme::fail(-err, "replacing the tc egress firewall on " + tap_.name() + " failed: " + std::strerror(-err));
}

ConntrackStats Vm::conntrack() const { return read_conntrack(ct_.get(), ct_stats_.get()); }

ReasonTraffic Vm::traffic(vm_path path) const
{
    int ncpu = libbpf_num_possible_cpus();
    std::vector<vm_count> per_cpu(ncpu);
    ReasonTraffic out{};
    for (uint32_t r = 0; r < VM_REASONS; r++) {
        uint32_t key = uint32_t(path) * VM_REASONS + r;
        if (bpf_map_lookup_elem(verdicts_.get(), &key, per_cpu.data()))
            dme::fail(errno, "reading the verdict counters failed");
        for (const auto& c : per_cpu) {
            out[r].packets += c.packets;
            out[r].bytes += c.bytes;
        }
    }
    return out;
}

ReasonCounts Vm::counts(vm_path path) const
{
    ReasonCounts out{};
    auto t = traffic(path);
    for (uint32_t r = 0; r < VM_REASONS; r++)
        out[r] = t[r].packets;
    return out;
}

}  // namespace vmhost
