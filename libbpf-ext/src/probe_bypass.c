// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Live-frame probe for the shared-device egress-program bypass (see
 * bpf/probe_egress_bypass.bpf.c). It runs in a thread that unshares its own
 * network namespace, so the veth pair it makes vanishes with the thread, even
 * if the process is killed half-way. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "bpf_ext/devmap.h"
#include "bpf_ext/probe.h"
#include "internal.h"
#include "probe_egress_bypass.skel.h"

#define PROBE_FRAMES 6400 /* 100 batches of 64 */

struct bypass_job {
	struct bpfext_bypass_report *report;
	int err;
	char msg[768];
};

static int veth_up(struct nl_sock *sk, const char *name, int *ifindex)
{
	struct rtnl_link *link = NULL, *change = rtnl_link_alloc();
	int err;

	if (!change)
		return -ENOMEM;
	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (!err) {
		rtnl_link_set_flags(change, IFF_UP);
		err = rtnl_link_change(sk, link, change, 0);
		*ifindex = rtnl_link_get_ifindex(link);
	}
	rtnl_link_put(link);
	rtnl_link_put(change);
	return err ? -EIO : 0;
}

static int make_veth(int *ifa, int *ifb)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *veth, *peer;
	int err = -ENOMEM;

	if (!sk)
		return err;
	if (nl_connect(sk, NETLINK_ROUTE)) {
		err = -EIO;
		goto out_sock;
	}
	veth = rtnl_link_veth_alloc();
	if (!veth)
		goto out_sock;
	rtnl_link_set_name(veth, "probe0");
	/* libnl 3.7 hands out a new reference to the peer: put it back. */
	peer = rtnl_link_veth_get_peer(veth);
	rtnl_link_set_name(peer, "probe1");
	rtnl_link_put(peer);
	err = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL) ? -EIO : 0;
	rtnl_link_veth_release(veth);
	if (!err)
		err = veth_up(sk, "probe0", ifa);
	if (!err)
		err = veth_up(sk, "probe1", ifb);
out_sock:
	nl_socket_free(sk);
	return err;
}

static int run_bypass(struct bypass_job *job)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = ext_probe_frame,
		    .data_size_in = sizeof(ext_probe_frame),
		    .repeat = PROBE_FRAMES, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		    .batch_size = 64);
	struct bpfext_bypass_report *r = job->report;
	struct probe_egress_bypass *skel;
	int err, ifa = 0, ifb = 0;

	if (unshare(CLONE_NEWNET))
		return ext_fail(errno, "the bypass probe needs its own network namespace "
				"(unshare: %s): run as root", strerror(errno));
	err = make_veth(&ifa, &ifb);
	if (err)
		return ext_fail(-err, "the bypass probe could not create a veth pair: is "
				"the veth driver available (modprobe veth)?");
	skel = probe_egress_bypass__open_and_load();
	if (!skel)
		return ext_fail(errno, "loading the bypass probe programs failed: %s",
				strerror(errno));
	err = bpf_xdp_attach(ifb, bpf_program__fd(skel->progs.probe_sink), 0, NULL);
	if (err) {
		err = ext_fail(-err, "attaching XDP to the probe's veth peer failed: %s",
			       strerror(-err));
		goto out;
	}
	err = bpfext_devmap_set(bpf_map__fd(skel->maps.slots), 0, ifa,
				bpf_program__fd(skel->progs.probe_slot0), NULL);
	if (!err)
		err = bpfext_devmap_set(bpf_map__fd(skel->maps.slots), 1, ifa,
					bpf_program__fd(skel->progs.probe_slot1), NULL);
	if (err)
		goto out;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.probe_alternate), &run)) {
		err = ext_fail(errno, "the live-frame test run failed: %s (needs "
			       "BPF_F_TEST_XDP_LIVE_FRAMES, Linux 5.18)", strerror(errno));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		r->sent[i] = skel->bss->sent[i];
		r->ran[i] = skel->bss->ran[i];
	}
	r->affected = r->ran[0] != r->sent[0] || r->ran[1] != r->sent[1];
out:
	probe_egress_bypass__destroy(skel);
	return err;
}

static void *bypass_thread(void *arg)
{
	struct bypass_job *job = arg;

	job->err = run_bypass(job);
	if (job->err)
		snprintf(job->msg, sizeof(job->msg), "%s", bpfext_errmsg());
	return NULL;
}

int bpfext_probe_egress_bypass(struct bpfext_bypass_report *report)
{
	struct bypass_job job = { .report = report };
	pthread_t t;
	int err;

	if (!ext_out_reset(report, "bpfext_bypass_report"))
		return -EINVAL;
	/* A thread of its own: unshare() changes only the calling thread's
	 * namespace, and the caller's must stay untouched. */
	err = pthread_create(&t, NULL, bypass_thread, &job);
	if (err)
		return ext_fail(err, "cannot start the probe thread: %s", strerror(err));
	pthread_join(t, NULL);
	if (job.err)
		return ext_fail(-job.err, "%s", job.msg);
	return 0;
}
