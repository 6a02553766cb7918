#include "vm_host.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>
#include <linux/if_link.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <iterator>
#include <string_view>
#include <utility>
#include <vector>

#include <bpf_ext/default_prog.h>
#include <bpf_ext/probe.h>

#include "nic_demux.skel.h"
#include "policy_maps.hpp"
#include "tc_query.hpp"
#include "vm_firewall.skel.h"
#include "vm_fw_shared.skel.h"
#include "vm_shared_types.h"

namespace vmhost {

bool kernel_has_default_progs()
{
    static const bool has = [] {
        bpfext_features f{};
        f.sz = sizeof(f);
        return !bpfext_probe(&f) && f.default_prog == BPFEXT_SUPPORTED;
    }();
    return has;
}

namespace {
void check_map(int err, const char* what)
{
    if (err)
        dme::fail(errno, std::string("writing ") + what + ": " + std::strerror(errno));
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

bpf_prog_info prog_info(int fd)
{
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
        return {};
    return info;
}

uint32_t prog_id(int fd) { return prog_info(fd).id; }

// The same program text: the kernel's tag hashes the instructions with the
// maps' addresses left out, so two loads of one object have one tag.
bool same_code(int a, int b)
{
    bpf_prog_info x = prog_info(a), y = prog_info(b);
    return x.id && y.id && std::memcmp(x.tag, y.tag, sizeof(x.tag)) == 0;
}

// A devmap slot as read: a map with a default program has 12-byte values
// (BPFEXT_SLOT_VALUE_EXT_SIZE), the slot's flags after bpf_devmap_val; an
// 8-byte map fills the first two.
struct SlotValue {
    uint32_t ifindex = 0, prog_id = 0, flags = 0;
};

bool read_slot(int devmap_fd, uint32_t key, SlotValue& v)
{
    v = {};
    return bpf_map_lookup_elem(devmap_fd, &key, &v) == 0;
}

// The program a devmap slot holds for `ifindex`, by id (0: none, or another
// device); a slot that inherits the map's default program: 0.
uint32_t slot_prog(int devmap_fd, uint32_t key, uint32_t ifindex)
{
    SlotValue v;
    if (!read_slot(devmap_fd, key, v) || v.ifindex != ifindex || (v.flags & BPFEXT_SLOT_INHERITED))
        return 0;
    return v.prog_id;
}

// Whether the slot is `ifindex`'s and runs the map's default program.
bool slot_inherits(int devmap_fd, uint32_t key, uint32_t ifindex)
{
    SlotValue v;
    return read_slot(devmap_fd, key, v) && v.ifindex == ifindex && (v.flags & BPFEXT_SLOT_INHERITED);
}

// The hold: two instructions, r0 = XDP_DROP; exit. The pinned one when a
// previous host left it (taps it held still carry it), else loaded.
dme::Fd load_hold(const PinnedState& pins)
{
    if (dme::Fd pinned = pins.open("hold")) {
        bpf_prog_info info = prog_info(pinned.get());
        if (info.type == BPF_PROG_TYPE_XDP)
            return pinned;
    }
    const bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = XDP_DROP},
        {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
    };
    dme::Fd fd(bpf_prog_load(BPF_PROG_TYPE_XDP, "vmhost_hold", "Dual BSD/GPL", insns, 2, nullptr));
    if (!fd)
        dme::fail(errno, std::string("loading the tap hold program failed: ") + std::strerror(errno));
    return fd;
}

uint32_t xdp_flags(dme::XdpMode mode)
{
    return mode == dme::XdpMode::generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}
// A VM's maps, by the object's names: pinned under vm<KEY>/ by these names
// and shown in this order.
constexpr std::string_view kVmMaps[] = {"vm_identity", "vm_macs",     "vm_owned",    "vm_owned_prefixes", "allow_src4",
                                        "allow_src6",  "allow_ports", "verdicts",    "vm_sg_rules",       "vm_ct4",
                                        "vm_ct6",      "vm_frags",    "vm_ct_config", "vm_ct_stats"};
constexpr size_t kVmMapCount = std::size(kVmMaps);
using VmMapFds = std::array<dme::Fd, kVmMapCount>;

// A map's place in kVmMaps, at compile time (a misspelt name does not build).
consteval size_t vm_map(std::string_view name)
{
    for (size_t i = 0; i < kVmMapCount; i++)
        if (kVmMaps[i] == name)
            return i;
    throw "not one of kVmMaps";
}


uint32_t map_id(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id : 0;
}

// What a state directory's datapath is: none pinned, per-VM (its devmap
// has 8-byte values, no default program) or shared.
enum class PinnedKind { none, per_vm, shared };

PinnedKind pinned_kind(const PinnedState& pins)
{
    dme::Fd tx = pins.open("tx_ports");
    if (!tx)
        return PinnedKind::none;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(tx.get(), &info, &len))
        return PinnedKind::none;
    return info.value_size == BPFEXT_SLOT_VALUE_EXT_SIZE && pins.open("shared/fw") ? PinnedKind::shared
                                                                                    : PinnedKind::per_vm;
}

// Whether the VMs' slots are to inherit the shared program; `note` says why.
bool resolve_slots(const PinnedState& pins, SlotPrograms want, std::string& note)
{
    const PinnedKind pinned = pinned_kind(pins);
    const bool kernel = want == SlotPrograms::per_vm ? false : kernel_has_default_progs();
    if (want == SlotPrograms::per_vm) {
        if (pinned == PinnedKind::shared)
            dme::fail(EINVAL, "host.slot_programs = \"per-vm\", but " + pins.dir() +
                                  " holds a datapath whose VMs share the slot program: 'vmhostd teardown' first "
                                  "(the VMs' policies are off meanwhile), or slot_programs = \"auto\"");
        note = "per-VM (host.slot_programs = \"per-vm\")";
        return false;
    }
    if (want == SlotPrograms::shared) {
        if (!kernel)
            dme::fail(EOPNOTSUPP,
                      "host.slot_programs = \"shared\" needs map-wide default programs, which this kernel does not "
                      "have: they come with the project's patched kernel (kernel-patches/); use \"auto\" (shared "
                      "where the kernel has them, per-VM elsewhere) or \"per-vm\"");
        if (pinned == PinnedKind::per_vm)
            dme::fail(EINVAL, "host.slot_programs = \"shared\", but " + pins.dir() +
                                  " holds a per-VM datapath (its devmap has no default program): 'vmhostd teardown' "
                                  "first, or slot_programs = \"auto\"");
        note = "shared (host.slot_programs = \"shared\")";
        return true;
    }
    if (!kernel) {
        note = "per-VM (host.slot_programs = \"auto\": this kernel has no map-wide default programs)";
        return false;
    }
    if (pinned == PinnedKind::per_vm) {
        note = "per-VM (host.slot_programs = \"auto\": " + pins.dir() +
               " holds a per-VM datapath, kept; 'vmhostd teardown' and a start make it shared)";
        return false;
    }
    note = "shared (host.slot_programs = \"auto\", the kernel has map-wide default programs)";
    return true;
}
}  // namespace

