// The VM host's configuration file (TOML): the uplink, the XDP mode, and one
// entry per VM with its identity, addresses and security-group rules, as
// docs/vmhost-config.md describes. Parsing is Debian's toml11; this file
// turns its values into VmPolicy and says, for every problem, the file, the
// line, the field and what is expected.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <devmap_egress/xdp_attachment.hpp>

#include "persistent_tap.hpp"
#include "policy.hpp"
#include "slot_mode.hpp"

namespace vmhost {

struct VmConfig {
    std::string name;
    std::optional<std::string> tap;  // matched by tap name if given, else by MAC (libvirt names taps vnetN)
    // create_tap: vmhostd makes the tap `tap` itself, persistent and down,
    // and brings it up once the VM's policy is enforced (persistent_tap.hpp).
    std::optional<TapSettings> create_tap;
    VmPolicy policy;                 // host_mac is the tap's, learnt when it appears
    bool operator==(const VmConfig&) const = default;
};

struct HostConfig {
    std::string uplink;
    dme::XdpMode mode = dme::XdpMode::native;
    std::string metrics = "127.0.0.1:9477";  // where the Prometheus exposition listens
    // On bpffs: the datapath's pins, which outlive the daemon (PinnedState).
    std::string state_dir = "/sys/fs/bpf/vmhostd";
    // What runs in the VMs' devmap slots (slot_mode.hpp): auto, shared or per-vm.
    SlotPrograms slot_programs = SlotPrograms::automatic;
    std::vector<VmConfig> vms;
};

// Every problem found, one per line: "FILE:LINE: FIELD: what is wrong;
// what is expected".
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const noexcept { return problems_; }

private:
    std::vector<std::string> problems_;
};

// Reads and checks a configuration: TOML syntax, known keys, types, each
// VM's policy (validate()), and what VMs must not share (names, MACs, taps,
// addresses). Throws ConfigError.
HostConfig load_config(const std::string& path);
// The same from text; `name` stands for the file in messages.
HostConfig parse_config(const std::string& text, const std::string& name);

}  // namespace vmhost
