// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// A network device of the caller's namespace, resolved once by name or index.
#pragma once

#include <cstdint>
#include <string>

namespace dme {

class Interface {
public:
    // Throws Error(ENODEV) naming the device when it does not exist.
    static Interface named(const std::string& name);
    static Interface index(uint32_t ifindex);

    uint32_t ifindex() const noexcept { return ifindex_; }
    const std::string& name() const noexcept { return name_; }

private:
    Interface(uint32_t ifindex, std::string name) : ifindex_(ifindex), name_(std::move(name)) {}
    uint32_t ifindex_;
    std::string name_;
};

}  // namespace dme
