// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* CPUMAP slots: (cpu, qsize, program). Checked before the update; the kernel
 * reports a refused program as ENOMEM, so that case is diagnosed after. */
#include <errno.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "bpf_ext/cpumap.h"
#include "bpf_ext/default_prog.h"
#include "internal.h"

static const enum bpf_map_type cpumap_types[] = { BPF_MAP_TYPE_CPUMAP, BPF_MAP_TYPE_UNSPEC };

int bpfext_cpumap_create(const char *name, __u32 max_entries,
			 const struct bpfext_cpumap_create_opts *opts)
{
	LIBBPF_OPTS(bpf_map_create_opts, create);
	__u32 value_size;
	int fd, default_fd, err;

	if (!EXT_OPTS_VALID(opts, bpfext_cpumap_create_opts))
		return -EINVAL;
	err = ext_check_map_name(name);
	if (err)
		return err;
	if (!max_entries) {
		int n = libbpf_num_possible_cpus();

		if (n < 0)
			return ext_fail(-n, "cannot count the possible CPUs: %s", strerror(-n));
		max_entries = n;
	}
	default_fd = EXT_OPTS_GET(opts, default_prog_fd, 0);
	value_size = EXT_OPTS_GET(opts, value_size, 0) ?:
		(default_fd > 0 ? BPFEXT_SLOT_VALUE_EXT_SIZE : sizeof(struct bpf_cpumap_val));
	if (value_size != 4 && value_size != sizeof(struct bpf_cpumap_val) &&
	    value_size != BPFEXT_SLOT_VALUE_EXT_SIZE)
		return ext_fail(EINVAL, "cpumap value size %u: the kernel takes 4 (qsize), "
				"8 (qsize and program) or, patched, 12 (and slot flags)",
				value_size);
	if (default_fd > 0) {
		struct bpf_prog_info pi;

		err = ext_prog_info(default_fd, "cpumap", &pi);

		if (err)
			return err;
	}
	if ((default_fd > 0 || value_size == BPFEXT_SLOT_VALUE_EXT_SIZE) &&
	    !ext_default_prog_supported())
		return ext_patched_kernel_needed(default_fd > 0 ? "a cpumap with a default program"
								: "a cpumap with 12-byte values");
	create.map_flags = EXT_OPTS_GET(opts, map_flags, 0);
	create.numa_node = EXT_OPTS_GET(opts, numa_node, 0);
	create.map_extra = default_fd > 0 ? (__u64)default_fd : 0;

	fd = bpf_map_create(BPF_MAP_TYPE_CPUMAP, name, sizeof(__u32), value_size,
			    max_entries, &create);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case EPERM:
		return ext_fail(EPERM, "creating a cpumap needs CAP_SYS_ADMIN (or CAP_BPF "
				"and CAP_NET_ADMIN): run as root");
	case E2BIG:
		return ext_fail(E2BIG, "a cpumap has at most one slot per possible CPU "
				"number (NR_CPUS); %u is too many", max_entries);
	case ELOOP:
		return ext_fail(ELOOP, "the default program uses this cpumap itself (e.g. "
				"redirects into it): the two would keep each other alive "
				"forever; pick a default that redirects elsewhere");
	case EINVAL:
		if (default_fd > 0)
			return ext_fail(EINVAL, "the kernel refused the default program: it must "
					"be loaded from SEC(\"xdp/cpumap\") (expected attach type "
					"BPF_XDP_CPUMAP)");
		if (value_size == 8)
			return ext_fail(EINVAL, "the kernel refused a cpumap with 8-byte "
					"values: programs in cpumap slots need Linux 5.9 or "
					"later (check with 'devmapctl probe')");
		/* fallthrough */
	default:
		return ext_fail(errno, "creating cpumap '%s' failed: %s", name ?: "",
				strerror(errno));
	}
}

static int lookup_slot(int map_fd, const struct bpf_map_info *mi, __u32 cpu,
		       struct bpfext_cpumap_slot *slot)
{
	struct ext_slot_val val = {};

