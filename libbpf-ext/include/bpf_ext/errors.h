/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How libbpf-ext reports failure: every call returns a negative errno and
 * sets errno, like libbpf, and leaves a sentence naming the cause and the fix
 * for the calling thread (conventions: bpf_ext_common.h). */
#ifndef BPF_EXT_ERRORS_H
#define BPF_EXT_ERRORS_H

#include <bpf_ext/bpf_ext_common.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief **bpfext_errmsg()** explains the last failed libbpf-ext call made
 * by the calling thread.
 * @return the explanation, valid until the next failing call in the same
 * thread; "no error recorded" when there was none; never NULL. A call that
 * ends an iteration (-ENOENT from the *_next() functions) leaves it as it was.
 */
BPFEXT_API const char *bpfext_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif
