#include "teardown.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/if_link.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <devmap_egress/error.hpp>

#include "link_watch.hpp"
#include "netcfg.hpp"
#include "persistent_tap.hpp"
#include "pinned_state.hpp"
#include "tc_query.hpp"

namespace vmhost {

namespace {
uint32_t prog_id(int fd)
{
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
        return 0;
    return info.id;
}

bool exists(const std::string& path)
{
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
}

bool empty_dir(const std::string& dir)
{
    DIR* d = opendir(dir.c_str());
    if (!d)
        return false;
    bool empty = true;
    while (dirent* e = readdir(d))
        empty = empty && (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, ".."));
    closedir(d);
    return empty;
}
}  // namespace

TeardownResult teardown_state(const std::string& state_dir, const std::function<void(const std::string&)>& log,
                              const std::optional<std::string>& uplink)
{
    TeardownResult r;
    std::string dir = state_dir;
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    const auto links = LinkWatch().list();
    auto link_name = [&](uint32_t ifindex) {
        for (const auto& l : links)
            if (l.ifindex == ifindex)
                return l.name;
        return "ifindex " + std::to_string(ifindex) + " (gone)";
    };

    // The state directory, locked as a vmhostd locks it: refused while one runs.
    std::unique_ptr<PinnedState> pins;
    struct stat st {};
    if (stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            dme::fail(ENOTDIR, dir + " is not a directory: give vmhostd's state directory (host.state_dir, "
                                     "/sys/fs/bpf/vmhostd by default)");
        // What a vmhostd makes first in it; anything else is not its to remove.
        if (!empty_dir(dir) && !exists(dir + "/vms"))
            dme::fail(EINVAL, dir + " holds no vmhostd state (there is no " + dir + "/vms): not vmhostd's state "
                                    "directory? Nothing was removed; give host.state_dir (/sys/fs/bpf/vmhostd by default)");
        pins = std::make_unique<PinnedState>(dir);
    } else if (errno != ENOENT) {
        dme::fail(errno, "the state directory " + dir + ": " + std::strerror(errno));
    } else {
        log("teardown: nothing pinned, " + dir + " does not exist");
    }

    std::vector<std::string> failures;
    if (pins) {
        // vmhostd's XDP programs, by id: a link carrying one of them carries ours.
        std::map<uint32_t, std::pair<dme::Fd, std::string>> ours;
        auto add = [&](const std::string& pin, const std::string& what) {
            dme::Fd fd = pins->open(pin);
            if (uint32_t id = prog_id(fd.get()))
                ours.emplace(id, std::make_pair(std::move(fd), what));
        };
        add("nic_demux", "the NIC demux");
        add("hold", "the tap hold");
        const auto records = pins->records();
        for (const auto& [port, rec] : records)
            add(PinnedState::vm_pin(port, "guard"), std::string("vm ") + rec.name + "'s guard");
        const uint32_t demux = [&] {
            for (const auto& [id, o] : ours)
                if (o.second == "the NIC demux")
                    return id;
            return 0u;
        }();

        for (const auto& l : links) {
            LIBBPF_OPTS(bpf_xdp_query_opts, q);
            if (bpf_xdp_query(int(l.ifindex), 0, &q))
                continue;
            for (auto [id, mode] : {std::pair{q.drv_prog_id, uint32_t(XDP_FLAGS_DRV_MODE)},
                                    std::pair{q.skb_prog_id, uint32_t(XDP_FLAGS_SKB_MODE)}}) {
                if (!id)
                    continue;
                auto it = ours.find(id);
                if (it == ours.end()) {
                    if (uplink && l.name == *uplink)
                        log("teardown: uplink " + l.name + " carries XDP program " + std::to_string(id) +
                            ", not vmhostd's NIC demux" + (demux ? " (program " + std::to_string(demux) + ")" : "") +
                            ": left attached");
                    continue;
                }
                // Only while it is ours: the kernel checks (XDP_FLAGS_REPLACE).
                LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = it->second.first.get());
                if (int err = bpf_xdp_attach(int(l.ifindex), -1, mode | XDP_FLAGS_REPLACE, &opts)) {
                    failures.push_back(l.name + ": detaching " + it->second.second + " failed: " + std::strerror(-err));
                    continue;
                }
                r.detached++;
                if (id == demux)
                    r.demux_on = l.name;
                log("teardown: " + it->second.second + " is off " + l.name);
            }
        }
        if (demux && !r.demux_on) {
            const bool there = uplink && std::any_of(links.begin(), links.end(), [&](const LinkEvent& l) {
                                   return l.name == *uplink;
                               });
            log("teardown: the NIC demux (program " + std::to_string(demux) + ") is on no link: " +
                (!uplink  ? std::string("its uplink is gone, or another program took its place")
                 : there ? "uplink " + *uplink + " carries another program (or none), left as it is"
                         : "uplink " + *uplink + " is not there") +
                "; nothing to detach");
        }

        // Each VM's tc twin, where its record says, if it is still the pinned one.
        for (const auto& [port, rec] : records) {
            dme::Fd fw_tc = pins->open(PinnedState::vm_pin(port, "fw_tc"));
            const uint32_t id = prog_id(fw_tc.get());
            const uint32_t on = tc_egress_prog(rec.ifindex, rec.tc_handle, rec.tc_priority);
            if (!id || on != id) {
                if (on)
                    log(std::string("teardown: vm ") + rec.name + ": the tc filter on " + link_name(rec.ifindex) +
                        " is another program's (" + std::to_string(on) + "): left");
                continue;
            }
            LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = int(rec.ifindex), .attach_point = BPF_TC_EGRESS);
            LIBBPF_OPTS(bpf_tc_opts, opts, .handle = rec.tc_handle, .priority = rec.tc_priority);
            if (int err = bpf_tc_detach(&hook, &opts)) {
                failures.push_back(std::string("vm ") + rec.name + ": detaching its tc egress firewall from " +
                                   link_name(rec.ifindex) + " failed: " + std::strerror(-err));
                continue;
            }
            r.detached++;
            log(std::string("teardown: vm ") + rec.name + "'s tc egress firewall is off " + link_name(rec.ifindex));
        }

        // The slots hold the VMs' programs, which hold the port map: emptied,
        // nothing keeps either once the pins go.
        if (dme::Fd ports = pins->open("tx_ports")) {
            std::vector<uint32_t> keys;
            uint32_t key = 0, next = 0;
            const void* prev = nullptr;
            while (!bpf_map_get_next_key(ports.get(), prev, &next)) {
                keys.push_back(next);
                key = next;
                prev = &key;
            }
            for (uint32_t k : keys)
                bpf_map_delete_elem(ports.get(), &k);
        }
    }

    // The taps vmhostd made, their programs off first.
    for (const auto& l : links) {
        if (!is_tap_mark(l.alias))
            continue;
        try {
            netcfg::delete_link(l.ifindex);
            r.taps_deleted++;
            log("teardown: tap " + l.name + " (" + l.alias + "), made by vmhostd, deleted");
        } catch (const dme::Error& e) {
            failures.push_back("tap " + l.name + " (" + l.alias + "), made by vmhostd: deleting it failed: " + e.what());
        }
    }

    if (!failures.empty()) {
        std::string all;
        for (const auto& f : failures)
            all += (all.empty() ? "" : "; ") + f;
        dme::fail(EIO, all + (pins ? "; the pins stay in " + dir + ": run vmhostd teardown again" : std::string()));
    }
    if (pins) {
        pins->remove_all();
        r.state_removed = true;
    }
    return r;
}

}  // namespace vmhost