	if (bpf_map_lookup_elem(map_fd, &cpu, &val)) {
		if (errno == ENOENT)
			return -ENOENT; /* iteration skips these: keep errmsg */
		return ext_fail(errno, "reading CPU %u's slot of map '%s' failed: %s", cpu,
				mi->name, strerror(errno));
	}
	slot->cpu = cpu;
	slot->qsize = val.target;
	slot->prog_id = mi->value_size >= sizeof(struct bpf_cpumap_val) ? val.prog.id : 0;
	slot->flags = mi->value_size >= BPFEXT_SLOT_VALUE_EXT_SIZE ? val.flags : 0;
	return 0;
}

static int check_cpu(const struct bpf_map_info *mi, __u32 cpu, bool allow_offline)
{
	bool possible, online;
	int err;

	if (cpu >= mi->max_entries)
		return ext_fail(E2BIG, "CPU %u is out of range: map '%s' has slots for CPUs "
				"0..%u", cpu, mi->name, mi->max_entries - 1);
	err = ext_cpu_state(cpu, &possible, &online);
	if (err)
		return err;
	if (!possible)
		return ext_fail(ENODEV, "CPU %u does not exist on this machine (not in "
				"/sys/devices/system/cpu/possible): pick another CPU", cpu);
	if (!online && !allow_offline)
		return ext_fail(ENODEV, "CPU %u is offline, so its slot's kthread would "
				"never run: bring it online (echo 1 > /sys/devices/system/"
				"cpu/cpu%u/online) or set allow_offline", cpu, cpu);
	return 0;
}

int bpfext_cpumap_set(int map_fd, __u32 cpu, __u32 qsize, int prog_fd,
		      const struct bpfext_cpumap_set_opts *opts)
{
	struct ext_slot_val val = { .target = qsize, .prog.fd = -1 };
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	__u64 flags;
	int err, owned = -1;

	if (!EXT_OPTS_VALID(opts, bpfext_cpumap_set_opts))
		return -EINVAL;
	err = ext_map_info(map_fd, cpumap_types, &mi);
	if (err)
		return err;
	flags = EXT_OPTS_GET(opts, flags, BPF_ANY);
	if (flags == BPF_NOEXIST)
		return ext_fail(EEXIST, "BPF_NOEXIST cannot be used on cpumap '%s': every "
				"CPU's slot always exists; use BPF_ANY", mi.name);
	if (flags > BPF_EXIST)
		return ext_fail(EINVAL, "flags 0x%llx: a slot write takes BPF_ANY or "
				"BPF_EXIST", (unsigned long long)flags);
	err = check_cpu(&mi, cpu, EXT_OPTS_GET(opts, allow_offline, false));
	if (err)
		return err;
	if (qsize < BPFEXT_CPUMAP_QSIZE_MIN)
		return ext_fail(EINVAL, "qsize 0 would empty CPU %u's slot: use "
				"bpfext_cpumap_delete() for that, or give a queue size of "
				"%u..%u frames", cpu, BPFEXT_CPUMAP_QSIZE_MIN,
				BPFEXT_CPUMAP_QSIZE_MAX);
	if (qsize > BPFEXT_CPUMAP_QSIZE_MAX)
		return ext_fail(EOVERFLOW, "qsize %u is above the kernel's limit of %u "
				"frames per CPU queue: use %u..%u (2048 is typical)", qsize,
				BPFEXT_CPUMAP_QSIZE_MAX, BPFEXT_CPUMAP_QSIZE_MIN,
				BPFEXT_CPUMAP_QSIZE_MAX);
	if (flags == BPF_EXIST) {
		struct bpfext_cpumap_slot cur;

		err = lookup_slot(map_fd, &mi, cpu, &cur);
		if (err == -ENOENT)
			return ext_fail(ENOENT, "CPU %u has no slot in map '%s' and BPF_EXIST "
					"was given", cpu, mi.name);
	}
	if (prog_fd >= 0) {
		if (mi.value_size < sizeof(struct bpf_cpumap_val))
			return ext_fail(EINVAL, "map '%s' has %u-byte values, with no room "
					"for a program: recreate it with 8-byte values "
					"(bpfext_cpumap_create's default)", mi.name,
					mi.value_size);
		err = ext_prog_info(prog_fd, "cpumap", &pi);
		if (err)
			return err;
		val.prog.fd = ext_slot_prog_fd(prog_fd, &owned);
		if (val.prog.fd < 0)
			return val.prog.fd;
	}
	if (EXT_OPTS_GET(opts, no_default, false)) {
		if (prog_fd >= 0 || mi.value_size < BPFEXT_SLOT_VALUE_EXT_SIZE) {
			if (owned >= 0)
				close(owned);
			return ext_fail(EINVAL, prog_fd >= 0 ?
					"no_default is for a slot without a program: pass "
					"prog_fd -1, or drop no_default" :
					"map '%s' cannot say 'no default program' with %u-byte "
					"values: create it with 12-byte values (patched kernels)",
					mi.name, mi.value_size);
		}
		val.flags = BPFEXT_SLOT_NO_DEFAULT;
	}

	err = bpf_map_update_elem(map_fd, &cpu, &val, BPF_ANY) ? errno : 0;
	if (owned >= 0)
		close(owned);
	switch (err) {
	case 0:
		return 0;
	case EPERM:
		return ext_fail(EPERM, "map '%s' is not writable through this fd (opened "
				"read-only or frozen): open it read-write", mi.name);
	case ENOMEM:
		/* Every failure inside the kernel's entry allocation, a refused
		 * program included, comes back as ENOMEM. */
		if (prog_fd >= 0)
			return ext_explain_prog_refusal(-ENOMEM, prog_fd, BPF_MAP_TYPE_CPUMAP,
							&pi, mi.name);
		return ext_fail(ENOMEM, "the kernel could not allocate CPU %u's queue of "
				"%u frames or its kthread: try a smaller qsize", cpu, qsize);
	default:
		return ext_fail(err, "writing CPU %u's slot of map '%s' failed: %s", cpu,
				mi.name, strerror(err));
	}
}

