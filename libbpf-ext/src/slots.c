// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The slot engine shared by DEVMAP, DEVMAP_HASH and CPUMAP: creating the map,
 * writing, reading, clearing and listing its slots. What differs between the
 * kinds is in their struct ext_slot_kind (devmap.c, cpumap.c). Every input is
 * checked before bpf_map_update_elem(), so a refused write leaves the slot as
 * it was; what the kernel still refuses is explained after the fact.
 *
 * A write takes the fast path first (slot_set_fast): the checks the kernel
 * does not make, from what costs no more than a syscall, then the update.
 * Anything it does not like, the kernel's refusal included, sends the write
 * down the checked path (slot_set_checked), which asks every question again
 * without trusting any cache and names the cause. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "bpf_ext/default_prog.h"
#include "internal.h"

/* Every slot of a DEVMAP or CPUMAP exists, used or not; a DEVMAP_HASH has
 * only the keys written into it. */
static bool every_slot_exists(const struct bpf_map_info *mi)
{
	return mi->type != BPF_MAP_TYPE_DEVMAP_HASH;
}

int ext_slot_map_create(const struct ext_slot_kind *k, enum bpf_map_type type, const char *name,
			__u32 max_entries, const struct ext_slot_create *c)
{
	LIBBPF_OPTS(bpf_map_create_opts, create);
	__u32 value_size = c->value_size;
	int fd, err;

	err = ext_check_map_name(name);
	if (err)
		return err;
	if (!value_size)
		value_size = c->default_prog_fd > 0 ? BPFEXT_SLOT_VALUE_EXT_SIZE : k->prog_value_size;
	if (value_size != 4 && value_size != k->prog_value_size &&
	    value_size != BPFEXT_SLOT_VALUE_EXT_SIZE)
		return ext_fail(EINVAL, "%s value size %u: the kernel takes 4 (%s), 8 (%s and "
				"program) or, patched, 12 (and slot flags)", k->role, value_size,
				k->target, k->target);
	if (c->default_prog_fd > 0) {
		struct bpf_prog_info pi;

		err = ext_prog_info(c->default_prog_fd, k->role, &pi);
		if (err)
			return err;
	}
	if ((c->default_prog_fd > 0 || value_size == BPFEXT_SLOT_VALUE_EXT_SIZE) &&
	    !ext_default_prog_supported()) {
		char what[64];

		snprintf(what, sizeof(what), "a %s with %s", k->role,
			 c->default_prog_fd > 0 ? "a default program" : "12-byte values");
		return ext_patched_kernel_needed(what);
	}
	create.map_flags = c->map_flags;
	create.numa_node = c->numa_node;
	create.map_extra = c->default_prog_fd > 0 ? (__u64)c->default_prog_fd : 0;

	fd = bpf_map_create(type, name, sizeof(__u32), value_size, max_entries, &create);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case EPERM:
		return ext_fail(EPERM, "creating a %s needs CAP_BPF and CAP_NET_ADMIN (or "
				"CAP_SYS_ADMIN): run as root", k->role);
	case E2BIG:
		if (k->too_many_slots)
			return ext_fail(E2BIG, "%s; %u is too many", k->too_many_slots, max_entries);
		break;
	case ELOOP:
		return ext_fail(ELOOP, "the default program uses this %s itself (e.g. redirects "
				"into it): the two would keep each other alive forever; pick "
				"a default that does not use this map", k->role);
	case EINVAL:
		if (c->default_prog_fd > 0)
			return ext_fail(EINVAL, "the kernel refused the default program: it must "
					"be loaded from SEC(\"xdp/%s\") (expected attach type %s)",
					k->role, k->attach_name);
		if (value_size == k->prog_value_size)
			return ext_fail(EINVAL, "the kernel refused a %s with %u-byte values: "
					"programs in %s slots need Linux %s or later (check with "
					"'devmapctl probe')", ext_map_type_str(type), value_size,
					k->role, k->since);
		return ext_fail(EINVAL, "the kernel refused a %s with %u slots (flags 0x%x): %s",
				ext_map_type_str(type), max_entries, create.map_flags,
				strerror(EINVAL));
	}
	return ext_fail(errno, "creating %s '%s' failed: %s", ext_map_type_str(type), name ?: "",
			strerror(errno));
}

