/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pinning maps and programs under bpffs, with the mistakes explained:
 * a path outside bpffs, bpffs not mounted, a missing or taken path. */
#ifndef BPF_EXT_PIN_H
#define BPF_EXT_PIN_H

#include <bpf_ext/bpf_ext_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief **bpfext_pin()** pins a BPF map or program at a path on bpffs.
 * @param fd the map or program
 * @param path the new pin; its directory must exist on a mounted bpffs
 * @return 0 on success; a negative errno otherwise:
 * -EINVAL (empty path, or its directory is not on bpffs), -ENAMETOOLONG,
 * -ENOENT (the directory does not exist), -EISDIR (path is a directory),
 * -EBADF (fd is not open), -EEXIST (something is pinned there already)
 */
BPFEXT_API int bpfext_pin(int fd, const char *path);

/**
 * @brief **bpfext_pinned_open()** opens a pinned map or program.
 * @param path the pin on bpffs
 * @return a new fd (close-on-exec) on success; a negative errno otherwise:
 * -EINVAL (path not on bpffs), -ENAMETOOLONG, -ENOENT (the directory does not
 * exist, or nothing is pinned there), -EISDIR (path is a directory),
 * -EACCES or -EPERM (no permission)
 */
BPFEXT_API int bpfext_pinned_open(const char *path);

/**
 * @brief **bpfext_unpin()** removes a pin; the object lives on while
 * something else holds it.
 * @param path the pin on bpffs
 * @return 0 on success; a negative errno otherwise: -EINVAL (path not on
 * bpffs), -ENAMETOOLONG, -ENOENT (nothing is pinned there), -EISDIR (path is
 * a directory)
 */
BPFEXT_API int bpfext_unpin(const char *path);

#ifdef __cplusplus
}
#endif
#endif
