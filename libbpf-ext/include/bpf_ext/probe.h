/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel supports, found by asking it (never by version). */
#ifndef BPF_EXT_PROBE_H
#define BPF_EXT_PROBE_H

#include <stddef.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

enum bpfext_support {
	BPFEXT_UNKNOWN = 0,     /* the probe could not tell (see bpfext_errmsg()) */
	BPFEXT_SUPPORTED = 1,
	BPFEXT_UNSUPPORTED = 2,
};

struct bpfext_features {
	size_t sz;
	enum bpfext_support devmap_prog;      /* program in a DEVMAP value (5.8) */
	enum bpfext_support devmap_hash;      /* BPF_MAP_TYPE_DEVMAP_HASH (5.4) */
	enum bpfext_support devmap_hash_prog; /* program in a DEVMAP_HASH value */
	enum bpfext_support cpumap_prog;      /* program in a CPUMAP value (5.9) */
	enum bpfext_support broadcast;        /* BPF_F_BROADCAST redirects (5.15) */
	enum bpfext_support live_frames;      /* BPF_F_TEST_XDP_LIVE_FRAMES (5.18) */
	enum bpfext_support xdp_features;     /* netdev netlink xdp-features (6.3) */
	enum bpfext_support default_prog;     /* map-wide default programs (patched) */
	size_t :0;
};
#define bpfext_features__last_field default_prog

/* Cheap probes: a few map creations and one test run. */
int bpfext_probe(struct bpfext_features *features);

struct bpfext_bypass_report {
	size_t sz;
	/* true: one device reached through two slots ran one slot's program on
	 * the other slot's frames (see bpfext_probe_egress_bypass) */
	bool affected;
	__u64 sent[2]; /* frames redirected through slot 0 and slot 1 */
	__u64 ran[2];  /* runs of slot 0's and slot 1's egress program */
	size_t :0;
};
#define bpfext_bypass_report__last_field ran

/* Live-frame test of the shared-device egress-program bypass: in a private
 * network namespace, frames alternate between two slots that point at one
 * veth and carry different programs. A kernel that keeps only the first
 * frame's program per flush batch is affected. Needs root; takes ~10 ms. */
int bpfext_probe_egress_bypass(struct bpfext_bypass_report *report);

#ifdef __cplusplus
}
#endif
#endif
