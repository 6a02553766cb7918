// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The espressobin pipeline: RX on one CPU, the work on another.
 *
 *   rx_steer    (XDP, on the receiving CPU): the cheap part. Picks the CPU,
 *               fixed or by flow hash over the CPUs in `steer_cpus`, and
 *               redirects the frame into that CPU's cpumap slot.
 *   cpu_policy  (cpumap slot program, on the slot's CPU kthread): the heavy
 *               part. Parses (parse.h), looks the flow up in `rules`, runs
 *               `work_rounds` rounds of hashing to emulate a costlier policy,
 *               and redirects again into a devmap_hash slot (whose own egress
 *               program runs, on this CPU, which then transmits), passes the
 *               frame to the stack (the skb is built on this CPU) or drops it.
 *   rx_single   (XDP): the same work as cpu_policy, done entirely on the
 *               receiving CPU: the baseline the split is compared with.
 *
 * Userspace shares `tx_ports`, `cpu_map` and `rules` between instances with
 * bpf_map__reuse_fd(), so two loaded copies of cpu_policy can be swapped in
 * the slot under traffic. */
#include "maps.h"
#include "parse.h"
#include "cpumap_pipeline_types.h"

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, CPUMAP_SLOTS_DEFAULT);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

DEFINE_DEVMAP(tx_ports, BPF_MAP_TYPE_DEVMAP_HASH);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct pipeline_rule_key);
	__type(value, struct pipeline_rule);
} rules SEC(".maps");

/* The CPUs rx_steer spreads flows over when steer_mode is STEER_HASH. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CPUMAP_SLOTS_DEFAULT);
	__type(key, __u32);
	__type(value, __u32);
} steer_cpus SEC(".maps");

#define DEFINE_STATS(name)                                         \
	struct {                                                   \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);           \
		__uint(max_entries, 1);                            \
		__type(key, __u32);                                \
		__type(value, struct pipeline_stats);              \
	} name SEC(".maps")

DEFINE_STATS(rx_stats);     /* rx_steer and rx_single */
DEFINE_STATS(policy_stats); /* cpu_policy: the CPU column says where it ran */

enum steer_mode {
	STEER_FIXED = 0, /* every frame to steer_cpu */
	STEER_HASH = 1,  /* flow hash over steer_cpus[0 .. steer_ncpus-1] */
};

__u32 steer_mode = STEER_FIXED;
__u32 steer_cpu = 1;
__u32 steer_ncpus;
/* Policy for frames no rule matches. */
__u32 default_action = PIPE_REDIRECT;
__u32 default_key;
/* Hash rounds per frame (capped at PIPELINE_MAX_ROUNDS): the heavy part. */
__u32 work_rounds;
/* Hash rounds that rx_steer and rx_single both spend first: emulates the
 * driver's receive cost on the RX CPU (mvneta's descriptor and buffer work),
 * which live frames do not have. 0 by default. */
__u32 rx_rounds;
/* Last frame seen by cpu_policy: the CPU it ran on and the ingress device
 * the cpumap kept from the receiving side. */
__u32 seen_cpu;
__u32 seen_ingress_ifindex;

static __always_inline struct pipeline_stats *stats(void *map)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(map, &zero);
}

/* Rate measurement on the CPU that does the work: the first frame's time and
 * every 64th frame's (a clock read per frame would cost more than a rule). */
static __always_inline void stamp(struct pipeline_stats *s)
{
	if (!s->first_ns)
		s->first_ns = s->last_ns = bpf_ktime_get_ns();
	else if ((s->packets & 63) == 0)
		s->last_ns = bpf_ktime_get_ns();
}

/* A stand-in for a costlier policy (a classifier, a crypto check): rounds of
 * a multiply-rotate-xor mix seeded by the flow, a bounded loop. */
static __always_inline __u64 work(const struct flow *f, __u32 rounds)
{
	__u64 h = ((__u64)f->eth_proto << 32) ^ ((__u64)f->ip_proto << 16) ^ f->dport;

	for (__u32 i = 0; i < PIPELINE_MAX_ROUNDS; i++) {
		if (i >= rounds)
			break;
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ULL;
		h = (h << 23) | (h >> 41);
		h += i;
	}
	return h;
}

/* Cheap flow hash over the first bytes after the Ethernet header (IPv4
 * addresses and ports for a plain IPv4 frame): no full parse on the RX CPU. */
static __always_inline __u32 cheap_flow_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *w = data + sizeof(struct ethhdr) + 12; /* IPv4 saddr, daddr, ports */
	__u32 h;

	if ((void *)(w + 3) > data_end)
		return 0;
	/* The product's high bits mix every input bit; its low bits do not
	 * (bit 0 is the xor's bit 0), and callers take it modulo a CPU count. */
	h = (w[0] ^ w[1] ^ w[2]) * 0x9e3779b1u;
	return h ^ (h >> 16);
}

SEC("xdp")
int rx_steer(struct xdp_md *ctx)
{
	struct pipeline_stats *s = stats(&rx_stats);
	__u32 cpu = steer_cpu;
	int verdict;

	if (rx_rounds && s) {
		struct flow none = {};

		s->hash += work(&none, rx_rounds);
	}
	if (steer_mode == STEER_HASH && steer_ncpus) {
		__u32 idx = cheap_flow_hash(ctx) % steer_ncpus;
		__u32 *c = bpf_map_lookup_elem(&steer_cpus, &idx);

		if (c)
			cpu = *c;
	}
	verdict = bpf_redirect_map(&cpu_map, cpu, XDP_DROP);
	if (s) {
		stamp(s);
		s->packets++;
		if (verdict == XDP_REDIRECT)
			s->redirected++;
		else
			s->dropped++;
	}
	return verdict;
}

/* Parse, look the flow up, do the work, act. */
static __always_inline int policy(struct xdp_md *ctx, void *stats_map)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pipeline_stats *s = stats(stats_map);
	struct pipeline_rule_key k = {};
	struct pipeline_rule *r;
	struct flow f;
	__u32 action = default_action, key = default_key;
	int verdict;

	if (parse_flow(data, data_end, &f) == PARSE_OK) {
		k.ip_proto = f.ip_proto;
		k.dport = f.dport;
		r = bpf_map_lookup_elem(&rules, &k);
		if (r) {
			action = r->action;
			key = r->key;
			if (s)
				s->rule_hits++;
		}
	}
	if (s)
		s->hash += work(&f, work_rounds);

	switch (action) {
	case PIPE_REDIRECT:
		verdict = bpf_redirect_map(&tx_ports, key, XDP_DROP);
		break;
	case PIPE_PASS:
		verdict = XDP_PASS;
		break;
	default:
		verdict = XDP_DROP;
		break;
	}
	if (s) {
		stamp(s);
		s->packets++;
		if (verdict == XDP_REDIRECT)
			s->redirected++;
		else if (verdict == XDP_PASS)
			s->passed++;
		else
			s->dropped++;
	}
	return verdict;
}

SEC("xdp/cpumap")
int cpu_policy(struct xdp_md *ctx)
{
	seen_cpu = bpf_get_smp_processor_id();
	seen_ingress_ifindex = ctx->ingress_ifindex;
	return policy(ctx, &policy_stats);
}

SEC("xdp")
int rx_single(struct xdp_md *ctx)
{
	struct pipeline_stats *s = stats(&rx_stats);

	if (rx_rounds && s) {
		struct flow none = {};

		s->hash += work(&none, rx_rounds);
	}
	return policy(ctx, &rx_stats);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