// The shared slot firewall (bpf/vm_fw_shared.bpf.c): its program, the host
// devmap whose default it is, and its outer maps, in which each VM's own
// maps are put by the VM's index (Vm::shared_index_), and vm_slot_index,
// the tap's ifindex -> that index. Pinned under DIR/shared/ (fw, tx_ports
// is the host's, vm_slot_index, vm_shared_stats, and the outer maps by the
// VM maps' names): a next host loads its program on the same outer maps,
// so the VMs' entries carry on, and swaps it in with one call where it is
// not this build's.
class VmHost::SharedSlot {
public:
    SharedSlot(const PinnedState& pins, int sg_members_fd) : skel_(vm_fw_shared__open(), vm_fw_shared__destroy)
    {
        if (!skel_)
            dme::fail(errno, "opening the shared slot firewall object failed");
        if (bpf_map__reuse_fd(skel_->maps.vm_sg_members, sg_members_fd))
            dme::fail(errno, "sharing the host's group map with the shared slot firewall failed");
        bool all = true;
        for (auto [map, name] : own_maps()) {
            dme::Fd fd = pins.open(pin_name(name));
            all = all && fd;
            if (fd && bpf_map__reuse_fd(map, fd.get()))
                dme::fail(errno, "taking over the pinned map " + pins.dir() + "/" + pin_name(name) + " failed: " +
                                     std::strerror(errno) + " (an incompatible version's? vmhostd teardown)");
        }
        if (int err = vm_fw_shared__load(skel_.get()))
            dme::fail(-err, std::string("loading the shared slot firewall failed: ") + std::strerror(-err));
        prog_ = dme::Fd::dup(bpf_program__fd(skel_->progs.vm_fw_shared));
        dme::Fd tx = pins.open("tx_ports");
        if (tx) {
            // A previous host's devmap: its default is kept if it is this
            // build's program, else this one replaces it in one call.
            dme::Fd old = pins.open("shared/fw");
            uint32_t current = 0;
            bpfext_map_get_default_prog(tx.get(), &current);
            if (old && current == prog_id(old.get()) && same_code(old.get(), prog_.get())) {
                prog_ = std::move(old);
                adopted_ = true;
            } else if (int err = bpfext_map_set_default_prog(tx.get(), prog_.get())) {
                dme::fail(-err, "swapping the shared slot firewall in as " + pins.dir() +
                                    "/tx_ports's default program failed: " + std::strerror(-err));
            } else {
                swapped_ = current != 0;
            }
            tx_ports_ = std::move(tx);
        } else {
            auto ports = dme::DevmapEgress::create_hash("tx_ports", VM_SHARED_MAX_VMS,
                                                        dme::EgressProgram::from_fd(prog_.get()));
            tx_ports_ = dme::Fd::dup(ports.fd());
        }
        index_ = dme::Fd::dup(bpf_map__fd(skel_->maps.vm_slot_index));
        stats_ = dme::Fd::dup(bpf_map__fd(skel_->maps.vm_shared_stats));
        for (size_t i = 0; i < kVmMapCount; i++)
            outer_[i] = dme::Fd::dup(
                bpf_map__fd(bpf_object__find_map_by_name(skel_->obj, std::string(kVmMaps[i]).c_str())));
        skel_.reset();  // the program and the maps live on by the fds kept
        (void)all;
    }

    int tx_ports() const noexcept { return tx_ports_.get(); }
    int prog_fd() const noexcept { return prog_.get(); }
    bool adopted() const noexcept { return adopted_; }
    bool swapped() const noexcept { return swapped_; }

    void pin(const PinnedState& pins) const
    {
        if (!pins.enabled())
            return;
        pins.make_dir("shared");
        pins.pin(prog_.get(), "shared/fw");
        pins.pin(index_.get(), pin_name("vm_slot_index"));
        pins.pin(stats_.get(), pin_name("vm_shared_stats"));
        for (size_t i = 0; i < kVmMapCount; i++)
            pins.pin(outer_[i].get(), pin_name(kVmMaps[i]));
    }

