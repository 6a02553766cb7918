// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "devmap_egress/probe.hpp"

#include "devmap_egress/error.hpp"

namespace dme {

bpfext_features probe_features()
{
    bpfext_features f{};
    f.sz = sizeof(f);
    check(bpfext_probe(&f));
    return f;
}

bpfext_bypass_report probe_egress_bypass()
{
    bpfext_bypass_report r{};
    r.sz = sizeof(r);
    check(bpfext_probe_egress_bypass(&r));
    return r;
}

const char* support_str(bpfext_support s)
{
    switch (s) {
    case BPFEXT_SUPPORTED:
        return "yes";
    case BPFEXT_UNSUPPORTED:
        return "no";
    default:
        return "unknown";
    }
}

}  // namespace dme
