// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The one exception type of the C++ API: an errno and the sentence that names
// the cause and the fix (taken from libbpf-ext's explanation).
#pragma once

#include <stdexcept>
#include <string>

namespace dme {

class Error : public std::runtime_error {
public:
    Error(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
    // Positive errno, e.g. ENODEV.
    int code() const noexcept { return code_; }

private:
    int code_;
};

// Throw the C library's explanation when rc is a negative errno.
int check(int rc);
// Throw Error(code, what).
[[noreturn]] void fail(int code, const std::string& what);

}  // namespace dme
