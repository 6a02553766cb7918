// The VM host of the thread's use case: a dumb demuxer on the NIC, one
// devmap slot per VM tap whose egress program is that VM's firewall, the same
// policy on the tap's skb path (tc), and an anti-spoofing guard on the tap's
// ingress. Everything of a VM lives in its own BPF object and goes away with
// its tap.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <devmap_egress/devmap_egress.hpp>

#include "conntrack_stats.hpp"
#include "group_members.hpp"
#include "pinned_state.hpp"
#include "policy.hpp"
#include "slot_mode.hpp"
#include "vm_policy_types.h"

struct vm_firewall;
struct vm_fw_shared;

namespace vmhost {

// Per-reason counters of one path (vm_path) of one VM: packets, and
// packets with bytes.
using ReasonCounts = std::array<uint64_t, VM_REASONS>;
using ReasonTraffic = std::array<vm_count, VM_REASONS>;

// What a VM owns in the kernel, by id: to show it all gone after the tap is.
struct VmObjects {
    std::vector<uint32_t> prog_ids;
    std::vector<uint32_t> map_ids;
    std::vector<std::string> map_names;  // the object's names, beside map_ids
};

class Vm {
public:
    // How the VM's programs came to be on its tap.
    enum class Origin {
        attached,  // loaded and attached here
        adopted,   // a previous daemon's, left pinned, found right: nothing changed
        repaired,  // a previous daemon's, with a stale policy or program, or a hook missing: swapped or attached
    };
    ~Vm();
    Vm(const Vm&) = delete;
    Vm& operator=(const Vm&) = delete;

    uint32_t port() const noexcept { return port_; }
    const dme::Interface& tap() const noexcept { return tap_; }
    const VmPolicy& policy() const noexcept { return policy_; }
    ReasonCounts counts(vm_path path) const;
    ReasonTraffic traffic(vm_path path) const;
    ConntrackStats conntrack() const;
    const VmObjects& objects() const noexcept { return objects_; }
    Origin origin() const noexcept { return origin_; }

private:
    friend class VmHost;
    Vm(class VmHost& host, uint32_t port, std::string name, dme::Interface tap, VmPolicy policy, dme::XdpMode mode);
    // Takes over what a previous daemon left for this VM on this tap
    // (`rec`, and the pins of its slot key), changing only what is not as
    // `policy` and this build's programs want it.
    void adopt_pinned(VmHost& host, const VmRecord& rec);
    void attach_fresh(VmHost& host);
    // Pins what a next daemon needs to adopt the VM: its programs, the
    // maps of `skel` (the object they came from), and its record.
    void pin(VmHost& host, const vm_firewall* skel) const;
    // A new object with `policy` takes the place of the running one at each
    // hook in one step (slot, tc filter, guard), keeping the VM's counters
    // and tracked flows: each frame meets the old policy or the new.
    void replace(VmHost& host, const VmPolicy& policy);
    // Takes the VM's programs off its tap, which stays.
    void detach(VmHost& host) noexcept;
    void attach_tc(int prog_fd);
    // The guard on the tap: in the hold's place if the tap is held.
    std::unique_ptr<dme::XdpAttachment> attach_guard(VmHost& host, const dme::IngressProgram& prog);
    void replace_tc(int prog_fd);
    void adopt(VmHost& host, const vm_firewall* skel);
    // The VM's slot: its own vm_fw_xdp (per-VM), or its maps at `index` of
    // the shared program's outer maps, its device pointed there, and the
    // slot inheriting the shared program.
    void enter_slot(VmHost& host, const vm_firewall* skel, uint32_t index);

