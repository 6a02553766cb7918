/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel supports, found by asking it (never by version). */
#ifndef BPF_EXT_PROBE_H
#define BPF_EXT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <bpf_ext/bpf_ext_common.h>

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

/**
 * @brief **bpfext_probe()** asks the running kernel what it supports: a few
 * map creations and one test run, cheap enough to call at start-up.
 * @param features its sz set to sizeof(struct bpfext_features); every other
 * field is filled (BPFEXT_UNKNOWN where the probe could not tell)
 * @return 0 on success; a negative errno otherwise: -EINVAL (features NULL
 * or sz unset), -EPERM (no privileges), or the errno of loading the probe
 * programs
 */
BPFEXT_API int bpfext_probe(struct bpfext_features *features);

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

/**
 * @brief **bpfext_probe_egress_bypass()** tests the shared-device
 * egress-program bypass with live frames: in a private network namespace,
 * frames alternate between two slots that point at one veth and carry
 * different programs. A kernel that keeps only the first frame's program per
 * flush batch is affected. Needs root; takes about 10 ms.
 * @param report its sz set to sizeof(struct bpfext_bypass_report); filled
 * @return 0 on success, affected or not; a negative errno otherwise: -EINVAL
 * (report NULL or sz unset), -EPERM (no privileges for a network namespace),
 * -EIO (the veth pair could not be made), or the errno of loading the probe
 * programs or starting its thread
 */
BPFEXT_API int bpfext_probe_egress_bypass(struct bpfext_bypass_report *report);

#ifdef __cplusplus
}
#endif
#endif
