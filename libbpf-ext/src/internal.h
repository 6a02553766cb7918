/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the libbpf-ext sources; not installed. */
#ifndef BPF_EXT_INTERNAL_H
#define BPF_EXT_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <bpf/bpf.h>

#include "bpf_ext/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Forward-compatible opts, as libbpf does it: a caller built against a newer
 * header may pass a larger struct, as long as the fields we do not know are
 * zero. */
bool ext_opts_valid(const void *opts, size_t known_sz, const char *type_name);
/* An output struct that starts with sz (bpfext_features,
 * bpfext_bypass_report): zeroed up to the caller's sz, sz kept. */
bool ext_out_reset(void *out, const char *type_name);
#define EXT_OPTS_VALID(opts, type) \
	ext_opts_valid(opts, offsetofend(struct type, type##__last_field), #type)
#define EXT_OPTS_HAS(opts, field) \
	((opts) && (opts)->sz >= offsetofend(typeof(*(opts)), field))
#define EXT_OPTS_GET(opts, field, fallback) \
	(EXT_OPTS_HAS(opts, field) ? (opts)->field : (fallback))
#ifndef offsetofend
#define offsetofend(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))
#endif

/* Record the explanation for this thread, set errno and return -err. */
int ext_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As libbpf's libbpf_err(): a negative ret is also left in errno. For the
 * returns that keep bpfext_errmsg() as it is (the end of an iteration). */
int ext_err(int ret);

/* What an fd refers to, read from /proc/self/fd without touching the object. */
enum ext_fd_kind {
	EXT_FD_CLOSED,
	EXT_FD_MAP,
	EXT_FD_PROG,
	EXT_FD_OTHER, /* open, but neither a BPF map nor a BPF program */
};
enum ext_fd_kind ext_fd_kind(int fd);

/* Map fd must be one of `types` (terminated by 0, BPF_MAP_TYPE_UNSPEC). */
int ext_map_info(int map_fd, const enum bpf_map_type *types, struct bpf_map_info *info);

/* Program fd must be an XDP program; fills info. `role` names the slot kind
 * in messages ("devmap", "cpumap"). */
int ext_prog_info(int prog_fd, const char *role, struct bpf_prog_info *info);

/* The kernel reads fd 0 in a slot value as "no program": hand it a copy of
 * the program fd that is at least 1. *owned is set to an fd to close after. */
int ext_slot_prog_fd(int prog_fd, int *owned);

/* After the kernel refused a program for a slot: find out why by writing it
 * into a fresh scratch map of the same kind, and build the explanation. */
int ext_explain_prog_refusal(int err, int prog_fd, enum bpf_map_type type,
			     const struct bpf_prog_info *pi, const char *map_name);

/* A slot value in any of the kernel's layouts: 4 bytes (ifindex or qsize),
 * 8 (+ program fd/id) or 12 (+ BPFEXT_SLOT_* flags, patched kernels). */
struct ext_slot_val {
	__u32 target; /* ifindex or qsize */
	union {
		int fd;
		__u32 id;
	} prog;
	__u32 flags;
};

/* The slot engine (slots.c). A slot, as bpfext_devmap_slot and
 * bpfext_cpumap_slot both have it. */
struct ext_slot {
	__u32 key; /* the key, or the CPU */
	__u32 target; /* ifindex or qsize */
	__u32 prog_id;
	__u32 flags;
};

/* One slot write, as the caller asked for it. */
struct ext_slot_write {
	__u32 key;
	__u32 target;
	int prog_fd; /* -1: none */
	__u64 flags; /* BPF_ANY, BPF_NOEXIST, BPF_EXIST */
	bool no_default;
	bool skip_xmit_check; /* devmap */
	bool allow_offline;   /* cpumap */
};

/* Map creation options, both kinds' opts read into one. */
struct ext_slot_create {
	__u32 value_size; /* 0: the default */
	__u32 map_flags;
	__u32 numa_node;
	int default_prog_fd; /* 0: none */
};

/* What differs between the kinds of slot map. */
struct ext_slot_kind {
	const char *role;               /* "devmap", "cpumap": SEC("xdp/<role>") */
	const enum bpf_map_type *types; /* its map types, BPF_MAP_TYPE_UNSPEC-terminated */
	const char *attach_name;        /* its programs' expected attach type */
	const char *key;                /* what a key is: "key", "CPU" */
	const char *target;             /* the value's first field: "ifindex", "qsize" */
	__u32 prog_value_size;          /* value size with a program */
	const char *since;              /* the Linux release that took programs in values */
	const char *too_many_slots;     /* why E2BIG at creation, or NULL */
	/* The kernel refuses a slot's program with this errno, and no more. */
	int prog_refused_errno;
	/* The kind's own checks of key and target, after the map and flags;
	 * check_late after the program's. Return 0 or ext_fail(). */
	int (*check)(const struct bpf_map_info *mi, const struct ext_slot_write *w);
	int (*check_late)(const struct bpf_map_info *mi, const struct ext_slot_write *w);
	/* The fast path's version of both (slots.c): 0 when the write may go
	 * ahead as far as the key and target are concerned, else nonzero (the
	 * checked path then runs check and check_late); cheap, may use caches.
	 * NULL: every write of this kind takes the checked path. */
	int (*fast_check)(const struct bpf_map_info *mi, const struct ext_slot_write *w);
	/* An update the kernel refused with errno err (not the program): return
	 * ext_fail() with the reason, or 0 for the generic message. */
	int (*explain)(int err, const struct bpf_map_info *mi, const struct ext_slot_write *w);
};

int ext_slot_map_create(const struct ext_slot_kind *k, enum bpf_map_type type, const char *name,
			__u32 max_entries, const struct ext_slot_create *c);
int ext_slot_set(const struct ext_slot_kind *k, int map_fd, const struct ext_slot_write *w);
int ext_slot_get(const struct ext_slot_kind *k, int map_fd, __u32 key, struct ext_slot *slot);
int ext_slot_delete(const struct ext_slot_kind *k, int map_fd, __u32 key);
int ext_slot_next(const struct ext_slot_kind *k, int map_fd, const __u32 *prev_key,
		  struct ext_slot *slot);
/* "map '%s' is not writable through this fd": -EPERM. */
int ext_not_writable(const char *map_name);

/* The frame every probe runs through its programs: 64 bytes, broadcast,
 * EtherType 0x88b5 (local experimental), zero payload. */
#define EXT_PROBE_FRAME_LEN 64
extern const unsigned char ext_probe_frame[EXT_PROBE_FRAME_LEN];

/* Map-wide default programs (kernel-patches/ 0003-0004). */
bool ext_default_prog_supported(void);
/* The explanation for a stock kernel: returns -EOPNOTSUPP. */
int ext_patched_kernel_needed(const char *what);

/* Devices. */
int ext_device_name(__u32 ifindex, char name[IF_NAMESIZE]);
/* 1: can transmit XDP frames (ndo_xdp_xmit), 0: cannot, <0: unknown (kernel
 * without netdev netlink, or the query failed). */
int ext_xdp_xmit_capable(__u32 ifindex);
/* The same answer from a per-namespace cache that the netdev family's
 * notifications keep fresh (netdev.c says why it cannot be stale). */
int ext_xdp_xmit_cached(__u32 ifindex);
/* What the cache has done since the process started (for tests). */
struct ext_xmit_cache_stats {
	unsigned long long queries;       /* DEV_GET asked: misses */
	unsigned long long hits;          /* answered from the cache */
	unsigned long long notifications; /* datagrams read from the subscription */
	unsigned long long flushes;       /* times every entry was forgotten */
};
void ext_xmit_cache_read_stats(struct ext_xmit_cache_stats *stats);

/* CPUs. */
int ext_parse_cpulist(const char *list, bool *mask, size_t mask_len);
int ext_cpu_state(__u32 cpu, bool *possible, bool *online);

/* A map name the kernel takes as it is: at most BPF_OBJ_NAME_LEN - 1
 * characters from [A-Za-z0-9_.] (libbpf would cut a longer one short; the
 * kernel refuses other characters with a bare EINVAL). NULL is no name. */
int ext_check_map_name(const char *name);

const char *ext_map_type_str(enum bpf_map_type t);
const char *ext_prog_type_str(enum bpf_prog_type t);

#ifdef __cplusplus
}
#endif
#endif
