/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* DEVMAP and DEVMAP_HASH slots that carry an egress program.
 *
 * A slot holds (ifindex, program): frames redirected into the slot run the
 * program (expected attach type BPF_XDP_DEVMAP) before they are sent on the
 * device. The kernel holds the program while it is in the slot and drops it
 * when the slot is cleared, replaced, or its device unregisters.
 * Conventions (errors, opts, "no program"): bpf_ext_common.h. */
#ifndef BPF_EXT_DEVMAP_H
#define BPF_EXT_DEVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <bpf_ext/bpf_ext_common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bpfext_devmap_create_opts {
	size_t sz; /* sizeof(struct bpfext_devmap_create_opts) */
	/* 8 (ifindex + program, the default), 4 (ifindex only, pre-5.8 form)
	 * or 12 (+ slot flags; patched kernels, see default_prog.h) */
	__u32 value_size;
	__u32 map_flags;
	__u32 numa_node;
	/* The map's default egress program (patched kernels); 0: none.
	 * Implies 12-byte values unless value_size says otherwise. */
	int default_prog_fd;
	size_t :0;
};
#define bpfext_devmap_create_opts__last_field default_prog_fd

/**
 * @brief **bpfext_devmap_create()** creates a BPF_MAP_TYPE_DEVMAP or
 * BPF_MAP_TYPE_DEVMAP_HASH with room for a program in each value.
 * @param type BPF_MAP_TYPE_DEVMAP (keys 0..max_entries-1) or
 * BPF_MAP_TYPE_DEVMAP_HASH (any key, at most max_entries of them)
 * @param name the map's name: at most 15 characters from [A-Za-z0-9_.], or
 * NULL
 * @param max_entries number of slots, at least 1
 * @param opts options, or NULL
 * @return the map fd on success; a negative errno otherwise: -EINVAL (bad
 * opts, type, name, max_entries 0 or value size, or the kernel refused the
 * default program or 8-byte values), -EBADF (default_prog_fd is not open),
 * -EOPNOTSUPP (default program or 12-byte values on a stock kernel), -EPERM
 * (no privileges), -ELOOP (the default program uses this map)
 */
BPFEXT_API int bpfext_devmap_create(enum bpf_map_type type, const char *name, __u32 max_entries,
				    const struct bpfext_devmap_create_opts *opts);

struct bpfext_devmap_set_opts {
	size_t sz; /* sizeof(struct bpfext_devmap_set_opts) */
	__u64 flags; /* BPF_ANY (default), BPF_NOEXIST or BPF_EXIST */
	/* Write the slot even if the device cannot transmit XDP frames now
	 * (it does not advertise ndo_xdp_xmit). Only generic-XDP users, whose
	 * redirects go through the skb path, want this. */
	bool skip_xmit_check;
	/* With prog_fd -1: run no program even if the map has a default
	 * (12-byte values, patched kernels). */
	bool no_default;
	size_t :0;
};
#define bpfext_devmap_set_opts__last_field no_default

/**
 * @brief **bpfext_devmap_set()** points a slot at a device, with an egress
 * program or without. Everything is validated before the map is touched; on
 * failure the slot is exactly as it was.
 * @param map_fd a devmap or devmap_hash
 * @param key the slot
 * @param ifindex the device frames redirected to the slot go out of
 * @param prog_fd the egress program (expected attach type BPF_XDP_DEVMAP), or
 * BPFEXT_NO_PROG (-1) for none
 * @param opts options, or NULL
 * @return 0 on success; a negative errno otherwise: -EBADF (map_fd or prog_fd
 * is not open), -EINVAL (bad opts or flags, not a devmap, ifindex 0, no room
 * for a program in 4-byte values, no_default misused, not an XDP program or
 * not one for devmap slots, or a program the map's others disagree with),
 * -E2BIG (key out of range for a DEVMAP; a full DEVMAP_HASH), -EEXIST
 * (BPF_NOEXIST on a DEVMAP, or on a slot in use), -ENOENT (BPF_EXIST on an
 * empty slot), -ENODEV (no such device in this namespace), -EOPNOTSUPP (the
 * device cannot transmit XDP frames now), -EPERM (read-only fd or frozen map)
 */
BPFEXT_API int bpfext_devmap_set(int map_fd, __u32 key, __u32 ifindex, int prog_fd,
				 const struct bpfext_devmap_set_opts *opts);

struct bpfext_devmap_slot {
	__u32 key;
	__u32 ifindex;
	__u32 prog_id; /* 0: no egress program */
	__u32 flags;   /* BPFEXT_SLOT_* (12-byte values only, else 0) */
};

/**
 * @brief **bpfext_devmap_get()** reads one slot.
 * @param map_fd a devmap or devmap_hash
 * @param key the slot
 * @param slot filled on success
 * @return 0 on success; a negative errno otherwise: -EBADF, -EINVAL (not a
 * devmap), -ENOENT (the slot is empty)
 */
BPFEXT_API int bpfext_devmap_get(int map_fd, __u32 key, struct bpfext_devmap_slot *slot);

/**
 * @brief **bpfext_devmap_delete()** clears one slot; its program is released.
 * @param map_fd a devmap or devmap_hash
 * @param key the slot
 * @return 0 on success; a negative errno otherwise: -EBADF, -EINVAL (not a
 * devmap), -E2BIG (key out of range for a DEVMAP), -ENOENT (already empty,
 * for both map types), -EPERM (read-only fd or frozen map)
 */
BPFEXT_API int bpfext_devmap_delete(int map_fd, __u32 key);

/**
 * @brief **bpfext_devmap_next()** iterates over the slots in use.
 * @param map_fd a devmap or devmap_hash
 * @param prev_key NULL for the first slot, then the previous slot's key
 * @param slot filled with the next slot in use
 * @return 0 on success; -ENOENT after the last slot (bpfext_errmsg() is left
 * as it was); another negative errno on failure: -EBADF, -EINVAL (not a
 * devmap)
 */
BPFEXT_API int bpfext_devmap_next(int map_fd, const __u32 *prev_key,
				  struct bpfext_devmap_slot *slot);

#ifdef __cplusplus
}
#endif
#endif