/* -ENOENT, with bpfext_errmsg() untouched, for an empty slot. */
static int lookup_slot(int map_fd, const struct bpf_map_info *mi, __u32 key, struct ext_slot *slot)
{
	struct ext_slot_val val = {};

	if (bpf_map_lookup_elem(map_fd, &key, &val)) {
		if (errno == ENOENT)
			return -ENOENT;
		return ext_fail(errno, "reading slot %u of map '%s' failed: %s", key, mi->name,
				strerror(errno));
	}
	slot->key = key;
	slot->target = val.target;
	slot->prog_id = mi->value_size >= 8 ? val.prog.id : 0;
	slot->flags = mi->value_size >= BPFEXT_SLOT_VALUE_EXT_SIZE ? val.flags : 0;
	return 0;
}

static int key_in_range(const struct ext_slot_kind *k, const struct bpf_map_info *mi, __u32 key)
{
	if (every_slot_exists(mi) && key >= mi->max_entries)
		return ext_fail(E2BIG, "%s %u is out of range: map '%s' has slots 0..%u", k->key,
				key, mi->name, mi->max_entries - 1);
	return 0;
}

static int explain_update(const struct ext_slot_kind *k, int err, const struct bpf_map_info *mi,
			  const struct ext_slot_write *w, const struct bpf_prog_info *pi)
{
	switch (err) {
	case EPERM:
		return ext_not_writable(mi->name);
	case E2BIG:
		if (!every_slot_exists(mi))
			return ext_fail(E2BIG, "map '%s' is full (%u slots in use): delete a "
					"slot or create a larger map", mi->name, mi->max_entries);
		if (key_in_range(k, mi, w->key))
			return -E2BIG;
		break;
	case EEXIST:
		return ext_fail(EEXIST, "slot %u of map '%s' is already set and BPF_NOEXIST "
				"was given: delete it first or use BPF_ANY", w->key, mi->name);
	}
	if (err == k->prog_refused_errno && w->prog_fd >= 0)
		return ext_explain_prog_refusal(-err, w->prog_fd, mi->type, pi, mi->name);
	if (k->explain) {
		int ret = k->explain(err, mi, w);

		if (ret < 0)
			return ret;
	}
	return ext_fail(err, "writing slot %u of map '%s' failed: %s", w->key, mi->name,
			strerror(err));
}

static bool type_is(const struct ext_slot_kind *k, __u32 type)
{
	const enum bpf_map_type *t;

	for (t = k->types; *t; t++)
		if (type == *t)
			return true;
	return false;
}

/*
 * The fast path: 0 when the slot was written, 1 to take the checked path
 * (nothing written). It makes every check the kernel does not, so it never
 * writes what the checked path would refuse:
 *  - the map: one BPF_OBJ_GET_INFO_BY_FD. Without the checked path's look at
 *    /proc/self/fd it cannot tell a map fd from another BPF fd whose info
 *    happens to read alike, but bpf_map_update_elem() refuses any fd that is
 *    not a map;
 *  - flags, key range, BPF_NOEXIST on maps whose slots always exist, room
 *    for a program, no_default: from that info, no syscall. BPF_EXIST (the
 *    kernel ignores it on these maps) and program fd 0 go the checked way;
 *  - the kind's target (fast_check: a devmap's device can transmit XDP
 *    frames, from the cache in netdev.c);
 *  - the program: not asked about at all. The kernel takes a slot's program
 *    only if it is an XDP program with the slot's expected attach type (and
 *    agrees with the map's other programs), and refuses before it touches
 *    the slot, so a program of the wrong type costs a refused update and the
 *    checked path then says what is wrong with it. No program info is kept,
 *    so none can be stale, and program fds reused for another program are
 *    no concern.
 */
static int slot_set_fast(const struct ext_slot_kind *k, int map_fd, const struct ext_slot_write *w)
{
	struct ext_slot_val val = { .target = w->target, .prog.fd = -1 };
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);

	if (!k->fast_check || w->flags > BPF_NOEXIST || w->prog_fd == 0)
		return 1;
	if (bpf_obj_get_info_by_fd(map_fd, &mi, &len) || !type_is(k, mi.type) ||
	    mi.key_size != sizeof(__u32))
		return 1;
	if (every_slot_exists(&mi) && (w->key >= mi.max_entries || w->flags == BPF_NOEXIST))
		return 1;
	if (w->prog_fd > 0) {
		if (mi.value_size < k->prog_value_size || w->no_default)
			return 1;
		val.prog.fd = w->prog_fd;
	}
	if (w->no_default) {
		if (mi.value_size < BPFEXT_SLOT_VALUE_EXT_SIZE)
			return 1;
		val.flags = BPFEXT_SLOT_NO_DEFAULT;
	}
	if (k->fast_check(&mi, w))
		return 1;
	return bpf_map_update_elem(map_fd, &w->key, &val, w->flags) ? 1 : 0;
}

/* Every check, uncached, each failure explained. */
static int slot_set_checked(const struct ext_slot_kind *k, int map_fd,
			    const struct ext_slot_write *w)
{
	struct ext_slot_val val = { .target = w->target, .prog.fd = -1 };
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	struct ext_slot cur;
	int err, owned = -1;

	err = ext_map_info(map_fd, k->types, &mi);
	if (err)
		return err;
	if (w->flags > BPF_EXIST)
		return ext_fail(EINVAL, "flags 0x%llx: a slot write takes BPF_ANY, "
				"BPF_NOEXIST or BPF_EXIST", (unsigned long long)w->flags);
	err = key_in_range(k, &mi, w->key);
	if (err)
		return err;
	if (w->flags == BPF_NOEXIST && every_slot_exists(&mi))
		return ext_fail(EEXIST, "BPF_NOEXIST cannot be used on %s '%s': every slot "
				"of it always exists; use BPF_ANY", ext_map_type_str(mi.type),
				mi.name);
	/* The kernel ignores BPF_EXIST on these maps; honour it here. */
	if (w->flags == BPF_EXIST && lookup_slot(map_fd, &mi, w->key, &cur) == -ENOENT)
		return ext_fail(ENOENT, "slot %u of map '%s' does not exist (it is empty) and "
				"BPF_EXIST was given", w->key, mi.name);
	err = k->check(&mi, w);
	if (err)
		return err;
	if (w->prog_fd >= 0) {
		if (mi.value_size < k->prog_value_size)
			return ext_fail(EINVAL, "map '%s' has %u-byte values, with no room for "
					"a program: recreate it with %u-byte values "
					"(bpfext_%s_create's default)", mi.name, mi.value_size,
					k->prog_value_size, k->role);
		err = ext_prog_info(w->prog_fd, k->role, &pi);
		if (err)
			return err;
	}
	if (w->no_default) {
		if (w->prog_fd >= 0)
			return ext_fail(EINVAL, "no_default is for a slot without a program: "
					"pass prog_fd -1, or drop no_default to give the slot "
					"its own program");
		if (mi.value_size < BPFEXT_SLOT_VALUE_EXT_SIZE)
			return ext_fail(EINVAL, "map '%s' has %u-byte values, which cannot say "
					"'no default program': create the map with 12-byte "
					"values (patched kernels)", mi.name, mi.value_size);
		val.flags = BPFEXT_SLOT_NO_DEFAULT;
	}
	if (k->check_late) {
		err = k->check_late(&mi, w);
		if (err)
			return err;
	}

	if (w->prog_fd >= 0) {
		val.prog.fd = ext_slot_prog_fd(w->prog_fd, &owned);
		if (val.prog.fd < 0)
			return val.prog.fd;
	}
	err = bpf_map_update_elem(map_fd, &w->key, &val, w->flags) ? -errno : 0;
	if (owned >= 0)
		close(owned);
	return err ? explain_update(k, -err, &mi, w, &pi) : 0;
}

