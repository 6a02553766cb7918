// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pins under bpffs. The kernel answers a path outside bpffs with EPERM and a
 * missing mount with ENOENT; say which, and how to fix it. */
#include <errno.h>
#include <stdio.h>
#include <libgen.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "bpf_ext/pin.h"
#include "internal.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* The directory that will hold `path` must exist and be on bpffs. */
static int check_bpffs_dir(const char *path)
{
	char copy[PATH_MAX], *dir;
	struct statfs st;
	struct stat sb;

	if (!path || !path[0])
		return ext_fail(EINVAL, "empty pin path: give a path under /sys/fs/bpf");
	/* dirname("/sys/fs/bpf") is /sys/fs: a directory is its own answer. */
	if (!stat(path, &sb) && S_ISDIR(sb.st_mode))
		return ext_fail(EISDIR, "%s is a directory, not a pinned map or program: "
				"give the path of a pin (e.g. %s%smy_map)", path, path,
				path[strlen(path) - 1] == '/' ? "" : "/");
	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return ext_fail(ENAMETOOLONG, "pin path is longer than PATH_MAX");
	dir = dirname(copy);
	if (statfs(dir, &st)) {
		if (errno == ENOENT)
			return ext_fail(ENOENT, "directory %s does not exist: create it "
					"(mkdir -p %s) on a mounted bpffs", dir, dir);
		return ext_fail(errno, "cannot inspect %s: %s", dir, strerror(errno));
	}
	if (st.f_type != BPF_FS_MAGIC)
		return ext_fail(EINVAL, "%s is not on a BPF filesystem, so nothing can be "
				"pinned there: mount bpffs (mount -t bpf bpf /sys/fs/bpf) "
				"and pin under it", dir);
	return 0;
}

int bpfext_pin(int fd, const char *path)
{
	int err = check_bpffs_dir(path);

	if (err)
		return err;
	if (ext_fd_kind(fd) == EXT_FD_CLOSED)
		return ext_fail(EBADF, "fd %d is not open: nothing to pin", fd);
	if (bpf_obj_pin(fd, path)) {
		if (errno == EEXIST)
			return ext_fail(EEXIST, "%s is already pinned: unpin it first "
					"(rm %s) or choose another name", path, path);
		return ext_fail(errno, "pinning fd %d at %s failed: %s", fd, path,
				strerror(errno));
	}
	return 0;
}

int bpfext_pinned_open(const char *path)
{
	int fd, err = check_bpffs_dir(path);

	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return ext_fail(ENOENT, "nothing is pinned at %s: create and pin the "
				"object first", path);
	if (errno == EACCES || errno == EPERM)
		return ext_fail(errno, "no permission to open %s: run as root", path);
	return ext_fail(errno, "opening pinned %s failed: %s", path, strerror(errno));
}

int bpfext_unpin(const char *path)
{
	int err = check_bpffs_dir(path);

	if (err)
		return err;
	if (unlink(path)) {
		if (errno == ENOENT)
			return ext_fail(ENOENT, "nothing is pinned at %s", path);
		return ext_fail(errno, "unpinning %s failed: %s", path, strerror(errno));
	}
	return 0;
}
