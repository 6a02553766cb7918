/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Definitions and conventions shared by every libbpf-ext header.
 *
 * Errors. Every call returns 0 (or a file descriptor) on success and a
 * negative errno on failure, and also sets errno to the positive value, as
 * libbpf does. bpfext_errmsg() then gives, for the calling thread, a sentence
 * naming the cause and the fix. Each function lists the errnos it returns;
 * an errno it does not list comes from the kernel or libbpf unchanged.
 *
 * Options. Optional arguments come in a struct whose first field `sz` is set
 * to its sizeof (LIBBPF_OPTS() from <bpf/libbpf.h> does that); NULL takes
 * every default. A struct from a newer header is accepted when the fields
 * this library does not know are zero.
 *
 * "No program". A slot or map can be without a program; the two places that
 * say so use the value each kind of argument can spare:
 *   - a positional program fd (bpfext_devmap_set(), bpfext_cpumap_set()):
 *     -1 (BPFEXT_NO_PROG). 0 is a valid fd, and is taken as one;
 *   - an opts field (bpfext_devmap_create_opts.default_prog_fd,
 *     bpfext_cpumap_create_opts.default_prog_fd): 0, so that a zeroed
 *     struct means "none"; pass a program whose fd is 0 positionally or dup
 *     it first.
 * Read back, "no program" is always prog_id 0. */
#ifndef BPF_EXT_BPF_EXT_COMMON_H
#define BPF_EXT_BPF_EXT_COMMON_H

#ifndef BPFEXT_API
#define BPFEXT_API __attribute__((visibility("default")))
#endif

/* A positional program fd that means "no program". */
#define BPFEXT_NO_PROG (-1)

#endif