int ext_slot_set(const struct ext_slot_kind *k, int map_fd, const struct ext_slot_write *w)
{
	if (!slot_set_fast(k, map_fd, w))
		return 0;
	return slot_set_checked(k, map_fd, w);
}

int ext_slot_get(const struct ext_slot_kind *k, int map_fd, __u32 key, struct ext_slot *slot)
{
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, k->types, &mi);

	if (!err)
		err = lookup_slot(map_fd, &mi, key, slot);
	if (err == -ENOENT)
		return ext_fail(ENOENT, "slot %u of map '%s' is empty", key, mi.name);
	return err;
}

/* As slot_set_fast: 0 when the slot was cleared, 1 to take the checked path
 * (nothing cleared). The map's info without the look at /proc/self/fd, then
 * what the checked path does; a failure anywhere is explained by it. */
static int slot_delete_fast(const struct ext_slot_kind *k, int map_fd, __u32 key)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	struct ext_slot cur;

	if (bpf_obj_get_info_by_fd(map_fd, &mi, &len) || !type_is(k, mi.type) ||
	    mi.key_size != sizeof(__u32))
		return 1;
	if (every_slot_exists(&mi) &&
	    (key >= mi.max_entries || lookup_slot(map_fd, &mi, key, &cur)))
		return 1;
	return bpf_map_delete_elem(map_fd, &key) ? 1 : 0;
}

int ext_slot_delete(const struct ext_slot_kind *k, int map_fd, __u32 key)
{
	struct bpf_map_info mi;
	struct ext_slot cur;
	int err;

	if (!slot_delete_fast(k, map_fd, key))
		return 0;
	err = ext_map_info(map_fd, k->types, &mi);
	if (!err)
		err = key_in_range(k, &mi, key);
	if (err)
		return err;
	/* The kernel "deletes" an empty slot of a DEVMAP or CPUMAP without a
	 * word: answer as for a DEVMAP_HASH. */
	if (every_slot_exists(&mi)) {
		err = lookup_slot(map_fd, &mi, key, &cur);
		if (err == -ENOENT)
			goto empty;
		if (err)
			return err;
	}
	if (!bpf_map_delete_elem(map_fd, &key))
		return 0;
	switch (errno) {
	case ENOENT:
		goto empty;
	case EPERM:
		return ext_not_writable(mi.name);
	default:
		return ext_fail(errno, "clearing slot %u of map '%s' failed: %s", key, mi.name,
				strerror(errno));
	}
empty:
	return ext_fail(ENOENT, "slot %u of map '%s' is already empty", key, mi.name);
}

int ext_slot_next(const struct ext_slot_kind *k, int map_fd, const __u32 *prev_key,
		  struct ext_slot *slot)
{
	const __u32 *prev = prev_key;
	struct bpf_map_info mi;
	__u32 key;
	int err = ext_map_info(map_fd, k->types, &mi);

	if (err)
		return err;
	/* DEVMAP and CPUMAP list every index, used or not: skip the empty ones. */
	while (!bpf_map_get_next_key(map_fd, prev, &key)) {
		err = lookup_slot(map_fd, &mi, key, slot);
		if (err != -ENOENT)
			return err;
		prev = &key;
	}
	if (errno == ENOENT)
		return ext_err(-ENOENT);
	return ext_fail(errno, "iterating map '%s' failed: %s", mi.name, strerror(errno));
}
