/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPUMAP slots that carry a program. A slot (cpu, qsize, program) starts a
 * kthread on `cpu` with a ring of `qsize` frames; the program (expected attach
 * type BPF_XDP_CPUMAP) runs there on every frame and may pass, drop or
 * redirect it again. */
#ifndef BPF_EXT_CPUMAP_H
#define BPF_EXT_CPUMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>

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
	int default_prog_fd; /* patched kernels; implies 12-byte values */
	size_t :0;
};
#define bpfext_cpumap_create_opts__last_field default_prog_fd

/* Create a BPF_MAP_TYPE_CPUMAP; max_entries 0 means one slot per possible CPU. */
int bpfext_cpumap_create(const char *name, __u32 max_entries,
			 const struct bpfext_cpumap_create_opts *opts);

struct bpfext_cpumap_set_opts {
	size_t sz;
	__u64 flags;       /* BPF_ANY (default) or BPF_EXIST */
	bool allow_offline; /* accept a possible but offline CPU */
	bool no_default;    /* with prog_fd -1: not even the map's default */
	size_t :0;
};
#define bpfext_cpumap_set_opts__last_field no_default

/* Give CPU `cpu` a queue of `qsize` frames and program `prog_fd` (-1: none).
 * Validated first; on failure the slot is exactly as it was. */
int bpfext_cpumap_set(int map_fd, __u32 cpu, __u32 qsize, int prog_fd,
		      const struct bpfext_cpumap_set_opts *opts);

struct bpfext_cpumap_slot {
	__u32 cpu;
	__u32 qsize;
	__u32 prog_id; /* 0: no program */
	__u32 flags;   /* BPFEXT_SLOT_* (12-byte values only, else 0) */
};

int bpfext_cpumap_get(int map_fd, __u32 cpu, struct bpfext_cpumap_slot *slot);
/* Clearing a slot stops its kthread and releases its program. -ENOENT when
 * already empty. */
int bpfext_cpumap_delete(int map_fd, __u32 cpu);
int bpfext_cpumap_next(int map_fd, const __u32 *prev_cpu, struct bpfext_cpumap_slot *slot);

struct bpf_object;
/* Before loading an object: shrink each CPUMAP declared larger than this
 * machine's possible CPUs. The kernel refuses a cpumap larger than NR_CPUS
 * (E2BIG), and BPF sources cannot know the target's NR_CPUS. */
int bpfext_cpumap_fit_object(struct bpf_object *obj);

#ifdef __cplusplus
}
#endif
#endif