    uint32_t port_;
    std::string name_;
    dme::Interface tap_;
    VmPolicy policy_;
    dme::XdpMode mode_;
    VmObjects objects_;
    // Only what the control plane reads later, and the programs in place so
    // a failed replace can put them back: the kernel holds the rest (slot,
    // tc filter, XDP attachment), so a thousand VMs cost few fds here.
    dme::Fd verdicts_, ct4_, ct6_, frags_, ct_stats_;
    dme::Fd fw_xdp_, fw_tc_, fw_guard_;
    uint32_t tc_handle_ = 0, tc_priority_ = 0;
    // Shared slots: the VM's index in the shared program's outer maps (two
    // per slot key, port * 2 and port * 2 + 1: a new policy's maps go in at
    // the other and are switched to in one step).
    uint32_t shared_index_ = 0;
    std::unique_ptr<dme::XdpAttachment> guard_;
    Origin origin_ = Origin::attached;
};

class VmHost {
public:
    // The uplink takes slot key 0 of the port map; VMs use keys from 1.
    static constexpr uint32_t kUplinkPort = 0;

    // With a state directory (PinnedState), the host's program and maps and
    // each VM's are pinned there, and what a previous host left there is
    // taken over: the NIC demux stays attached if it is this build's. Without
    // one, nothing is pinned.
    // `slots`: what runs in the VMs' slots (slot_mode.hpp); automatic
    // resolves to shared where the kernel has map-wide default programs and
    // the state directory holds no per-VM datapath. Throws dme::Error when
    // shared is asked of a kernel without them, or when the state
    // directory's datapath is of the other kind (a teardown changes it).
    VmHost(const dme::Interface& uplink, dme::XdpMode mode = dme::XdpMode::native, const std::string& state_dir = {},
           SlotPrograms slots = SlotPrograms::per_vm);
    // Detaches everything and removes the pins, unless release() was called.
    ~VmHost();
    VmHost(const VmHost&) = delete;
    VmHost& operator=(const VmHost&) = delete;

    // A VM's policy on its tap, in slot `port`. A VM a previous host left
    // pinned in this slot on this tap is adopted (Vm::origin()).
    Vm& add_vm(uint32_t port, const dme::Interface& tap, const VmPolicy& policy, const std::string& name = {});
    // A VM's new policy, in place (Vm::replace): its groups, MACs in the
    // demux table and programs follow. Throws dme::Error, the VM left as it
    // was, if the new policy cannot be enforced.
    void update_vm(uint32_t port, const VmPolicy& policy);
    // Forget a VM whose tap is gone: its demux entry is the host's own data.
    void forget_vm(uint32_t port);
    // A VM no longer configured whose tap stays: its programs come off too.
    void remove_vm(uint32_t port);
    // What a previous host left pinned, by slot key.
    std::map<uint32_t, VmRecord> pinned_vms() const { return pins_.records(); }
    bool demux_adopted() const noexcept { return demux_adopted_; }
    // Takes a pinned VM's programs off its tap where they still are, and
    // its pins away: a VM gone from the configuration while no daemon ran.
    void discard_pinned(uint32_t port) noexcept;
    // After the VMs of the configuration are added: what a previous host
    // left and no VM here owns goes (records, slots, demux MACs, group
    // members). The slot keys in `keep` keep theirs: VMs whose taps are
    // there but whose adoption failed stay guarded by what they had, rather
    // than open. Returns how many entries went.
    size_t prune(const std::set<uint32_t>& keep = {}) noexcept;
    // A VM a previous host left pinned whose tap is there but whose
    // adoption failed before anything was swapped: its programs stay in
    // force as they were (guard, slot, tc twin), and with them what they
    // rely on in the host's maps: its MACs in the demux table and its
    // addresses' group memberships (the members in the shared map whose
    // address its pinned vm_owned holds, which is what its guard lets it
    // send from). Called by prune() for the ports in `keep`. The VM keeps
    // them until add_vm() succeeds for it (its new policy's take their
    // place) or takes its programs off (the retry failed after swapping),
    // or discard_kept(). How many group members it keeps; none if nothing
    // of it is pinned (it was held, not kept).
    std::optional<size_t> keep_pinned(uint32_t port) noexcept;
    bool kept(uint32_t port) const noexcept { return kept_.count(port) > 0; }
    // A kept VM whose tap went or that is no longer configured: its
    // programs come off where they are still ours, its pins, MACs and
    // group memberships go.
    void discard_kept(uint32_t port) noexcept;
    // Holds a tap just seen for a VM: a program that drops every frame the
    // VM sends, attached in microseconds, until its guard (loaded and
    // verified meanwhile, tens of milliseconds) takes its place in one step.
    // So a VM is never unguarded for the time its policy takes, nor while
    // it waits in a burst. False if the tap carries a program already (a
    // pinned guard, or another's), which stays.
    bool hold(uint32_t ifindex) noexcept;
    // Takes the hold off a tap whose VM will not be enforced there (or one a
    // previous host held for a VM no longer configured), where the hold is
    // what it carries.
    void unhold(uint32_t ifindex) noexcept;
    // Lets go of the datapath without detaching it: it keeps enforcing the
    // policies in force, pinned, for the next host to adopt.
    void release() noexcept;
    PinnedState& pins() noexcept { return pins_; }
    Vm* vm(uint32_t port);
    const Vm* vm(uint32_t port) const;
    dme::DevmapEgress& ports() noexcept { return ports_; }
    int mac_to_port_fd() const;
    int tx_ports_fd() const;
    GroupMembers& groups() noexcept { return groups_; }