    // A VM's maps (kVmMaps' order) at `index`, each in one step.
    void put(uint32_t index, const std::array<int, kVmMapCount>& maps)
    {
        for (size_t i = 0; i < kVmMapCount; i++) {
            int fd = maps[i];
            if (bpf_map_update_elem(outer_[i].get(), &index, &fd, BPF_ANY))
                dme::fail(errno, "putting the VM's map " + std::string(kVmMaps[i]) +
                                     " into the shared slot firewall's outer map failed: " + std::strerror(errno));
        }
    }
    // Frames for `ifindex` are judged with the maps at `index` from now on.
    void point(uint32_t ifindex, uint32_t index)
    {
        if (bpf_map_update_elem(index_.get(), &ifindex, &index, BPF_ANY))
            dme::fail(errno, "pointing the shared slot firewall at the VM's maps failed: " + std::string(std::strerror(errno)));
    }
    std::optional<uint32_t> index_of(uint32_t ifindex) const
    {
        uint32_t index = 0;
        if (bpf_map_lookup_elem(index_.get(), &ifindex, &index))
            return std::nullopt;
        return index;
    }
    // Whether the entries at `index` are exactly `maps`, by id.
    bool holds(uint32_t index, const std::array<int, kVmMapCount>& maps) const
    {
        for (size_t i = 0; i < kVmMapCount; i++) {
            uint32_t id = 0;
            if (bpf_map_lookup_elem(outer_[i].get(), &index, &id) || !id || id != map_id(maps[i]))
                return false;
        }
        return true;
    }
    // The VM in slot `port` leaves: its device's index first (frames for
    // it are dropped from then on), then its maps at both its indexes,
    // which the outer maps would otherwise keep alive.
    void leave(uint32_t port, uint32_t ifindex) noexcept
    {
        if (auto index = index_of(ifindex); index && *index / 2 == port)
            bpf_map_delete_elem(index_.get(), &ifindex);
        for (uint32_t index : {port * 2, port * 2 + 1})
            for (size_t i = 0; i < kVmMapCount; i++)
                bpf_map_delete_elem(outer_[i].get(), &index);
    }
    // Entries of VMs not `here` (by slot key): device indexes and maps.
    template <class Here> size_t prune(const Here& here) noexcept
    {
        size_t n = 0;
        uint32_t key = 0, next = 0, index = 0;
        const void* prev = nullptr;
        std::vector<std::pair<uint32_t, uint32_t>> gone;  // ifindex, port
        while (!bpf_map_get_next_key(index_.get(), prev, &next)) {
            if (!bpf_map_lookup_elem(index_.get(), &next, &index) && !here(index / 2))
                gone.emplace_back(next, index / 2);
            key = next;
            prev = &key;
        }
        for (auto [ifindex, port] : gone) {
            leave(port, ifindex);
            n++;
        }
        // Maps at indexes no device points to: of VMs gone while they were
        // being added (a crash), and of those above.
        std::vector<uint32_t> stale;
        for (uint32_t i = 0; i < VM_SHARED_MAX_VMS * 2; i++) {
            uint32_t id = 0;
            if (!bpf_map_lookup_elem(outer_[0].get(), &i, &id) && !here(i / 2))
                stale.push_back(i);
        }
        for (uint32_t i : stale) {
            for (size_t m = 0; m < kVmMapCount; m++)
                bpf_map_delete_elem(outer_[m].get(), &i);
            n++;
        }
        return n;
    }
    uint32_t id() const { return prog_id(prog_.get()); }
    uint64_t drops(uint32_t which) const
    {
        std::vector<uint64_t> per_cpu(libbpf_num_possible_cpus());
        if (bpf_map_lookup_elem(stats_.get(), &which, per_cpu.data()))
            return 0;
        uint64_t n = 0;
        for (uint64_t c : per_cpu)
            n += c;
        return n;
    }

private:
    static std::string pin_name(std::string_view map) { return "shared/" + std::string(map); }
    std::vector<std::pair<bpf_map*, std::string_view>> own_maps() const
    {
        std::vector<std::pair<bpf_map*, std::string_view>> v = {{skel_->maps.vm_slot_index, "vm_slot_index"},
                                                                {skel_->maps.vm_shared_stats, "vm_shared_stats"}};
        for (auto name : kVmMaps)
            v.emplace_back(bpf_object__find_map_by_name(skel_->obj, std::string(name).c_str()), name);
        return v;
    }

    std::unique_ptr<vm_fw_shared, decltype(&vm_fw_shared__destroy)> skel_;
    dme::Fd prog_, tx_ports_, index_, stats_;
    std::array<dme::Fd, kVmMapCount> outer_;
    bool adopted_ = false, swapped_ = false;
};

uint32_t VmHost::shared_prog_id() const { return shared_ ? shared_->id() : 0; }
uint64_t VmHost::shared_drops(uint32_t which) const { return shared_ ? shared_->drops(which) : 0; }

bool VmHost::hold(uint32_t ifindex) noexcept
{
    if (bpf_xdp_attach(int(ifindex), hold_.get(), XDP_FLAGS_UPDATE_IF_NOEXIST | xdp_flags(mode_), nullptr))
        return false;
    held_.insert(ifindex);
    return true;
}

void VmHost::unhold(uint32_t ifindex) noexcept
{
    held_.erase(ifindex);
    // Only if the hold is what the tap carries (the kernel checks).
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = hold_.get());
    bpf_xdp_attach(int(ifindex), -1, XDP_FLAGS_REPLACE | xdp_flags(mode_), &opts);
}

VmHost::Demux VmHost::load_demux(const PinnedState& pins, int tx_ports)
{
    using Skel = std::unique_ptr<nic_demux, decltype(&nic_demux__destroy)>;
    Skel s(nic_demux__open(), nic_demux__destroy);
    if (!s)
        dme::fail(errno, std::string("opening the NIC demux object failed: ") + std::strerror(errno));
    // A previous host's maps carry on: its slots hold the VMs' programs.
    dme::Fd tx = tx_ports >= 0 ? dme::Fd::dup(tx_ports) : pins.open("tx_ports"), macs = pins.open("mac_to_port");
    if ((tx && bpf_map__reuse_fd(s->maps.tx_ports, tx.get())) ||
        (macs && bpf_map__reuse_fd(s->maps.mac_to_port, macs.get())))
        dme::fail(errno, "taking over the pinned maps in " + pins.dir() + " failed: " + std::strerror(errno) +
                             " (an incompatible version's? vmhostd teardown, or remove the directory)");
    if (int err = nic_demux__load(s.get()))
        dme::fail(-err, std::string("loading the NIC demux program failed: ") + std::strerror(-err));
    return {dme::Fd::dup(bpf_program__fd(s->progs.nic_demux)), dme::Fd::dup(bpf_map__fd(s->maps.tx_ports)),
            dme::Fd::dup(bpf_map__fd(s->maps.mac_to_port))};
}

