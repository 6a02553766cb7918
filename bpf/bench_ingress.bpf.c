// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Benchmark ingress programs, run with live-frame BPF_PROG_TEST_RUN. Frames
 * are spread round-robin over `slot_mask + 1` slots (a power of two).
 *   bench_drop      XDP_DROP: the floor
 *   bench_redirect  bpf_redirect_map() into tx_devmap; the slot's egress
 *                   program, if any, runs at flush
 *   bench_tailcall  the alternative from the netdev thread: tail-call the
 *                   slot's program from a PROG_ARRAY; that program applies the
 *                   policy and redirects itself (bench_tail.bpf.c)
 *   bench_broadcast BPF_F_BROADCAST: a copy to every slot of tx_devmap, each
 *                   through its slot's program
 * Userspace swaps in maps of its own size with bpf_map__reuse_fd(). */
#include "maps.h"

DEFINE_DEVMAP(tx_devmap, BPF_MAP_TYPE_DEVMAP);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, DEVMAP_SLOTS_DEFAULT);
	__type(key, __u32);
	__type(value, __u32);
} tail_progs SEC(".maps");

#include "bench_cur_key.h"

/* 0 when every tail program knows its own key (.rodata of bench_tail): the
 * verifier then drops the store. */
const volatile __u32 store_key = 1;

__u32 slot_mask;
__u32 next_slot;
__u64 tail_missed; /* tail call to an empty PROG_ARRAY slot */

static __always_inline __u32 spread(void)
{
	return next_slot++ & slot_mask;
}

SEC("xdp")
int bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int bench_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_devmap, spread(), XDP_DROP);
}

SEC("xdp")
int bench_broadcast(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_devmap, 0, BPF_F_BROADCAST);
}

SEC("xdp")
int bench_tailcall(struct xdp_md *ctx)
{
	__u32 key = spread(), zero = 0;

	if (store_key) {
		__u32 *cur = bpf_map_lookup_elem(&cur_key, &zero);

		if (cur)
			*cur = key;
	}
	bpf_tail_call(ctx, &tail_progs, key);
	tail_missed++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
