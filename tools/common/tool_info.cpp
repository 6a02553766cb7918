#include "tool_info.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <bpf_ext/bpf_ext.h>
#include <devmap_egress/error.hpp>

#include "build_info.h"  // DME_GIT_DESCRIBE, generated at build time

namespace dme_tools {

namespace {

std::string probe_failure(int err)
{
    if (err == -EPERM)
        return "unknown (probing needs root: run as root to know)";
    return std::string("unknown (the probe failed: ") + bpfext_errmsg() + ")";
}

std::string self_dir()
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return "";
    std::string path(buf, size_t(n));
    return path.substr(0, path.rfind('/'));
}

// `dir/rel` with the "." and ".." of rel resolved by name, as people read it.
std::string join_lexically(std::string dir, std::string_view rel)
{
    while (!rel.empty()) {
        size_t slash = rel.find('/');
        std::string_view part = rel.substr(0, slash);
        rel = slash == std::string_view::npos ? std::string_view{} : rel.substr(slash + 1);
        if (part == "..")
            dir = dir.substr(0, std::max<size_t>(dir.rfind('/'), 1));
        else if (!part.empty() && part != ".")
            dir += (dir == "/" ? "" : "/") + std::string(part);
    }
    return dir;
}

bool is_dir(const std::string& p)
{
    struct stat st;
    return !p.empty() && stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::vector<std::string> bpf_object_dirs()
{
    std::vector<std::string> dirs;
    if (const char* env = std::getenv("DEVMAP_EGRESS_BPF_DIR"); env && *env)
        dirs.emplace_back(env);
    std::string self = self_dir();
    std::string_view build_root = DME_BUILD_ROOT;
    // A tool run from the build tree uses the objects built next to it.
    if (self.size() > build_root.size() && self.compare(0, build_root.size(), build_root) == 0 &&
        self[build_root.size()] == '/')
        dirs.emplace_back(DME_BUILD_BPF_DIR);
    else if (!self.empty())
        dirs.push_back(join_lexically(self, DME_BPF_FROM_SBIN));
    return dirs;
}

std::string find_bpf_object(const std::string& file)
{
    if (file.find('/') != std::string::npos || is_file(file))
        return file;
    std::string looked = "./" + file;
    for (const auto& d : bpf_object_dirs()) {
        std::string p = d + "/" + file;
        if (is_file(p))
            return p;
        looked += ", " + p;
    }
    throw dme::Error(ENOENT, "no BPF object '" + file + "': looked for " + looked +
                                 "; give its path, or set DEVMAP_EGRESS_BPF_DIR to the directory that holds it");
}

VersionInfo version_info(const char* tool)
{
    VersionInfo v;
    v.tool = tool;
    v.version = DME_VERSION;
    v.git_describe = DME_GIT_DESCRIBE;
    v.libbpf = libbpf_version_string();  // "v1.1"
    if (!v.libbpf.empty() && v.libbpf[0] == 'v')
        v.libbpf.erase(0, 1);
    struct utsname u;
    v.kernel = uname(&u) == 0 ? u.release : "unknown";

    bpfext_features f{};
    f.sz = sizeof(f);
    if (int err = bpfext_probe(&f); err)
        v.default_prog = probe_failure(err);
    else
        v.default_prog = f.default_prog == BPFEXT_SUPPORTED     ? "yes"
                         : f.default_prog == BPFEXT_UNSUPPORTED ? "no"
                                                                : std::string("unknown (") + bpfext_errmsg() + ")";
    bpfext_bypass_report r{};
    r.sz = sizeof(r);
    if (int err = bpfext_probe_egress_bypass(&r); err)
        v.egress_bypass = probe_failure(err);
    else
        v.egress_bypass = r.affected ? "affected" : "not affected";

    auto dirs = bpf_object_dirs();
    v.bpf_dir = "none found";
    for (const auto& d : dirs)
        if (is_dir(d)) {
            char real[PATH_MAX];
            v.bpf_dir = realpath(d.c_str(), real) ? real : d;
            break;
        }
    return v;
}

std::string version_text(const VersionInfo& v)
{
    return v.tool + " " + v.version + " (git " + v.git_describe + ")\n" + "libbpf " + v.libbpf + "\n" +
           "kernel " + v.kernel + ": egress bypass: " + v.egress_bypass + "; default programs: " + v.default_prog +
           "\n" + "BPF objects: " + v.bpf_dir;
}

}  // namespace dme_tools