    // Whether the VMs' slots inherit the shared program (the map-wide
    // default), and why the mode is what it is (for the log).
    bool shared_slots() const noexcept { return shared_ != nullptr; }
    const std::string& slot_mode_note() const noexcept { return slot_note_; }
    // The shared program's id (0 when per-VM), and its drops before any
    // VM's policy (vm_shared_stat: an unknown device, a VM half there).
    uint32_t shared_prog_id() const;
    uint64_t shared_drops(uint32_t which) const;
    class SharedSlot;
    SharedSlot* shared() noexcept { return shared_.get(); }

private:
    // Takes out of the demux table the MACs of `old` that `now` lacks (all
    // when null), unless another VM has taken them since.
    void drop_macs(uint32_t port, const VmPolicy& old, const VmPolicy* now) noexcept;
    // A kept VM's MACs and memberships go, but for what `now` (its new
    // policy, enforced) has.
    void release_kept(uint32_t port, const VmPolicy* now) noexcept;
    // Takes out of the demux table the MACs that lead to `port`, but `keep`.
    void drop_port_macs(uint32_t port, const std::vector<Mac>& keep) noexcept;

    friend class Vm;
    // The kernel's tags of this build's firewall programs, to tell whether
    // pinned ones are this build's: loaded once, when first needed.
    struct Tags {
        std::array<uint8_t, 8> fw_xdp, fw_tc, guard;  // BPF_TAG_SIZE
        std::vector<std::array<uint32_t, 3>> maps;    // each map's type, key and value size, in kVmMaps' order
    };
    const Tags& firewall_tags();
    std::unique_ptr<Tags> tags_;

    struct Demux {
        dme::Fd prog, tx_ports, mac_to_port;
    };
    // tx_ports: the host devmap to take (shared slots: made with the default
    // program), or -1 for the pinned one or the object's own.
    static Demux load_demux(const PinnedState& pins, int tx_ports);
    void attach_demux(const dme::Interface& uplink);

    PinnedState pins_;
    std::string slot_note_;
    bool want_shared_;            // resolved from SlotPrograms before anything is loaded
    GroupMembers groups_;
    std::unique_ptr<SharedSlot> shared_;
    dme::Fd hold_;                // XDP_DROP, pinned: the next host takes over what this one held
    std::set<uint32_t> held_;     // taps held, not yet guarded
    Demux demux_;
    dme::DevmapEgress ports_;
    std::unique_ptr<dme::XdpAttachment> demux_attachment_;
    bool demux_adopted_ = false, released_ = false;
    dme::XdpMode mode_;
    std::map<uint32_t, std::unique_ptr<Vm>> vms_;
    std::map<uint32_t, std::vector<vm_sg_member>> kept_;  // keep_pinned(): the members each kept VM holds
};

}  // namespace vmhost
