/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pinning maps and programs under bpffs, with the mistakes explained:
 * a path outside bpffs, bpffs not mounted, a missing or taken path. */
#ifndef BPF_EXT_PIN_H
#define BPF_EXT_PIN_H

#ifdef __cplusplus
extern "C" {
#endif

int bpfext_pin(int fd, const char *path);
/* Open a pinned map or program; returns the fd or a negative errno. */
int bpfext_pinned_open(const char *path);
int bpfext_unpin(const char *path);

#ifdef __cplusplus
}
#endif
#endif