int bpfext_cpumap_get(int map_fd, __u32 cpu, struct bpfext_cpumap_slot *slot)
{
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, cpumap_types, &mi);

	if (!err)
		err = lookup_slot(map_fd, &mi, cpu, slot);
	if (err == -ENOENT)
		return ext_fail(ENOENT, "CPU %u has no slot in map '%s'", cpu, mi.name);
	return err;
}

int bpfext_cpumap_delete(int map_fd, __u32 cpu)
{
	struct bpfext_cpumap_slot cur;
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, cpumap_types, &mi);

	if (err)
		return err;
	if (cpu >= mi.max_entries)
		return ext_fail(E2BIG, "CPU %u is out of range: map '%s' has slots for CPUs "
				"0..%u", cpu, mi.name, mi.max_entries - 1);
	/* The kernel "deletes" an empty slot without a word: say it, as for
	 * DEVMAP_HASH. */
	err = lookup_slot(map_fd, &mi, cpu, &cur);
	if (err == -ENOENT)
		return ext_fail(ENOENT, "CPU %u's slot of map '%s' is already empty", cpu,
				mi.name);
	if (err)
		return err;
	if (bpf_map_delete_elem(map_fd, &cpu))
		return ext_fail(errno, "clearing CPU %u's slot of map '%s' failed: %s", cpu,
				mi.name, strerror(errno));
	return 0;
}

int bpfext_cpumap_next(int map_fd, const __u32 *prev_cpu, struct bpfext_cpumap_slot *slot)
{
	const __u32 *prev = prev_cpu;
	struct bpf_map_info mi;
	__u32 cpu;
	int err = ext_map_info(map_fd, cpumap_types, &mi);

	if (err)
		return err;
	while (!bpf_map_get_next_key(map_fd, prev, &cpu)) {
		err = lookup_slot(map_fd, &mi, cpu, slot);
		if (err != -ENOENT)
			return err;
		prev = &cpu;
	}
	if (errno == ENOENT)
		return ext_err(-ENOENT);
	return ext_fail(errno, "iterating map '%s' failed: %s", mi.name, strerror(errno));
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
