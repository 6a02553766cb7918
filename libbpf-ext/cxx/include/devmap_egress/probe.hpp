// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// What the running kernel supports, asked of the kernel itself.
#pragma once

#include <bpf_ext/probe.h>

namespace dme {

// Throws Error when probing is impossible (e.g. no privileges).
bpfext_features probe_features();
// The shared-device egress-program bypass test (root; creates a private netns).
bpfext_bypass_report probe_egress_bypass();
const char* support_str(bpfext_support s);

}  // namespace dme
