// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPUMAP slots: (cpu, qsize, program), written by the slot engine (slots.c);
 * here is only what is a cpumap's own: the CPU and its queue. */
#include <errno.h>
#include <bpf/libbpf.h>

#include "bpf_ext/cpumap.h"
#include "internal.h"

/* The CPU must exist and, unless told otherwise, be online; the queue size
 * within the kernel's limits. */
static int cpumap_check(const struct bpf_map_info *mi, const struct ext_slot_write *w)
{
	bool possible, online;
	int err;

	(void)mi;
	err = ext_cpu_state(w->key, &possible, &online);
	if (err)
		return err;
	if (!possible)
		return ext_fail(ENODEV, "CPU %u does not exist on this machine (not in "
				"/sys/devices/system/cpu/possible): pick another CPU", w->key);
	if (!online && !w->allow_offline)
		return ext_fail(ENODEV, "CPU %u is offline, so its slot's kthread would "
				"never run: bring it online (echo 1 > /sys/devices/system/"
				"cpu/cpu%u/online) or set allow_offline", w->key, w->key);
	if (w->target < BPFEXT_CPUMAP_QSIZE_MIN)
		return ext_fail(EINVAL, "qsize 0 would empty CPU %u's slot: use "
				"bpfext_cpumap_delete() for that, or give a queue size of "
				"%u..%u frames", w->key, BPFEXT_CPUMAP_QSIZE_MIN,
				BPFEXT_CPUMAP_QSIZE_MAX);
	if (w->target > BPFEXT_CPUMAP_QSIZE_MAX)
		return ext_fail(EOVERFLOW, "qsize %u is above the kernel's limit of %u "
				"frames per CPU queue: use %u..%u (2048 is typical)", w->target,
				BPFEXT_CPUMAP_QSIZE_MAX, BPFEXT_CPUMAP_QSIZE_MIN,
				BPFEXT_CPUMAP_QSIZE_MAX);
	return 0;
}

/* Every failure inside the kernel's entry allocation, a refused program
 * included, comes back as ENOMEM; the program's case is the engine's. */
static int cpumap_explain(int err, const struct bpf_map_info *mi, const struct ext_slot_write *w)
{
	(void)mi;
	if (err != ENOMEM)
		return 0;
	return ext_fail(ENOMEM, "the kernel could not allocate CPU %u's queue of %u frames or "
			"its kthread: try a smaller qsize", w->key, w->target);
}

static const enum bpf_map_type cpumap_types[] = { BPF_MAP_TYPE_CPUMAP, BPF_MAP_TYPE_UNSPEC };

static const struct ext_slot_kind cpumap_kind = {
	.role = "cpumap",
	.types = cpumap_types,
	.attach_name = "BPF_XDP_CPUMAP",
	.key = "CPU",
	.target = "qsize",
	.prog_value_size = sizeof(struct bpf_cpumap_val),
	.since = "5.9",
	.too_many_slots = "a cpumap has at most one slot per possible CPU number (NR_CPUS)",
	.prog_refused_errno = ENOMEM,
	.check = cpumap_check,
	.fast_check = cpumap_check,
	.explain = cpumap_explain,
};

static void to_cpumap_slot(const struct ext_slot *s, struct bpfext_cpumap_slot *out)
{
	out->cpu = s->key;
	out->qsize = s->target;
	out->prog_id = s->prog_id;
	out->flags = s->flags;
}

int bpfext_cpumap_create(const char *name, __u32 max_entries,
			 const struct bpfext_cpumap_create_opts *opts)
{
	struct ext_slot_create c = {
		.value_size = EXT_OPTS_GET(opts, value_size, 0),
		.map_flags = EXT_OPTS_GET(opts, map_flags, 0),
		.numa_node = EXT_OPTS_GET(opts, numa_node, 0),
		.default_prog_fd = EXT_OPTS_GET(opts, default_prog_fd, 0),
	};

	if (!EXT_OPTS_VALID(opts, bpfext_cpumap_create_opts))
		return -EINVAL;
	if (!max_entries) {
		int n = libbpf_num_possible_cpus();

		if (n < 0)
			return ext_fail(-n, "cannot count the possible CPUs: %s", strerror(-n));
		max_entries = n;
	}
	return ext_slot_map_create(&cpumap_kind, BPF_MAP_TYPE_CPUMAP, name, max_entries, &c);
}

int bpfext_cpumap_set(int map_fd, __u32 cpu, __u32 qsize, int prog_fd,
		      const struct bpfext_cpumap_set_opts *opts)
{
	struct ext_slot_write w = {
		.key = cpu,
		.target = qsize,
		.prog_fd = prog_fd,
		.flags = EXT_OPTS_GET(opts, flags, BPF_ANY),
		.no_default = EXT_OPTS_GET(opts, no_default, false),
		.allow_offline = EXT_OPTS_GET(opts, allow_offline, false),
	};

	if (!EXT_OPTS_VALID(opts, bpfext_cpumap_set_opts))
		return -EINVAL;
	return ext_slot_set(&cpumap_kind, map_fd, &w);
}

int bpfext_cpumap_get(int map_fd, __u32 cpu, struct bpfext_cpumap_slot *slot)
{
	struct ext_slot s;
	int err = ext_slot_get(&cpumap_kind, map_fd, cpu, &s);

	if (!err)
		to_cpumap_slot(&s, slot);
	return err;
}

int bpfext_cpumap_delete(int map_fd, __u32 cpu)
{
	return ext_slot_delete(&cpumap_kind, map_fd, cpu);
}

int bpfext_cpumap_next(int map_fd, const __u32 *prev_cpu, struct bpfext_cpumap_slot *slot)
{
	struct ext_slot s;
	int err = ext_slot_next(&cpumap_kind, map_fd, prev_cpu, &s);

	if (!err)
		to_cpumap_slot(&s, slot);
	return err;
}

int bpfext_cpumap_fit_object(struct bpf_object *obj)
{
	int ncpus = libbpf_num_possible_cpus();
	struct bpf_map *map;

	if (ncpus < 0)
		return ext_fail(-ncpus, "cannot count the possible CPUs: %s", strerror(-ncpus));
	bpf_object__for_each_map(map, obj) {
		if (bpf_map__type(map) != BPF_MAP_TYPE_CPUMAP ||
		    bpf_map__max_entries(map) <= (__u32)ncpus)
			continue;
		if (bpf_map__set_max_entries(map, ncpus))
			return ext_fail(EINVAL, "cannot resize cpumap '%s' (is the object "
					"loaded already?)", bpf_map__name(map));
	}
	return 0;
}
