/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libbpf-ext: egress programs in devmap and cpumap slots, over libbpf.
 * Conventions (errors, opts, "no program"): bpf_ext_common.h. */
#ifndef BPF_EXT_BPF_EXT_H
#define BPF_EXT_BPF_EXT_H

#include <bpf_ext/bpf_ext_common.h>
#include <bpf_ext/errors.h>
#include <bpf_ext/devmap.h>
#include <bpf_ext/cpumap.h>
#include <bpf_ext/default_prog.h>
#include <bpf_ext/pin.h>
#include <bpf_ext/probe.h>

#endif
