// vmhostd teardown: takes off the host what vmhostd left in a state
// directory, from the pins alone. It needs neither the uplink nor the
// configuration (an operator tears down when things are broken: the NIC
// renamed or gone, the file edited), and never detaches a program that is
// not vmhostd's: each hook is checked against the pinned program's id.
//   - every XDP program pinned there (the NIC demux, the tap hold, each
//     VM's guard) comes off whichever link of this namespace carries it,
//     in whichever mode;
//   - each VM's tc egress firewall comes off its tap where it is still the
//     pinned one (its record gives the tap, handle and priority);
//   - the port map's slots are emptied (they hold the VMs' programs);
//   - the taps vmhostd made (their alias, persistent_tap.hpp) are deleted;
//   - the pins go, and the directory.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace vmhost {

struct TeardownResult {
    size_t detached = 0;      // XDP programs and tc filters taken off
    size_t taps_deleted = 0;  // taps vmhostd made
    std::optional<std::string> demux_on;  // the link the NIC demux came off, if it was on one
    bool state_removed = false;           // the state directory existed and is gone
};

// Locks `state_dir` as a vmhostd does (refused while one runs on it: EBUSY)
// and takes everything off. `uplink`, when known (the configuration's), only
// names the device in what is logged. Throws dme::Error naming the cause and
// the fix: not on bpffs, not a vmhostd state directory, a detach the kernel
// refused (then the pins stay, for another try). Running it again finds
// nothing and succeeds.
TeardownResult teardown_state(const std::string& state_dir, const std::function<void(const std::string&)>& log,
                              const std::optional<std::string>& uplink = std::nullopt);

}  // namespace vmhost
