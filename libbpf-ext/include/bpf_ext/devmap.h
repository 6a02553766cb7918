/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* DEVMAP and DEVMAP_HASH slots that carry an egress program.
 *
 * A slot holds (ifindex, program): frames redirected into the slot run the
 * program (expected attach type BPF_XDP_DEVMAP) before they are sent on the
 * device. The kernel holds the program while it is in the slot and drops it
 * when the slot is cleared, replaced, or its device unregisters. */
#ifndef BPF_EXT_DEVMAP_H
#define BPF_EXT_DEVMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>

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

/* Create a BPF_MAP_TYPE_DEVMAP or BPF_MAP_TYPE_DEVMAP_HASH with room for a
 * program in each value. Returns the map fd or a negative errno. */
int bpfext_devmap_create(enum bpf_map_type type, const char *name, __u32 max_entries,
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

/* Point slot `key` at device `ifindex`, with egress program `prog_fd`
 * (-1 for none). Everything is validated before the map is touched; on
 * failure the slot is exactly as it was. */
int bpfext_devmap_set(int map_fd, __u32 key, __u32 ifindex, int prog_fd,
		      const struct bpfext_devmap_set_opts *opts);

struct bpfext_devmap_slot {
	__u32 key;
	__u32 ifindex;
	__u32 prog_id; /* 0: no egress program */
	__u32 flags;   /* BPFEXT_SLOT_* (12-byte values only, else 0) */
};

/* Read one slot. -ENOENT when the slot is empty. */
int bpfext_devmap_get(int map_fd, __u32 key, struct bpfext_devmap_slot *slot);

/* Clear one slot; its program is released. -ENOENT when already empty. */
int bpfext_devmap_delete(int map_fd, __u32 key);

/* Iterate over the slots in use: pass prev_key NULL for the first one, then
 * the previous slot's key. Returns -ENOENT after the last slot. */
int bpfext_devmap_next(int map_fd, const __u32 *prev_key, struct bpfext_devmap_slot *slot);

#ifdef __cplusplus
}
#endif
#endif