VmHost::VmHost(const dme::Interface& uplink, dme::XdpMode mode, const std::string& state_dir, SlotPrograms slots)
    : pins_(state_dir),
      want_shared_(resolve_slots(pins_, slots, slot_note_)),
      groups_(pins_.open("sg_members"), pins_.group_ids_fd()),
      shared_(want_shared_ ? std::make_unique<SharedSlot>(pins_, groups_.fd()) : nullptr),
      hold_(load_hold(pins_)),
      demux_(load_demux(pins_, shared_ ? shared_->tx_ports() : -1)),
      ports_(dme::DevmapEgress::from(demux_.tx_ports.get())),
      mode_(mode)
{
    dme::DevmapEgress::SetOptions opts;
    opts.skip_xmit_check = mode == dme::XdpMode::generic;
    // The uplink's slot runs nothing, not even the map's default: frames
    // the guards send out go as they are.
    opts.no_default = shared_ != nullptr;
    ports_.set(kUplinkPort, uplink, opts);
    if (shared_)
        slot_note_ += ": program id " + std::to_string(shared_->id()) +
                      (shared_->adopted()   ? ", the previous daemon's, kept as the devmap's default"
                       : shared_->swapped() ? ", swapped in as the devmap's default in one call (a new build's)"
                                            : ", the new devmap's default");
    attach_demux(uplink);
    try {
        pins_.pin(demux_.prog.get(), "nic_demux");
        pins_.pin(demux_.tx_ports.get(), "tx_ports");
        pins_.pin(demux_.mac_to_port.get(), "mac_to_port");
        pins_.pin(groups_.fd(), "sg_members");
        pins_.pin(hold_.get(), "hold");
        if (shared_)
            shared_->pin(pins_);
    } catch (...) {
        if (!demux_adopted_)
            demux_attachment_.reset();
        throw;
    }
    pins_.keep();
}

void VmHost::attach_demux(const dme::Interface& uplink)
{
    dme::Fd pinned = pins_.open("nic_demux");
    auto fresh = dme::IngressProgram::from_fd(demux_.prog.get());
    if (pinned) {
        // The previous host's demux, if it is still on the uplink: kept when
        // it is this build's, else swapped in one step.
        std::unique_ptr<dme::XdpAttachment> old;
        try {
            old = std::make_unique<dme::XdpAttachment>(
                dme::XdpAttachment::adopt(uplink, dme::IngressProgram::from_fd(pinned.get()), mode_));
        } catch (const dme::Error&) {
        }
        if (old) {
            demux_adopted_ = true;
            if (same_code(pinned.get(), demux_.prog.get()))
                demux_.prog = std::move(pinned);
            else
                old->replace(fresh);
            demux_attachment_ = std::move(old);
            return;
        }
    }
    demux_attachment_ = std::make_unique<dme::XdpAttachment>(dme::XdpAttachment::attach(uplink, fresh, mode_));
}

VmHost::~VmHost()
{
    if (released_) {
        vms_.clear();
        return;
    }
    for (auto& [port, vm] : vms_)
        vm->detach(*this);
    vms_.clear();
    for (uint32_t ifindex : std::set<uint32_t>(held_))
        unhold(ifindex);
    for (const auto& [port, rec] : pins_.records())
        discard_pinned(port);
    demux_attachment_.reset();
    pins_.remove_all();
}

void VmHost::release() noexcept
{
    released_ = true;
    if (demux_attachment_)
        demux_attachment_->release();
    for (auto& [port, vm] : vms_)
        if (vm->guard_)
            vm->guard_->release();
}

int VmHost::mac_to_port_fd() const { return demux_.mac_to_port.get(); }
int VmHost::tx_ports_fd() const { return demux_.tx_ports.get(); }

Vm& VmHost::add_vm(uint32_t port, const dme::Interface& tap, const VmPolicy& policy, const std::string& name)
{
    if (port == kUplinkPort)
        dme::fail(EINVAL, "port 0 is the uplink's: give VMs ports from 1");
    if (vms_.count(port))
        dme::fail(EEXIST, "port " + std::to_string(port) + " already has a VM");
    validate(policy);
    std::unique_ptr<Vm> vm;
    try {
        vm.reset(new Vm(*this, port, name.empty() ? "vm" + std::to_string(port) : name, tap, policy, mode_));
    } catch (...) {
        // A VM kept as a previous host left it stays kept if nothing was
        // swapped; if the retry got that far its programs are off (the tap
        // is held) and its pins gone: nothing of it is in force any more.
        if (kept_.count(port) && !pins_.record(port))
            release_kept(port, nullptr);
        throw;
    }
    try {
        groups_.add(policy);
        try {
            // Every MAC the VM may send as is also where its frames come back to.
            for (const Mac& m : allowed_macs(policy)) {
                MacKey k = mac_key(m);
                check_map(bpf_map_update_elem(mac_to_port_fd(), &k, &port, BPF_ANY), "the demux table");
            }
        } catch (...) {
            groups_.remove(policy);
            throw;
        }
    } catch (...) {
        // Its programs off (a Vm destroyed without this would leave its
        // slot and tc twin and take only its guard off: open), the VM held.
        vm->detach(*this);
        hold(tap.ifindex());
        release_kept(port, nullptr);
        drop_port_macs(port, {});
        throw;
    }
    // A VM kept as a previous host left it: its new policy's MACs and
    // memberships are in, the old ones it no longer has go.
    release_kept(port, &policy);
    return *vms_.emplace(port, std::move(vm)).first->second;
}

std::optional<size_t> VmHost::keep_pinned(uint32_t port) noexcept
{
    if (auto it = kept_.find(port); it != kept_.end())
        return it->second.size();
    if (vms_.count(port) || !pins_.record(port))
        return std::nullopt;
    // The addresses its guard lets it send from: the pinned vm_owned, filed
    // under each of its MACs and the all-zero MAC (policy_maps.cpp).
    using Addr = std::pair<uint8_t, std::array<uint8_t, 16>>;
    std::set<Addr> addrs;
    try {
        dme::Fd owned = pins_.open(PinnedState::vm_pin(port, "vm_owned"));
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (owned && !bpf_obj_get_info_by_fd(owned.get(), &info, &len) && info.key_size == sizeof(vm_owned)) {
            vm_owned key{}, next{};
            const void* prev = nullptr;
            while (!bpf_map_get_next_key(owned.get(), prev, &next)) {
                Addr a{next.family, {}};
                std::memcpy(a.second.data(), next.addr, sizeof(next.addr));
                addrs.insert(a);
                key = next;
                prev = &key;
            }
        }
    } catch (const dme::Error&) {
    }
    kept_[port] = groups_.hold_existing([&](const vm_sg_member& m) {
        Addr a{m.family, {}};
        std::memcpy(a.second.data(), m.addr, sizeof(m.addr));
        return addrs.count(a) > 0;
    });
    return kept_[port].size();
}

