// veth pairs made over rtnetlink (libnl-route) for tests and benchmarks.
#pragma once

#include <cstdint>
#include <string>

#include "netns.hpp"

namespace netlab {

struct VethEnd {
    std::string name;
    uint32_t ifindex = 0;
};

// `near` stays in the calling thread's namespace; `far` goes to `far_ns`.
// Both ends are up. Deleting `near` (the destructor, or remove()) deletes both.
class VethPair {
public:
    VethPair(const std::string& near, const std::string& far, const Netns& far_ns);
    ~VethPair();
    VethPair(const VethPair&) = delete;
    VethPair& operator=(const VethPair&) = delete;

    const VethEnd& near() const noexcept { return near_; }
    const VethEnd& far() const noexcept { return far_; }
    const Netns& far_ns() const noexcept { return far_ns_; }
    void remove();  // delete the pair now (tests of device removal)

private:
    VethEnd near_, far_;
    const Netns& far_ns_;
    bool removed_ = false;
};

}  // namespace netlab
