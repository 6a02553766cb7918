// What every tool of the project says about itself (--version), and where
// devmapctl finds the project's BPF objects (in the build tree or in an
// install).
#pragma once

#include <string>
#include <vector>

namespace dme_tools {

struct VersionInfo {
    std::string tool;
    std::string version;       // the project's, e.g. 0.1.0
    std::string git_describe;  // of the source tree, at build time
    std::string libbpf;        // the libbpf the process runs with
    std::string kernel;        // uname -r
    // what the probes found, or "unknown (<why>)" when they could not tell
    // (without root, say)
    std::string egress_bypass;  // "affected" or "not affected"
    std::string default_prog;   // map-wide default programs (patched kernel): "yes", "no"
    std::string bpf_dir;        // where bare object names are looked up
};

// Probes the running kernel (about 10 ms as root; unknown without).
VersionInfo version_info(const char* tool);
// The lines --version prints.
std::string version_text(const VersionInfo& v);
// CLI11's --version/-V flag on `app`, printing version_text.
template <class App>
void add_version_flag(App& app, const char* tool)
{
    app.set_version_flag("-V,--version", [tool] { return version_text(version_info(tool)); },
                         "print the version, libbpf's, and what the running kernel has; exit");
}

// The directories searched for a BPF object named without a '/': the
// DEVMAP_EGRESS_BPF_DIR environment variable, then the build tree's bpf/
// when the tool runs from the build tree, else the installed
// $prefix/lib/bpf/devmap-egress found relative to the tool's own location.
std::vector<std::string> bpf_object_dirs();
// `file` itself when it names a path (has a '/') or exists in the working
// directory; else the first match in bpf_object_dirs(). Throws dme::Error
// (ENOENT) naming every place looked at.
std::string find_bpf_object(const std::string& file);

}  // namespace dme_tools
