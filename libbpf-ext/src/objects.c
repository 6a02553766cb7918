// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Checking the map and program fds handed to libbpf-ext, and explaining the
 * kernel's refusals of a program, which it reports only as EINVAL (devmap)
 * or ENOMEM (cpumap). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "internal.h"

enum ext_fd_kind ext_fd_kind(int fd)
{
	char link[64], target[128];
	ssize_t n;

	if (fd < 0 || fcntl(fd, F_GETFD) < 0)
		return EXT_FD_CLOSED;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return EXT_FD_OTHER;
	target[n] = '\0';
	if (!strcmp(target, "anon_inode:bpf-map"))
		return EXT_FD_MAP;
	if (!strcmp(target, "anon_inode:bpf-prog"))
		return EXT_FD_PROG;
	return EXT_FD_OTHER;
}

int ext_not_writable(const char *map_name)
{
	return ext_fail(EPERM, "map '%s' is not writable through this fd (opened read-only "
			"or frozen): open it read-write", map_name);
}

int ext_check_map_name(const char *name)
{
	size_t len, i;

	if (!name)
		return 0;
	len = strlen(name);
	if (len > BPF_OBJ_NAME_LEN - 1)
		return ext_fail(EINVAL, "map name '%s' is %zu characters long; the kernel "
				"keeps at most %d: choose a shorter name", name, len,
				BPF_OBJ_NAME_LEN - 1);
	for (i = 0; i < len; i++) {
		unsigned char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.')
			return ext_fail(EINVAL, "map name '%s' has a character the kernel "
					"refuses (byte %zu, 0x%02x): use only letters, digits, "
					"'_' and '.'", name, i, c);
	}
	return 0;
}

const char *ext_map_type_str(enum bpf_map_type t)
{
	const char *s = libbpf_bpf_map_type_str(t);

	return s ? s : "unknown";
}

const char *ext_prog_type_str(enum bpf_prog_type t)
{
	const char *s = libbpf_bpf_prog_type_str(t);

	return s ? s : "unknown";
}

int ext_map_info(int map_fd, const enum bpf_map_type *types, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);
	const enum bpf_map_type *t;
	char want[128] = "";

	switch (ext_fd_kind(map_fd)) {
	case EXT_FD_CLOSED:
		return ext_fail(EBADF, "map fd %d is not open: it was closed or never "
				"opened; pass the fd returned by map creation or "
				"bpfext_pinned_open()", map_fd);
	case EXT_FD_PROG:
		return ext_fail(EINVAL, "fd %d is a BPF program, not a map: pass the "
				"map's fd", map_fd);
	case EXT_FD_OTHER:
		return ext_fail(EINVAL, "fd %d is not a BPF map", map_fd);
	case EXT_FD_MAP:
		break;
	}
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(map_fd, info, &len))
		return ext_fail(errno, "cannot read map fd %d's info: %s", map_fd,
				strerror(errno));
	for (t = types; *t; t++) {
		if (info->type == *t)
			return 0;
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s",
			 want[0] ? " or " : "", ext_map_type_str(*t));
	}
	return ext_fail(EINVAL, "map '%s' (id %u) is a %s map, not %s: pass a map of "
			"the right type", info->name, info->id,
			ext_map_type_str(info->type), want);
}

int ext_prog_info(int prog_fd, const char *role, struct bpf_prog_info *info)
{
	__u32 len = sizeof(*info);

	switch (ext_fd_kind(prog_fd)) {
	case EXT_FD_CLOSED:
		return ext_fail(EBADF, "program fd %d is not open: it was closed or "
				"never loaded; load the program and pass its fd "
				"(or -1 for a slot without program)", prog_fd);
	case EXT_FD_MAP:
		return ext_fail(EINVAL, "fd %d is a BPF map, not a program: pass the "
				"%s program's fd", prog_fd, role);
	case EXT_FD_OTHER:
		return ext_fail(EINVAL, "fd %d is not a BPF program", prog_fd);
	case EXT_FD_PROG:
		break;
	}
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(prog_fd, info, &len))
		return ext_fail(errno, "cannot read program fd %d's info: %s", prog_fd,
				strerror(errno));
	if (info->type != BPF_PROG_TYPE_XDP)
		return ext_fail(EINVAL, "program '%s' (id %u) is a %s program; a %s slot "
				"takes an XDP program loaded from SEC(\"xdp/%s\")",
				info->name, info->id, ext_prog_type_str(info->type),
				role, role);
	return 0;
}

int ext_slot_prog_fd(int prog_fd, int *owned)
{
	*owned = -1;
	if (prog_fd != 0)
		return prog_fd;
	*owned = fcntl(prog_fd, F_DUPFD_CLOEXEC, 1);
	if (*owned < 0)
		return ext_fail(errno, "cannot duplicate program fd 0: %s", strerror(errno));
	return *owned;
}

/* Write the program into a one-slot scratch map: success there means the
 * program itself is fine and the real map refused it for another reason. */
static int scratch_accepts(int prog_fd, enum bpf_map_type type)
{
	struct bpf_devmap_val dv = { .ifindex = 1 /* lo exists in every netns */ };
	struct bpf_cpumap_val cv = { .qsize = 1 };
	__u32 key = 0;
	int map_fd, ret;
	void *val;

	map_fd = bpf_map_create(type, "bpfext_scratch", sizeof(key), 8, 1, NULL);
	if (map_fd < 0)
		return -errno;
	if (type == BPF_MAP_TYPE_CPUMAP) {
		cv.bpf_prog.fd = prog_fd;
		val = &cv;
	} else {
		dv.bpf_prog.fd = prog_fd;
		val = &dv;
	}
	ret = bpf_map_update_elem(map_fd, &key, val, BPF_ANY) ? -errno : 0;
	close(map_fd);
	return ret;
}

int ext_explain_prog_refusal(int err, int prog_fd, enum bpf_map_type type,
			     const struct bpf_prog_info *pi, const char *map_name)
{
	bool cpumap = type == BPF_MAP_TYPE_CPUMAP;
	const char *role = cpumap ? "cpumap" : "devmap";
	int scratch = scratch_accepts(prog_fd, cpumap ? BPF_MAP_TYPE_CPUMAP : BPF_MAP_TYPE_DEVMAP);

	if (scratch == -EINVAL || scratch == -ENOMEM)
		return ext_fail(EINVAL, "program '%s' (id %u) was not loaded for %s slots: "
				"the kernel needs expected attach type %s; put it in "
				"SEC(\"xdp/%s\") (or bpf_program__set_expected_attach_type()) "
				"and load it again", pi->name, pi->id,
				role, cpumap ? "BPF_XDP_CPUMAP" : "BPF_XDP_DEVMAP", role);
	if (scratch == 0)
		return ext_fail(EINVAL, "map '%s' refused program '%s' (id %u) although the "
				"program suits %s slots: every program in one map must agree "
				"on multi-buffer support (SEC(\"xdp.frags/%s\") vs "
				"SEC(\"xdp/%s\")) and JIT; load it the same way as the map's "
				"other programs", map_name, pi->name, pi->id, role, role, role);
	return ext_fail(err, "map '%s' refused program '%s' (id %u): %s", map_name,
			pi->name, pi->id, strerror(err < 0 ? -err : err));
}
