// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* DEVMAP / DEVMAP_HASH slots: (ifindex, egress program), written by the slot
 * engine (slots.c); here is only what is a devmap's own: the device. */
#include <errno.h>

#include "bpf_ext/devmap.h"
#include "internal.h"

/* The device must exist in this namespace. */
static int devmap_check(const struct bpf_map_info *mi, const struct ext_slot_write *w)
{
	char ifname[IF_NAMESIZE];

	(void)mi;
	return ext_device_name(w->target, ifname);
}

/* ... and be able to transmit XDP frames, unless told otherwise. */
static int devmap_check_late(const struct bpf_map_info *mi, const struct ext_slot_write *w)
{
	char ifname[IF_NAMESIZE];

	(void)mi;
	if (w->skip_xmit_check || ext_xdp_xmit_capable(w->target) != 0 ||
	    ext_device_name(w->target, ifname))
		return 0;
	return ext_fail(EOPNOTSUPP, "device %s (ifindex %u) cannot transmit XDP frames now (no "
			"ndo_xdp_xmit), so frames redirected to this slot would be dropped; for "
			"a veth, attach an XDP program to its peer or enable GRO on the peer; "
			"for generic (skb) XDP set skip_xmit_check", ifname, w->target);
}

/* The fast path's: ifindex 0 would empty the slot; a device that does not
 * exist the kernel refuses itself; whether it can transmit, the cache says. */
static int devmap_check_fast(const struct bpf_map_info *mi, const struct ext_slot_write *w)
{
	(void)mi;
	if (!w->target)
		return 1;
	return !w->skip_xmit_check && ext_xdp_xmit_cached(w->target) == 0;
}

static int devmap_explain(int err, const struct bpf_map_info *mi, const struct ext_slot_write *w)
{
	if (err != EINVAL)
		return 0;
	return ext_fail(ENODEV, "the kernel refused ifindex %u for map '%s': the device went "
			"away or lives in another network namespace", w->target, mi->name);
}

static const enum bpf_map_type devmap_types[] = {
	BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_UNSPEC,
};

static const struct ext_slot_kind devmap_kind = {
	.role = "devmap",
	.types = devmap_types,
	.attach_name = "BPF_XDP_DEVMAP",
	.key = "key",
	.target = "ifindex",
	.prog_value_size = sizeof(struct bpf_devmap_val),
	.since = "5.8",
	.prog_refused_errno = EINVAL,
	.check = devmap_check,
	.check_late = devmap_check_late,
	.fast_check = devmap_check_fast,
	.explain = devmap_explain,
};

static void to_devmap_slot(const struct ext_slot *s, struct bpfext_devmap_slot *out)
{
	out->key = s->key;
	out->ifindex = s->target;
	out->prog_id = s->prog_id;
	out->flags = s->flags;
}

int bpfext_devmap_create(enum bpf_map_type type, const char *name, __u32 max_entries,
			 const struct bpfext_devmap_create_opts *opts)
{
	struct ext_slot_create c = {
		.value_size = EXT_OPTS_GET(opts, value_size, 0),
		.map_flags = EXT_OPTS_GET(opts, map_flags, 0),
		.numa_node = EXT_OPTS_GET(opts, numa_node, 0),
		.default_prog_fd = EXT_OPTS_GET(opts, default_prog_fd, 0),
	};

	if (!EXT_OPTS_VALID(opts, bpfext_devmap_create_opts))
		return -EINVAL;
	if (type != BPF_MAP_TYPE_DEVMAP && type != BPF_MAP_TYPE_DEVMAP_HASH)
		return ext_fail(EINVAL, "map type %s is not a devmap: use "
				"BPF_MAP_TYPE_DEVMAP or BPF_MAP_TYPE_DEVMAP_HASH",
				ext_map_type_str(type));
	if (!max_entries)
		return ext_fail(EINVAL, "a devmap needs at least one slot (max_entries 0)");
	return ext_slot_map_create(&devmap_kind, type, name, max_entries, &c);
}

int bpfext_devmap_set(int map_fd, __u32 key, __u32 ifindex, int prog_fd,
		      const struct bpfext_devmap_set_opts *opts)
{
	struct ext_slot_write w = {
		.key = key,
		.target = ifindex,
		.prog_fd = prog_fd,
		.flags = EXT_OPTS_GET(opts, flags, BPF_ANY),
		.no_default = EXT_OPTS_GET(opts, no_default, false),
		.skip_xmit_check = EXT_OPTS_GET(opts, skip_xmit_check, false),
	};

	if (!EXT_OPTS_VALID(opts, bpfext_devmap_set_opts))
		return -EINVAL;
	return ext_slot_set(&devmap_kind, map_fd, &w);
}

int bpfext_devmap_get(int map_fd, __u32 key, struct bpfext_devmap_slot *slot)
{
	struct ext_slot s;
	int err = ext_slot_get(&devmap_kind, map_fd, key, &s);

	if (!err)
		to_devmap_slot(&s, slot);
	return err;
}

int bpfext_devmap_delete(int map_fd, __u32 key)
{
	return ext_slot_delete(&devmap_kind, map_fd, key);
}

int bpfext_devmap_next(int map_fd, const __u32 *prev_key, struct bpfext_devmap_slot *slot)
{
	struct ext_slot s;
	int err = ext_slot_next(&devmap_kind, map_fd, prev_key, &s);

	if (!err)
		to_devmap_slot(&s, slot);
	return err;
}
