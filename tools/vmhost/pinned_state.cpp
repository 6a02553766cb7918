#include "pinned_state.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include <devmap_egress/error.hpp>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

namespace vmhost {

namespace {
// Unlinks every entry of DIR (pins, and directories of pins), then DIR.
void remove_tree(const std::string& dir) noexcept
{
    std::vector<std::string> names;
    if (DIR* d = opendir(dir.c_str())) {
        while (dirent* e = readdir(d))
            if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
                names.emplace_back(e->d_name);
        closedir(d);
    }
    for (const auto& n : names) {
        const std::string path = dir + "/" + n;
        struct stat st {};
        if (!lstat(path.c_str(), &st) && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path.c_str());
    }
    rmdir(dir.c_str());
}

constexpr uint32_t kMaxRecords = 65536;  // more VMs than a devmap of this host holds
}  // namespace

PinnedState::PinnedState(std::string dir) : dir_(std::move(dir))
{
    if (!enabled())
        return;
    while (dir_.size() > 1 && dir_.back() == '/')
        dir_.pop_back();
    if (mkdir(dir_.c_str(), 0700) == 0)
        created_ = true;
    else if (errno != EEXIST)
        dme::fail(errno, "creating the state directory " + dir_ + " failed: " + std::strerror(errno) +
                             (errno == ENOENT ? " (is bpffs mounted? mount -t bpf bpf /sys/fs/bpf)" : ""));
    try {
        struct statfs st {};
        if (statfs(dir_.c_str(), &st) || st.f_type != BPF_FS_MAGIC)
            dme::fail(EINVAL, "the state directory " + dir_ +
                                  " is not on bpffs: give a path under /sys/fs/bpf (host.state_dir)");
        lock_ = dme::Fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!lock_)
            dme::fail(errno, "opening the state directory " + dir_ + " failed: " + std::strerror(errno));
        if (flock(lock_.get(), LOCK_EX | LOCK_NB))
            dme::fail(errno == EWOULDBLOCK ? EBUSY : errno,
                      "the state directory " + dir_ +
                          " is in use by another vmhostd: stop it first, or give this one its own host.state_dir");
        vms_ = open_or_create("vms", sizeof(uint32_t), sizeof(VmRecord), kMaxRecords);
        sg_ids_ = open_or_create("sg_ids", kPinnedNameMax + 1, sizeof(uint32_t), kMaxRecords);
    } catch (...) {
        if (created_)
            remove_all();
        throw;
    }
}

PinnedState::~PinnedState()
{
    if (created_)
        remove_all();
}

dme::Fd PinnedState::open_or_create(const std::string& name, uint32_t key_size, uint32_t value_size,
                                    uint32_t max_entries)
{
    if (dme::Fd fd = open(name)) {
        bpf_map_info info{};
        uint32_t len = sizeof(info);
        if (!bpf_obj_get_info_by_fd(fd.get(), &info, &len) && info.key_size == key_size &&
            info.value_size == value_size)
            return fd;
        dme::fail(EINVAL, dir_ + "/" + name + " is not the map this vmhostd keeps there (key " +
                              std::to_string(info.key_size) + " B, value " + std::to_string(info.value_size) +
                              " B): another program's, or an incompatible version's; remove it (rm -r " + dir_ +
                              ") to start over");
    }
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
    dme::Fd fd(bpf_map_create(BPF_MAP_TYPE_HASH, ("vmhostd_" + name).c_str(), key_size, value_size, max_entries,
                              &opts));
    if (!fd)
        dme::fail(errno, "creating the state map " + name + " failed: " + std::strerror(errno));
    pin(fd.get(), name);
    return fd;
}

dme::Fd PinnedState::open(const std::string& name) const
{
    if (!enabled())
        return {};
    int fd = bpf_obj_get((dir_ + "/" + name).c_str());
    if (fd < 0 && errno != ENOENT)
        dme::fail(errno, "opening the pin " + dir_ + "/" + name + " failed: " + std::strerror(errno));
    return dme::Fd(fd);
}

void PinnedState::pin(int fd, const std::string& name) const
{
    if (!enabled())
        return;
    const std::string path = dir_ + "/" + name;
    if (bpf_obj_pin(fd, path.c_str()) == 0)
        return;  // nothing was there: the common case, a VM's first pin
    if (errno != EEXIST)
        dme::fail(errno, "pinning " + path + " failed: " + std::strerror(errno));
    // Replacing: bpffs renames over an existing pin, so there is no moment
    // without one. It refuses names with a dot (EPERM): the staging pin is
    // NAME_new.
    const std::string tmp = path + "_new";
    unlink(tmp.c_str());
    if (bpf_obj_pin(fd, tmp.c_str()) || rename(tmp.c_str(), path.c_str())) {
        int err = errno;
        unlink(tmp.c_str());
        dme::fail(err, "pinning " + path + " failed: " + std::strerror(err));
    }
}

void PinnedState::unpin(const std::string& name) const noexcept
{
    if (enabled())
        unlink((dir_ + "/" + name).c_str());
}

std::string PinnedState::vm_pin(uint32_t port, const char* object)
{
    return vm_dir(port) + "/" + object;
}

void PinnedState::make_vm_dir(uint32_t port) const { make_dir(vm_dir(port)); }

void PinnedState::make_dir(const std::string& name) const
{
    if (!enabled())
        return;
    const std::string d = dir_ + "/" + name;
    if (mkdir(d.c_str(), 0700) && errno != EEXIST)
        dme::fail(errno, "creating " + d + " failed: " + std::strerror(errno));
}

void PinnedState::remove_vm(uint32_t port) noexcept
{
    if (!enabled())
        return;
    remove_tree(dir_ + "/" + vm_dir(port));
    bpf_map_delete_elem(vms_.get(), &port);
}

void PinnedState::remove_all() noexcept
{
    if (enabled())
        remove_tree(dir_);
}

std::map<uint32_t, VmRecord> PinnedState::records() const
{
    std::map<uint32_t, VmRecord> out;
    if (!enabled())
        return out;
    uint32_t key = 0, next = 0;
    const void* prev = nullptr;
    while (!bpf_map_get_next_key(vms_.get(), prev, &next)) {
        VmRecord r{};
        if (!bpf_map_lookup_elem(vms_.get(), &next, &r)) {
            r.name[kPinnedNameMax] = 0;
            out.emplace(next, r);
        }
        key = next;
        prev = &key;
    }
    return out;
}

std::optional<VmRecord> PinnedState::record(uint32_t port) const
{
    VmRecord r{};
    if (!enabled() || bpf_map_lookup_elem(vms_.get(), &port, &r))
        return std::nullopt;
    r.name[kPinnedNameMax] = 0;
    return r;
}

void PinnedState::put_record(uint32_t port, const VmRecord& r)
{
    if (enabled() && bpf_map_update_elem(vms_.get(), &port, &r, BPF_ANY))
        dme::fail(errno, "recording VM slot " + std::to_string(port) + " in " + dir_ + "/vms failed: " +
                             std::strerror(errno));
}

}  // namespace vmhost
