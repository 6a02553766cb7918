/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How libbpf-ext reports failure: every call returns a negative errno, like
 * libbpf, and leaves a sentence naming the cause and the fix for the calling
 * thread. */
#ifndef BPF_EXT_ERRORS_H
#define BPF_EXT_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Explanation of the last failed libbpf-ext call made by this thread.
 * Valid until the next failing call in the same thread; never NULL. */
const char *bpfext_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif
