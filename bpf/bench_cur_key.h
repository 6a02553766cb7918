/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The slot chosen for the current frame, written by the bench's ingress
 * program and read by a tail program shared by every slot (it cannot know its
 * slot otherwise). bench_ingress and bench_tail share it with reuse_fd. */
#ifndef DEVMAP_EGRESS_BPF_BENCH_CUR_KEY_H
#define DEVMAP_EGRESS_BPF_BENCH_CUR_KEY_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cur_key SEC(".maps");

#endif
