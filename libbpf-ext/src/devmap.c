// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* DEVMAP / DEVMAP_HASH slots: (ifindex, egress program). Every input is
 * checked before bpf_map_update_elem(), so a refused call leaves the slot as
 * it was; what the kernel still refuses is explained after the fact. */
#include <errno.h>
#include <unistd.h>

#include "bpf_ext/default_prog.h"
#include "bpf_ext/devmap.h"
#include "internal.h"

static const enum bpf_map_type devmap_types[] = {
	BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_UNSPEC,
};

int bpfext_devmap_create(enum bpf_map_type type, const char *name, __u32 max_entries,
			 const struct bpfext_devmap_create_opts *opts)
{
	LIBBPF_OPTS(bpf_map_create_opts, create);
	__u32 value_size;
	int fd, default_fd, err;

	if (!EXT_OPTS_VALID(opts, bpfext_devmap_create_opts))
		return -EINVAL;
	if (type != BPF_MAP_TYPE_DEVMAP && type != BPF_MAP_TYPE_DEVMAP_HASH)
		return ext_fail(EINVAL, "map type %s is not a devmap: use "
				"BPF_MAP_TYPE_DEVMAP or BPF_MAP_TYPE_DEVMAP_HASH",
				ext_map_type_str(type));
	if (!max_entries)
		return ext_fail(EINVAL, "a devmap needs at least one slot (max_entries 0)");
	err = ext_check_map_name(name);
	if (err)
		return err;
	default_fd = EXT_OPTS_GET(opts, default_prog_fd, 0);
	value_size = EXT_OPTS_GET(opts, value_size, 0) ?:
		(default_fd > 0 ? BPFEXT_SLOT_VALUE_EXT_SIZE : sizeof(struct bpf_devmap_val));
	if (value_size != 4 && value_size != sizeof(struct bpf_devmap_val) &&
	    value_size != BPFEXT_SLOT_VALUE_EXT_SIZE)
		return ext_fail(EINVAL, "devmap value size %u: the kernel takes 4 "
				"(ifindex), 8 (ifindex and program) or, patched, 12 "
				"(and slot flags)", value_size);
	if (default_fd > 0) {
		struct bpf_prog_info pi;

		err = ext_prog_info(default_fd, "devmap", &pi);

		if (err)
			return err;
	}
	if ((default_fd > 0 || value_size == BPFEXT_SLOT_VALUE_EXT_SIZE) &&
	    !ext_default_prog_supported())
		return ext_patched_kernel_needed(default_fd > 0 ? "a devmap with a default program"
								: "a devmap with 12-byte values");
	create.map_flags = EXT_OPTS_GET(opts, map_flags, 0);
	create.numa_node = EXT_OPTS_GET(opts, numa_node, 0);
	create.map_extra = default_fd > 0 ? (__u64)default_fd : 0;

	fd = bpf_map_create(type, name, sizeof(__u32), value_size, max_entries, &create);
	if (fd >= 0)
		return fd;
	switch (errno) {
	case EPERM:
		return ext_fail(EPERM, "creating a devmap needs CAP_NET_ADMIN and CAP_BPF "
				"(or CAP_SYS_ADMIN): run as root");
	case ELOOP:
		return ext_fail(ELOOP, "the default program uses a map that would hold it "
				"forever: pick a default that does not use this map");
	case EINVAL:
		if (default_fd > 0)
			return ext_fail(EINVAL, "the kernel refused the default program: it must "
					"be loaded from SEC(\"xdp/devmap\") (expected attach type "
					"BPF_XDP_DEVMAP)");
		if (value_size == 8)
			return ext_fail(EINVAL, "the kernel refused a %s with 8-byte values: "
					"programs in devmap slots need Linux 5.8 or later "
					"(check with 'devmapctl probe')",
					ext_map_type_str(type));
		return ext_fail(EINVAL, "the kernel refused a %s with %u slots "
				"(flags 0x%x): %s", ext_map_type_str(type), max_entries,
				create.map_flags, strerror(EINVAL));
	default:
		return ext_fail(errno, "creating %s '%s' failed: %s", ext_map_type_str(type),
				name ?: "", strerror(errno));
	}
}

static int lookup_slot(int map_fd, const struct bpf_map_info *mi, __u32 key,
		       struct bpfext_devmap_slot *slot)
{
	struct ext_slot_val val = {};

	if (bpf_map_lookup_elem(map_fd, &key, &val)) {
		if (errno == ENOENT)
			return -ENOENT; /* iteration skips these: keep errmsg */
		return ext_fail(errno, "reading slot %u of map '%s' failed: %s", key,
				mi->name, strerror(errno));
	}
	slot->key = key;
	slot->ifindex = val.target;
	slot->prog_id = mi->value_size >= sizeof(struct bpf_devmap_val) ? val.prog.id : 0;
	slot->flags = mi->value_size >= BPFEXT_SLOT_VALUE_EXT_SIZE ? val.flags : 0;
	return 0;
}

static int explain_update(int err, const struct bpf_map_info *mi, __u32 key,
			  __u32 ifindex, int prog_fd, const struct bpf_prog_info *pi)
{
	switch (err) {
	case EPERM:
		return ext_fail(EPERM, "map '%s' is not writable through this fd (opened "
				"read-only or frozen): open it read-write", mi->name);
	case E2BIG:
		if (mi->type == BPF_MAP_TYPE_DEVMAP_HASH)
			return ext_fail(E2BIG, "map '%s' is full (%u slots in use): delete a "
					"slot or create a larger map", mi->name,
					mi->max_entries);
		return ext_fail(E2BIG, "key %u is out of range: map '%s' has slots 0..%u",
				key, mi->name, mi->max_entries - 1);
	case EEXIST:
		return ext_fail(EEXIST, "slot %u of map '%s' is already set and BPF_NOEXIST "
				"was given: delete it first or use BPF_ANY", key, mi->name);
	case EINVAL:
		if (prog_fd >= 0)
			return ext_explain_prog_refusal(-EINVAL, prog_fd, mi->type, pi,
							mi->name);
		return ext_fail(ENODEV, "the kernel refused ifindex %u for map '%s': the "
				"device went away or lives in another network namespace",
				ifindex, mi->name);
	default:
		return ext_fail(err, "writing slot %u of map '%s' failed: %s", key,
				mi->name, strerror(err));
	}
}