void VmHost::drop_port_macs(uint32_t port, const std::vector<Mac>& keep) noexcept
{
    std::vector<MacKey> macs;
    MacKey key{}, next{};
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(mac_to_port_fd(), prev, &next)) {
        uint32_t owner = 0;
        if (!bpf_map_lookup_elem(mac_to_port_fd(), &next, &owner) && owner == port &&
            std::none_of(keep.begin(), keep.end(), [&](const Mac& m) { return std::memcmp(m.b.data(), next.mac, 6) == 0; }))
            macs.push_back(next);
        key = next;
        prev = &key;
    }
    for (const auto& m : macs)
        bpf_map_delete_elem(mac_to_port_fd(), &m);
}

void VmHost::release_kept(uint32_t port, const VmPolicy* now) noexcept
{
    auto it = kept_.find(port);
    if (it == kept_.end())
        return;
    groups_.release(it->second);
    kept_.erase(it);
    drop_port_macs(port, now ? allowed_macs(*now) : std::vector<Mac>{});
}

void VmHost::discard_kept(uint32_t port) noexcept
{
    if (!kept_.count(port))
        return;
    discard_pinned(port);
    release_kept(port, nullptr);
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
    if (shared_)
        shared_->leave(port, it->second->tap().ifindex());
    vms_.erase(it);
    pins_.remove_vm(port);
}

void VmHost::discard_pinned(uint32_t port) noexcept
{
    const auto rec = pins_.record(port);
    if (rec && !vms_.count(port)) {
        const uint32_t ifindex = rec->ifindex;
        auto get = [&](const char* o) {
            try {
                return pins_.open(PinnedState::vm_pin(port, o));
            } catch (const dme::Error&) {
                return dme::Fd();
            }
        };
        dme::Fd guard = get("guard"), fw_tc = get("fw_tc"), fw_xdp = get("fw_xdp");
        // Only what is still ours comes off: the tap may be another's now.
        if (guard) {
            LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = guard.get());
            bpf_xdp_attach(int(ifindex), -1, XDP_FLAGS_REPLACE | xdp_flags(mode_), &opts);
        }
        uint32_t tc = tc_egress_prog(ifindex, rec->tc_handle, rec->tc_priority);
        if (tc && tc == prog_id(fw_tc.get())) {
            LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(ifindex), .attach_point = BPF_TC_EGRESS);
            LIBBPF_OPTS(bpf_tc_opts, opts, .handle = rec->tc_handle, .priority = rec->tc_priority);
            bpf_tc_detach(&hook, &opts);
        }
        uint32_t slot = slot_prog(tx_ports_fd(), port, ifindex);
        if ((slot && slot == prog_id(fw_xdp.get())) || slot_inherits(tx_ports_fd(), port, ifindex))
            bpf_map_delete_elem(tx_ports_fd(), &port);
        if (shared_)
            shared_->leave(port, ifindex);
    }
    pins_.remove_vm(port);
}

size_t VmHost::prune(const std::set<uint32_t>& keep) noexcept
{
    for (uint32_t port : keep)
        keep_pinned(port);
    auto here = [&](uint32_t port) { return vms_.count(port) || kept_.count(port); };
    size_t n = 0;
    for (const auto& [port, rec] : pins_.records())
        if (!here(port)) {
            discard_pinned(port);
            n++;
        }
    // Slots and demux entries of VMs not here (a slot of a tap gone is
    // already gone: the kernel clears it).
    uint32_t key = 0, next = 0;
    const void* prev = nullptr;
    std::vector<uint32_t> slots;
    while (!bpf_map_get_next_key(tx_ports_fd(), prev, &next)) {
        SlotValue v;
        if (next != kUplinkPort && !here(next) && read_slot(tx_ports_fd(), next, v) && v.ifindex)
            slots.push_back(next);
        key = next;
        prev = &key;
    }
    for (uint32_t s : slots)
        n += bpf_map_delete_elem(tx_ports_fd(), &s) == 0;
    std::vector<MacKey> macs;
    MacKey mk{}, mnext{};
    prev = nullptr;
    while (!bpf_map_get_next_key(mac_to_port_fd(), prev, &mnext)) {
        uint32_t port = 0;
        if (!bpf_map_lookup_elem(mac_to_port_fd(), &mnext, &port)) {
            const Vm* vm = this->vm(port);
            bool owned = kept_.count(port) > 0;
            if (vm)
                for (const Mac& m : allowed_macs(vm->policy()))
                    owned |= std::memcmp(m.b.data(), mnext.mac, 6) == 0;
            if (!owned)
                macs.push_back(mnext);
        }
        mk = mnext;
        prev = &mk;
    }
    for (const auto& m : macs)
        n += bpf_map_delete_elem(mac_to_port_fd(), &m) == 0;
    if (shared_)
        n += shared_->prune(here);
    groups_.prune();
    return n;
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

// The maps write_policy() writes, from a VM's maps.
PolicyMaps written_maps(const VmMapFds& m)
{
    PolicyMaps p;
    p.identity = m[vm_map("vm_identity")].get();
    p.macs = m[vm_map("vm_macs")].get();
    p.owned = m[vm_map("vm_owned")].get();
    p.owned_prefixes = m[vm_map("vm_owned_prefixes")].get();
    p.allow_src4 = m[vm_map("allow_src4")].get();
    p.allow_src6 = m[vm_map("allow_src6")].get();
    p.allow_ports = m[vm_map("allow_ports")].get();
    p.sg_rules = m[vm_map("vm_sg_rules")].get();
    p.ct_config = m[vm_map("vm_ct_config")].get();
    return p;
}

// What a VM owns, by id: its programs (slot, tc, guard) and its maps.
VmObjects objects_of(std::initializer_list<int> progs, const std::array<int, kVmMapCount>& maps)
{
    VmObjects o;
    for (int fd : progs)
        o.prog_ids.push_back(prog_id(fd));
    for (size_t i = 0; i < kVmMapCount; i++) {
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        o.map_ids.push_back(bpf_obj_get_info_by_fd(maps[i], &info, &len) ? 0 : info.id);
        o.map_names.emplace_back(kVmMaps[i]);
    }
    return o;
}

// The fds of an object's maps, in kVmMaps' order.
std::array<int, kVmMapCount> map_fds(const vm_firewall* skel)
{
    std::array<int, kVmMapCount> fds{};
    for (size_t i = 0; i < kVmMapCount; i++)
        fds[i] = bpf_map__fd(bpf_object__find_map_by_name(skel->obj, std::string(kVmMaps[i]).c_str()));
    return fds;
}

// A map's type, key size and value size (all 0 if it cannot be read).
std::array<uint32_t, 3> map_shape(int fd)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
        return {};
    return {info.type, info.key_size, info.value_size};
}

std::string shape_str(const std::array<uint32_t, 3>& s)
{
    const char* type = libbpf_bpf_map_type_str(bpf_map_type(s[0]));
    return std::string(type ? type : "map type " + std::to_string(s[0])) + ", key " + std::to_string(s[1]) +
           " B, value " + std::to_string(s[2]) + " B";
}

// The maps a VM keeps across a policy change: its counters and flows.
struct KeptState {
    int verdicts = -1, ct4 = -1, ct6 = -1, frags = -1, ct_stats = -1;
};

// A VM's object, loaded, its maps empty but for those kept.
Skel load_firewall_object(VmHost& host, uint32_t max_flows, const KeptState& keep, bool slot_prog = true)
{
    Skel skel(vm_firewall__open(), vm_firewall__destroy);
    if (!skel)
        dme::fail(errno, "opening the VM firewall object failed");
    // The guard redirects through the host's maps, not copies of its own.
    if (bpf_map__reuse_fd(skel->maps.tx_ports, host.tx_ports_fd()) ||
        bpf_map__reuse_fd(skel->maps.mac_to_port, host.mac_to_port_fd()) ||
        bpf_map__reuse_fd(skel->maps.vm_sg_members, host.groups().fd()))
        dme::fail(errno, "sharing the host's port and group maps with the VM firewall failed");
    if (bpf_map__set_max_entries(skel->maps.vm_ct4, max_flows) ||
        bpf_map__set_max_entries(skel->maps.vm_ct6, max_flows))
        dme::fail(errno, "sizing the VM's flow tables failed");
    const std::pair<bpf_map*, int> kept[] = {{skel->maps.verdicts, keep.verdicts},
                                             {skel->maps.vm_ct4, keep.ct4},
                                             {skel->maps.vm_ct6, keep.ct6},
                                             {skel->maps.vm_frags, keep.frags},
                                             {skel->maps.vm_ct_stats, keep.ct_stats}};
    for (auto [map, fd] : kept)
        if (fd >= 0 && bpf_map__reuse_fd(map, fd))
            dme::fail(errno, std::string("keeping the VM's map ") + bpf_map__name(map) + " failed");
    skel->rodata->uplink_port = VmHost::kUplinkPort;
    // The skb build of the guard is for tests and tc-only hosts: verifying
    // it for every VM would only slow attaching a thousand of them.
    bpf_program__set_autoload(skel->progs.vm_guard_tc, false);
    // Nor is vm_fw_xdp where the VMs' slots inherit the shared program.
    bpf_program__set_autoload(skel->progs.vm_fw_xdp, slot_prog);
    if (int err = vm_firewall__load(skel.get()))
        dme::fail(-err, std::string("loading the VM firewall failed: ") + std::strerror(-err));
    return skel;
}

// A VM's object, loaded, its policy written.
Skel load_firewall(VmHost& host, const VmPolicy& policy, const KeptState& keep)
{
    Skel skel = load_firewall_object(host, policy.conntrack.max_flows, keep, !host.shared_slots());
    write_policy(PolicyMaps::of(skel->obj), policy, host.groups().ids_for(policy));
    return skel;
}

// Whether a kept flow table is the size the policy asks for.
bool ct_info_matches(int ct_fd, const VmPolicy& p)
{
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return ct_fd >= 0 && !bpf_obj_get_info_by_fd(ct_fd, &info, &len) && info.max_entries == p.conntrack.max_flows;
}

dme::DevmapEgress::SetOptions slot_options(dme::XdpMode mode)
{
    dme::DevmapEgress::SetOptions opts;
    opts.skip_xmit_check = mode == dme::XdpMode::generic;
    return opts;
}
}  // namespace

Vm::Vm(VmHost& host, uint32_t port, std::string name, dme::Interface tap, VmPolicy policy, dme::XdpMode mode)
    : port_(port), name_(std::move(name)), tap_(std::move(tap)), policy_(std::move(policy)), mode_(mode)
{
    const auto rec = host.pins().record(port_);
    if (rec && rec->ifindex == tap_.ifindex() && name_ == rec->name)
        adopt_pinned(host, *rec);
    else
        attach_fresh(host);
}

void Vm::attach_fresh(VmHost& host)
{
    // What a previous host left in this slot is another VM's, or this one's
    // on a tap gone: off first, and its pins with it.
    host.discard_pinned(port_);
    Skel skel = load_firewall(host, policy_, {});
    try {
        enter_slot(host, skel.get(), port_ * 2);
        attach_tc(bpf_program__fd(skel->progs.vm_fw_tc));
        guard_ = attach_guard(host, dme::IngressProgram::from(skel->progs.vm_guard));
        adopt(host, skel.get());
        pin(host, skel.get());
    } catch (...) {
        detach(host);  // nothing half attached stays behind,
        host.hold(tap_.ifindex());  // and the VM stays held, not open
        throw;
    }
    origin_ = Origin::attached;
}

void Vm::enter_slot(VmHost& host, const vm_firewall* skel, uint32_t index)
{
    if (VmHost::SharedSlot* shared = host.shared()) {
        // Its maps first, then its device pointed at them (one step: a
        // frame meets this set or the one before), then the slot, which
        // inherits the shared program: no frame reaches the tap unjudged.
        shared->put(index, map_fds(skel));
        shared->point(tap_.ifindex(), index);
        shared_index_ = index;
        if (!slot_inherits(host.tx_ports_fd(), port_, tap_.ifindex()))
            host.ports().set(port_, tap_, slot_options(mode_));
        return;
    }
    host.ports().set(port_, tap_, dme::EgressProgram::from(skel->progs.vm_fw_xdp), slot_options(mode_));
}

