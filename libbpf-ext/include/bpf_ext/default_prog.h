/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map-wide default programs for DEVMAP, DEVMAP_HASH and CPUMAP.
 *
 * Needs the project's kernel patches (kernel-patches/ 0003-0004); a stock
 * kernel refuses every call here with a message that says so (probe first
 * with bpfext_probe(): features.default_prog).
 *
 * A slot written with its own program keeps it; a slot written without one
 * inherits the map's default at run time, so replacing the default switches
 * every inheriting slot in one syscall; a slot written with no_default runs
 * no program even when the map has a default. Reading a slot of a map with
 * 12-byte values tells which program runs and whether it is inherited. */
#ifndef BPF_EXT_DEFAULT_PROG_H
#define BPF_EXT_DEFAULT_PROG_H

#include <linux/types.h>
#include <bpf_ext/bpf_ext_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Value size that carries the slot flags below (ifindex or qsize, program,
 * flags). Maps created with a default program get it by default. */
#define BPFEXT_SLOT_VALUE_EXT_SIZE 12

/* Slot flags (struct bpfext_devmap_slot.flags, bpfext_cpumap_slot.flags). */
#define BPFEXT_SLOT_NO_DEFAULT (1U << 0) /* opted out: runs no program */
#define BPFEXT_SLOT_INHERITED  (1U << 1) /* prog_id is the map's default */

/**
 * @brief **bpfext_map_set_default_prog()** sets, or atomically replaces, the
 * default program of a devmap, devmap_hash or cpumap (patched kernels).
 * @param map_fd the map
 * @param prog_fd an XDP program loaded with expected attach type
 * BPF_XDP_DEVMAP (devmaps) or BPF_XDP_CPUMAP (cpumaps)
 * @return 0 on success; a negative errno otherwise: -EBADF (an fd is not
 * open), -EINVAL (not a slot map, not an XDP program, wrong attach type),
 * -EOPNOTSUPP (a kernel without default programs), -ELOOP (the program uses
 * this map), -EPERM (the map is read-only through map_fd, or frozen)
 */
BPFEXT_API int bpfext_map_set_default_prog(int map_fd, int prog_fd);

/**
 * @brief **bpfext_map_clear_default_prog()** removes the default program;
 * inheriting slots then run no program.
 * @param map_fd the map
 * @return 0 on success; a negative errno otherwise: -EBADF, -EINVAL (not a
 * slot map), -EOPNOTSUPP (a kernel without default programs), -ENOENT (the map
 * had no default), -EPERM (read-only or frozen)
 */
BPFEXT_API int bpfext_map_clear_default_prog(int map_fd);

/**
 * @brief **bpfext_map_get_default_prog()** reads which program is the default.
 * @param map_fd the map
 * @param prog_id set to the default program's id, 0 when there is none
 * (always 0 on a stock kernel)
 * @return 0 on success; a negative errno otherwise: -EBADF, -EINVAL (not a
 * slot map)
 */
BPFEXT_API int bpfext_map_get_default_prog(int map_fd, __u32 *prog_id);

#ifdef __cplusplus
}
#endif
#endif
