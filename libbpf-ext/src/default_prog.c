// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Map-wide default programs: set and replaced with BPF_PROG_ATTACH on the map
 * (attach type BPF_XDP_DEVMAP or BPF_XDP_CPUMAP), cleared with
 * BPF_PROG_DETACH, reported as bpf_map_info.map_extra (the program's id).
 * Only the project's patched kernels have them. */
#include <errno.h>
#include <pthread.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bpf_ext/default_prog.h"
#include "internal.h"

static const enum bpf_map_type slot_map_types[] = {
	BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_CPUMAP, BPF_MAP_TYPE_UNSPEC,
};

static bool supported;
static pthread_once_t probed = PTHREAD_ONCE_INIT;

/* Stock kernels refuse 12-byte devmap values with EINVAL. */
static void probe_once(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_DEVMAP, NULL, sizeof(__u32),
				BPFEXT_SLOT_VALUE_EXT_SIZE, 1, NULL);

	supported = fd >= 0;
	if (fd >= 0)
		close(fd);
}

bool ext_default_prog_supported(void)
{
	pthread_once(&probed, probe_once);
	return supported;
}

int ext_patched_kernel_needed(const char *what)
{
	struct utsname u = {};

	uname(&u);
	return ext_fail(EOPNOTSUPP, "%s needs map-wide default programs, which only the "
			"project's patched kernel has (kernel-patches/, patches 0003-0004); "
			"this kernel (%s) does not: run the patched kernel, or give each "
			"slot its own program", what, u.release);
}

static enum bpf_attach_type attach_type_of(const struct bpf_map_info *mi)
{
	return mi->type == BPF_MAP_TYPE_CPUMAP ? BPF_XDP_CPUMAP : BPF_XDP_DEVMAP;
}

int bpfext_map_set_default_prog(int map_fd, int prog_fd)
{
	struct bpf_map_info mi;
	struct bpf_prog_info pi;
	const char *role;
	int err = ext_map_info(map_fd, slot_map_types, &mi);

	if (err)
		return err;
	role = mi.type == BPF_MAP_TYPE_CPUMAP ? "cpumap" : "devmap";
	err = ext_prog_info(prog_fd, role, &pi);
	if (err)
		return err;
	if (!ext_default_prog_supported())
		return ext_patched_kernel_needed("setting a default program");
	if (!bpf_prog_attach(prog_fd, map_fd, attach_type_of(&mi), 0))
		return 0;
	switch (errno) {
	case ELOOP:
		return ext_fail(ELOOP, "program '%s' (id %u) uses map '%s' itself: as its default "
				"the two would keep each other alive forever; use a program "
				"that redirects into another map", pi.name, pi.id, mi.name);
	case EPERM:
		return ext_not_writable(mi.name);
	case EINVAL:
		return ext_explain_prog_refusal(-EINVAL, prog_fd, mi.type, &pi, mi.name);
	default:
		return ext_fail(errno, "setting the default program of map '%s' failed: %s",
				mi.name, strerror(errno));
	}
}

int bpfext_map_clear_default_prog(int map_fd)
{
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, slot_map_types, &mi);

	if (err)
		return err;
	if (!ext_default_prog_supported())
		return ext_patched_kernel_needed("clearing a default program");
	if (!bpf_prog_detach(map_fd, attach_type_of(&mi)))
		return 0;
	if (errno == ENOENT)
		return ext_fail(ENOENT, "map '%s' has no default program", mi.name);
	if (errno == EPERM)
		return ext_not_writable(mi.name);
	return ext_fail(errno, "clearing the default program of map '%s' failed: %s",
			mi.name, strerror(errno));
}

int bpfext_map_get_default_prog(int map_fd, __u32 *prog_id)
{
	struct bpf_map_info mi;
	int err = ext_map_info(map_fd, slot_map_types, &mi);

	if (err)
		return err;
	/* Stock kernels report map_extra 0 for these maps: "none" is right. */
	*prog_id = (__u32)mi.map_extra;
	return 0;
}