const VmHost::Tags& VmHost::firewall_tags()
{
    if (!tags_) {
        // The tags do not depend on the maps' sizes or contents.
        Skel skel = load_firewall_object(*this, 1, {});
        tags_ = std::make_unique<Tags>();
        for (auto [p, tag] : {std::pair{skel->progs.vm_fw_xdp, &tags_->fw_xdp}, {skel->progs.vm_fw_tc, &tags_->fw_tc},
                              {skel->progs.vm_guard, &tags_->guard}}) {
            bpf_prog_info info = prog_info(bpf_program__fd(p));
            std::memcpy(tag->data(), info.tag, tag->size());
        }
        for (int fd : map_fds(skel.get()))
            tags_->maps.push_back(map_shape(fd));
    }
    return *tags_;
}

void Vm::adopt_pinned(VmHost& host, const VmRecord& rec)
{
    // From the pins alone: opening objects by id takes CAP_SYS_ADMIN, which
    // the unit does not give.
    auto get = [&](const char* o) { return host.pins().open(PinnedState::vm_pin(port_, o)); };
    dme::Fd guard = get("guard"), fw_xdp = get("fw_xdp"), fw_tc = get("fw_tc");
    VmMapFds maps;
    std::array<int, kVmMapCount> map_fd{};
    bool all_maps = true;
    for (size_t i = 0; i < kVmMapCount; i++) {
        maps[i] = get(std::string(kVmMaps[i]).c_str());
        map_fd[i] = maps[i].get();
        all_maps = all_maps && maps[i];
    }
    dme::Fd verdicts = std::move(maps[vm_map("verdicts")]);
    dme::Fd ct4 = std::move(maps[vm_map("vm_ct4")]), ct6 = std::move(maps[vm_map("vm_ct6")]);
    dme::Fd frags = std::move(maps[vm_map("vm_frags")]), ct_stats = std::move(maps[vm_map("vm_ct_stats")]);
    auto tag_is = [](int fd, const std::array<uint8_t, BPF_TAG_SIZE>& want) {
        bpf_prog_info info = prog_info(fd);
        return info.id && std::memcmp(info.tag, want.data(), want.size()) == 0;
    };
    // Where each hook stands: ours (the pinned program), or not. Shared:
    // the slot inherits the shared program, and the tap's device points at
    // an index of this slot key holding exactly the VM's pinned maps.
    VmHost::SharedSlot* shared = host.shared();
    uint32_t index = 0;
    bool have_index = false;
    if (shared) {
        const auto i = shared->index_of(tap_.ifindex());
        have_index = i && *i / 2 == port_;
        index = i.value_or(0);
    }
    const bool slot_ours =
        shared ? have_index && all_maps && slot_inherits(host.tx_ports_fd(), port_, tap_.ifindex()) &&
                     shared->holds(index, map_fd)
               : fw_xdp && slot_prog(host.tx_ports_fd(), port_, tap_.ifindex()) == prog_id(fw_xdp.get());
    const bool tc_ours = fw_tc && tc_egress_prog(tap_.ifindex(), rec.tc_handle, rec.tc_priority) == prog_id(fw_tc.get());
    std::unique_ptr<dme::XdpAttachment> guard_att;
    if (guard) {
        try {
            guard_att = std::make_unique<dme::XdpAttachment>(
                dme::XdpAttachment::adopt(tap_, dme::IngressProgram::from_fd(guard.get()), mode_));
        } catch (const dme::Error&) {
        }
    }
    // Until the new object is loaded and in the slot nothing has changed:
    // a failure before leaves the previous programs in force, the guard
    // too (not detached with guard_att), and the pins (VmHost::keep_pinned).
    Skel skel(nullptr, vm_firewall__destroy);
    try {
        // A pinned map of another shape than this build's (an incompatible
        // vmhostd's) can be neither kept nor adopted as it is.
        const auto& tags = host.firewall_tags();
        bool shapes_match = true;
        for (size_t i = 0; i < kVmMapCount; i++) {
            if (map_fd[i] < 0)
                continue;
            const auto shape = map_shape(map_fd[i]);
            if (shape == tags.maps[i])
                continue;
            shapes_match = false;
            if (i == vm_map("verdicts") || i == vm_map("vm_ct4") || i == vm_map("vm_ct6") || i == vm_map("vm_frags") ||
                i == vm_map("vm_ct_stats"))
                dme::fail(EINVAL, "its pinned map " + host.pins().dir() + "/" + PinnedState::vm_pin(port_, std::string(kVmMaps[i]).c_str()) +
                                      " is not this build's (" + shape_str(shape) + "; this build's: " + shape_str(tags.maps[i]) +
                                      "): an incompatible vmhostd's? Remove that pin (what it holds starts over) or run vmhostd "
                                      "teardown; its previous programs stay in force meanwhile");
        }
        // Whether the pinned programs are this build's with this policy.
        bool current = false;
        if ((fw_xdp || shared) && fw_tc && guard && all_maps && shapes_match) {
            current = (shared || tag_is(fw_xdp.get(), tags.fw_xdp)) && tag_is(fw_tc.get(), tags.fw_tc) &&
                      tag_is(guard.get(), tags.guard) && ct_info_matches(ct4.get(), policy_) &&
                      ct_info_matches(ct6.get(), policy_) && holds_policy(written_maps(maps), policy_, host.groups().ids_for(policy_));
        }
        tc_handle_ = tc_ours ? rec.tc_handle : 0;
        tc_priority_ = tc_ours ? rec.tc_priority : 0;
        if (current && slot_ours && tc_ours && guard_att) {
            // Nothing to change: the kernel keeps running what it runs.
            guard_ = std::move(guard_att);
            verdicts_ = std::move(verdicts);
            ct4_ = std::move(ct4);
            ct6_ = std::move(ct6);
            frags_ = std::move(frags);
            ct_stats_ = std::move(ct_stats);
            fw_xdp_ = shared ? dme::Fd::dup(shared->prog_fd()) : std::move(fw_xdp);
            fw_tc_ = std::move(fw_tc);
            fw_guard_ = std::move(guard);
            if (shared)
                shared_index_ = index;
            objects_ = objects_of({fw_xdp_.get(), fw_tc_.get(), fw_guard_.get()}, map_fd);
            origin_ = Origin::adopted;
            return;
        }
        // A new object keeping the VM's counters and flows, swapped in where
        // ours is and attached where nothing is: never a moment unguarded.
        const bool same_size = ct_info_matches(ct4.get(), policy_) && ct_info_matches(ct6.get(), policy_);
        KeptState keep{verdicts.get(), same_size ? ct4.get() : -1, same_size ? ct6.get() : -1, frags.get(),
                       ct_stats.get()};
        skel = load_firewall(host, policy_, keep);
        // Shared: beside the maps in force, if any, then switched to.
        enter_slot(host, skel.get(), have_index ? index ^ 1 : port_ * 2);
    } catch (...) {
        if (guard_att)
            guard_att->release();
        throw;
    }
    try {
        if (tc_ours)
            replace_tc(bpf_program__fd(skel->progs.vm_fw_tc));
        else
            attach_tc(bpf_program__fd(skel->progs.vm_fw_tc));
        auto fresh = dme::IngressProgram::from(skel->progs.vm_guard);
        if (guard_att) {
            guard_att->replace(fresh);
            guard_ = std::move(guard_att);
        } else {
            guard_ = attach_guard(host, fresh);
        }
        adopt(host, skel.get());
        pin(host, skel.get());
    } catch (...) {
        guard_att.reset();  // the previous guard off first, else it would go after the hold's attach, leaving none
        detach(host);
        host.hold(tap_.ifindex());
        throw;
    }
    origin_ = Origin::repaired;
}

void Vm::pin(VmHost& host, const vm_firewall* skel) const
{
    PinnedState& pins = host.pins();
    if (!pins.enabled())
        return;
    pins.make_vm_dir(port_);
    const std::pair<const char*, int> progs[] = {
        {"guard", fw_guard_.get()}, {"fw_xdp", fw_xdp_.get()}, {"fw_tc", fw_tc_.get()}};
    for (auto [name, fd] : progs)
        if (!host.shared_slots() || std::string_view(name) != "fw_xdp")  // shared: pinned once, shared/fw
            pins.pin(fd, PinnedState::vm_pin(port_, name));
    const auto maps = map_fds(skel);
    for (size_t i = 0; i < kVmMapCount; i++)
        pins.pin(maps[i], PinnedState::vm_pin(port_, std::string(kVmMaps[i]).c_str()));
    VmRecord rec{};
    std::memcpy(rec.name, name_.data(), std::min(name_.size(), kPinnedNameMax));
    rec.ifindex = tap_.ifindex();
    rec.tc_handle = tc_handle_;
    rec.tc_priority = tc_priority_;
    pins.put_record(port_, rec);
}

void Vm::replace(VmHost& host, const VmPolicy& policy)
{
    // A new table size needs a new table: its flows start over.
    const bool same_size = policy.conntrack.max_flows == policy_.conntrack.max_flows;
    KeptState keep{verdicts_.get(), same_size ? ct4_.get() : -1, same_size ? ct6_.get() : -1, frags_.get(),
                   ct_stats_.get()};
    Skel skel = load_firewall(host, policy, keep);
    const auto opts = slot_options(mode_);
    // To the VM (slot, then tc), then from it; each hook swaps in one step.
    // A hook that refuses puts the ones already swapped back. Shared: the
    // new maps go in at the VM's other index and its device is pointed
    // there in one step; the old set stays at its index (a frame being
    // judged with it may still read it) until the next change or the VM
    // leaves.
    const uint32_t old_index = shared_index_;
    enter_slot(host, skel.get(), shared_index_ ^ 1);
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
            if (VmHost::SharedSlot* shared = host.shared()) {
                shared->point(tap_.ifindex(), old_index);
                shared_index_ = old_index;
            } else {
                host.ports().set(port_, tap_, dme::EgressProgram::from_fd(fw_xdp_.get()), opts);
            }
        } catch (...) {
        }
        throw;
    }
    policy_ = policy;
    adopt(host, skel.get());
    pin(host, skel.get());
}

void Vm::adopt(VmHost& host, const vm_firewall* skel)
{
    // Shared: the slot's program is the shared one (vm_fw_xdp not loaded).
    const int slot_fd = host.shared() ? host.shared()->prog_fd() : bpf_program__fd(skel->progs.vm_fw_xdp);
    objects_ = objects_of({slot_fd, bpf_program__fd(skel->progs.vm_fw_tc),
                           bpf_program__fd(skel->progs.vm_guard)},
                          map_fds(skel));
    verdicts_ = dme::Fd::dup(bpf_map__fd(skel->maps.verdicts));
    ct4_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_ct4));
    ct6_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_ct6));
    frags_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_frags));
    ct_stats_ = dme::Fd::dup(bpf_map__fd(skel->maps.vm_ct_stats));
    fw_xdp_ = dme::Fd::dup(slot_fd);
    fw_tc_ = dme::Fd::dup(bpf_program__fd(skel->progs.vm_fw_tc));
    fw_guard_ = dme::Fd::dup(bpf_program__fd(skel->progs.vm_guard));
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
    // Shared: what the outer maps hold of the VM would outlive it.
    if (VmHost::SharedSlot* shared = host.shared())
        shared->leave(port_, tap_.ifindex());
    host.pins().remove_vm(port_);
}

std::unique_ptr<dme::XdpAttachment> Vm::attach_guard(VmHost& host, const dme::IngressProgram& prog)
{
    // Held since it was seen (by this host, or a previous one: the hold is
    // pinned): the guard takes the hold's place in one step, so no frame
    // passes between them.
    std::unique_ptr<dme::XdpAttachment> held;
    try {
        held = std::make_unique<dme::XdpAttachment>(
            dme::XdpAttachment::adopt(tap_, dme::IngressProgram::from_fd(host.hold_.get()), mode_));
    } catch (const dme::Error&) {
        // Not held: nothing on the tap (attach), or another's program (attach says so).
        return std::make_unique<dme::XdpAttachment>(dme::XdpAttachment::attach(tap_, prog, mode_));
    }
    held->replace(prog);
    host.held_.erase(tap_.ifindex());
    return held;
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

ConntrackStats Vm::conntrack() const { return read_conntrack(ct4_.get(), ct6_.get(), ct_stats_.get()); }

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