int bpfext_devmap_set(int map_fd, __u32 key, __u32 ifindex, int prog_fd,
		      const struct bpfext_devmap_set_opts *opts)
{
	struct ext_slot_val val = { .target = ifindex, .prog.fd = -1 };
	struct bpf_prog_info pi = {};
	struct bpf_map_info mi;
	char ifname[IF_NAMESIZE];
	__u64 flags;
	int err, owned = -1;

	if (!EXT_OPTS_VALID(opts, bpfext_devmap_set_opts))
		return -EINVAL;
	err = ext_map_info(map_fd, devmap_types, &mi);
	if (err)
		return err;
	flags = EXT_OPTS_GET(opts, flags, BPF_ANY);
	if (flags > BPF_EXIST)
		return ext_fail(EINVAL, "flags 0x%llx: a slot write takes BPF_ANY, "
				"BPF_NOEXIST or BPF_EXIST", (unsigned long long)flags);
	if (mi.type == BPF_MAP_TYPE_DEVMAP) {
		if (key >= mi.max_entries)
			return explain_update(E2BIG, &mi, key, ifindex, -1, NULL);
		if (flags == BPF_NOEXIST)
			return ext_fail(EEXIST, "BPF_NOEXIST cannot be used on DEVMAP '%s': "
					"every slot of an array devmap always exists; use "
					"BPF_ANY", mi.name);
	} else if (flags == BPF_EXIST) {
		/* The kernel ignores BPF_EXIST on DEVMAP_HASH; honour it here. */
		struct bpfext_devmap_slot cur;

		if (lookup_slot(map_fd, &mi, key, &cur) == -ENOENT)
			return ext_fail(ENOENT, "slot %u of map '%s' does not exist and "
					"BPF_EXIST was given", key, mi.name);
	}
	err = ext_device_name(ifindex, ifname);
	if (err)
		return err;
	if (prog_fd >= 0) {
		if (mi.value_size < sizeof(struct bpf_devmap_val))
			return ext_fail(EINVAL, "map '%s' has %u-byte values, with no room "
					"for a program: recreate it with 8-byte values "
					"(bpfext_devmap_create's default)", mi.name,
					mi.value_size);
		err = ext_prog_info(prog_fd, "devmap", &pi);
		if (err)
			return err;
	}
	if (EXT_OPTS_GET(opts, no_default, false)) {
		if (prog_fd >= 0)
			return ext_fail(EINVAL, "no_default is for a slot without a program: "
					"pass prog_fd -1, or drop no_default to give the slot "
					"its own program");
		if (mi.value_size < BPFEXT_SLOT_VALUE_EXT_SIZE)
			return ext_fail(EINVAL, "map '%s' has %u-byte values, which cannot say "
					"'no default program': create the map with 12-byte "
					"values (patched kernels)", mi.name, mi.value_size);
		val.flags = BPFEXT_SLOT_NO_DEFAULT;
	}
	if (!EXT_OPTS_GET(opts, skip_xmit_check, false) && ext_xdp_xmit_capable(ifindex) == 0)
		return ext_fail(EOPNOTSUPP, "device %s (ifindex %u) cannot transmit XDP "
				"frames now (no ndo_xdp_xmit), so frames redirected to "
				"this slot would be dropped; for a veth, attach an XDP "
				"program to its peer or enable GRO on the peer; for "
				"generic (skb) XDP set skip_xmit_check", ifname, ifindex);

	if (prog_fd >= 0) {
		val.prog.fd = ext_slot_prog_fd(prog_fd, &owned);
		if (val.prog.fd < 0)
			return val.prog.fd;
	}
	err = bpf_map_update_elem(map_fd, &key, &val, flags) ? errno : 0;
	if (owned >= 0)
		close(owned);
	if (err)
		return explain_update(err, &mi, key, ifindex, prog_fd, &pi);
	return 0;
}

int bpfext_devmap_get(int map_fd, __u32 key, struct bpfext_devmap_slot *slot)
{
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, devmap_types, &mi);

	if (!err)
		err = lookup_slot(map_fd, &mi, key, slot);
	if (err == -ENOENT)
		return ext_fail(ENOENT, "slot %u of map '%s' is empty", key, mi.name);
	return err;
}

int bpfext_devmap_delete(int map_fd, __u32 key)
{
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, devmap_types, &mi);

	if (err)
		return err;
	if (mi.type == BPF_MAP_TYPE_DEVMAP) {
		struct bpfext_devmap_slot cur;

		if (key >= mi.max_entries)
			return explain_update(E2BIG, &mi, key, 0, -1, NULL);
		/* The kernel "deletes" an empty array slot without a word;
		 * answer as for DEVMAP_HASH. */
		err = lookup_slot(map_fd, &mi, key, &cur);
		if (err == -ENOENT)
			return ext_fail(ENOENT, "slot %u of map '%s' is already empty", key,
					mi.name);
		if (err)
			return err;
	}
	if (bpf_map_delete_elem(map_fd, &key)) {
		if (errno == ENOENT)
			return ext_fail(ENOENT, "slot %u of map '%s' is already empty", key,
					mi.name);
		if (errno == EPERM)
			return explain_update(EPERM, &mi, key, 0, -1, NULL);
		return ext_fail(errno, "clearing slot %u of map '%s' failed: %s", key,
				mi.name, strerror(errno));
	}
	return 0;
}

int bpfext_devmap_next(int map_fd, const __u32 *prev_key, struct bpfext_devmap_slot *slot)
{
	const __u32 *prev = prev_key;
	struct bpf_map_info mi;
	__u32 key;
	int err = ext_map_info(map_fd, devmap_types, &mi);

	if (err)
		return err;
	/* Array devmaps list every index, used or not: skip the empty ones. */
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
