/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPUMAP slots that carry a program. A slot (cpu, qsize, program) starts a
 * kthread on `cpu` with a ring of `qsize` frames; the program (expected attach
 * type BPF_XDP_CPUMAP) runs there on every frame and may pass, drop or
 * redirect it again. Conventions (errors, opts, "no program"):
 * bpf_ext_common.h. */
#ifndef BPF_EXT_CPUMAP_H
#define BPF_EXT_CPUMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <bpf_ext/bpf_ext_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits the kernel enforces on a slot's queue size. */
#define BPFEXT_CPUMAP_QSIZE_MIN 1
#define BPFEXT_CPUMAP_QSIZE_MAX 16384

struct bpfext_cpumap_create_opts {
	size_t sz;
	__u32 value_size; /* 8 (qsize + program, the default), 4, or 12 (+ flags) */
	__u32 map_flags;
	__u32 numa_node;
	int default_prog_fd; /* patched kernels; 0: none; implies 12-byte values */
	size_t :0;
};
#define bpfext_cpumap_create_opts__last_field default_prog_fd

/**
 * @brief **bpfext_cpumap_create()** creates a BPF_MAP_TYPE_CPUMAP with room
 * for a program in each value.
 * @param name the map's name: at most 15 characters from [A-Za-z0-9_.], or
 * NULL
 * @param max_entries number of slots (CPUs); 0: one per possible CPU
 * @param opts options, or NULL
 * @return the map fd on success; a negative errno otherwise: -EINVAL (bad
 * opts, name or value size, or the kernel refused the default program or
 * 8-byte values), -EBADF (default_prog_fd is not open), -EOPNOTSUPP (default
 * program or 12-byte values on a stock kernel), -EPERM (no privileges),
 * -E2BIG (more slots than the kernel's NR_CPUS), -ELOOP (the default program
 * uses this map)
 */
BPFEXT_API int bpfext_cpumap_create(const char *name, __u32 max_entries,
				    const struct bpfext_cpumap_create_opts *opts);

struct bpfext_cpumap_set_opts {
	size_t sz;
	__u64 flags;       /* BPF_ANY (default) or BPF_EXIST */
	bool allow_offline; /* accept a possible but offline CPU */
	bool no_default;    /* with prog_fd -1: not even the map's default */
	size_t :0;
};
#define bpfext_cpumap_set_opts__last_field no_default

/**
 * @brief **bpfext_cpumap_set()** gives a CPU a queue and, optionally, a
 * program. Validated first; on failure the slot is exactly as it was.
 * @param map_fd a cpumap
 * @param cpu the slot: a possible CPU below the map's max_entries
 * @param qsize the queue's size in frames, BPFEXT_CPUMAP_QSIZE_MIN..MAX
 * @param prog_fd the program (expected attach type BPF_XDP_CPUMAP), or
 * BPFEXT_NO_PROG (-1) for none
 * @param opts options, or NULL
 * @return 0 on success; a negative errno otherwise: -EBADF (map_fd or prog_fd
 * is not open), -EINVAL (bad opts or flags, not a cpumap, qsize 0, no room
 * for a program in 4-byte values, no_default misused, not an XDP program or
 * not one for cpumap slots), -EEXIST (BPF_NOEXIST: every CPU's slot exists),
 * -E2BIG (cpu out of range), -ENODEV (no such CPU, or offline without
 * allow_offline), -EOVERFLOW (qsize above the kernel's limit), -ENOENT
 * (BPF_EXIST on an empty slot), -EPERM (read-only fd or frozen map), -ENOMEM
 * (the kernel could not allocate the queue or kthread)
 */
BPFEXT_API int bpfext_cpumap_set(int map_fd, __u32 cpu, __u32 qsize, int prog_fd,
				 const struct bpfext_cpumap_set_opts *opts);

struct bpfext_cpumap_slot {
	__u32 cpu;
	__u32 qsize;
	__u32 prog_id; /* 0: no program */
	__u32 flags;   /* BPFEXT_SLOT_* (12-byte values only, else 0) */
};

/**
 * @brief **bpfext_cpumap_get()** reads one CPU's slot.
 * @param map_fd a cpumap
 * @param cpu the slot
 * @param slot filled on success
 * @return 0 on success; a negative errno otherwise: -EBADF, -EINVAL (not a
 * cpumap), -ENOENT (the CPU has no queue)
 */
BPFEXT_API int bpfext_cpumap_get(int map_fd, __u32 cpu, struct bpfext_cpumap_slot *slot);

/**
 * @brief **bpfext_cpumap_delete()** clears a CPU's slot: its kthread stops
 * and its program is released.
 * @param map_fd a cpumap
 * @param cpu the slot
 * @return 0 on success; a negative errno otherwise: -EBADF, -EINVAL (not a
 * cpumap), -E2BIG (cpu out of range), -ENOENT (already empty), -EPERM
 * (read-only fd or frozen map)
 */
BPFEXT_API int bpfext_cpumap_delete(int map_fd, __u32 cpu);

/**
 * @brief **bpfext_cpumap_next()** iterates over the CPUs that have a queue.
 * @param map_fd a cpumap
 * @param prev_cpu NULL for the first slot, then the previous slot's cpu
 * @param slot filled with the next slot in use
 * @return 0 on success; -ENOENT after the last slot (bpfext_errmsg() is left
 * as it was); another negative errno on failure: -EBADF, -EINVAL (not a
 * cpumap)
 */
BPFEXT_API int bpfext_cpumap_next(int map_fd, const __u32 *prev_cpu,
				  struct bpfext_cpumap_slot *slot);

struct bpf_object;

/**
 * @brief **bpfext_cpumap_fit_object()** shrinks, before loading, each CPUMAP
 * of an object declared larger than this machine's possible CPUs: the kernel
 * refuses a cpumap larger than NR_CPUS (E2BIG), and BPF sources cannot know
 * the target's NR_CPUS.
 * @param obj an opened, not yet loaded, libbpf object
 * @return 0 on success; a negative errno otherwise: -EINVAL (the object is
 * loaded already), or the errno of counting the possible CPUs
 */
BPFEXT_API int bpfext_cpumap_fit_object(struct bpf_object *obj);

#ifdef __cplusplus
}
#endif
#endif
