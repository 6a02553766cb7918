// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Cheap feature probes: create the map shapes the project needs and run two
 * tiny programs, and read the kernel's answers. */
#include <errno.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>

#include "bpf_ext/default_prog.h"
#include "bpf_ext/probe.h"
#include "internal.h"
#include "probe_features.skel.h"

static enum bpfext_support probe_map(enum bpf_map_type type, __u32 value_size)
{
	int fd = bpf_map_create(type, NULL, sizeof(__u32), value_size, 1, NULL);

	if (fd >= 0) {
		close(fd);
		return BPFEXT_SUPPORTED;
	}
	return errno == EINVAL ? BPFEXT_UNSUPPORTED : BPFEXT_UNKNOWN;
}

const unsigned char ext_probe_frame[EXT_PROBE_FRAME_LEN] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* broadcast */
	0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* a locally administered source */
	0x88, 0xb5,                         /* local experimental EtherType */
};

static int run_once(struct bpf_program *prog, __u32 flags, __u32 *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = ext_probe_frame,
		    .data_size_in = sizeof(ext_probe_frame),
		    .repeat = 1, .flags = flags);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &run))
		return -errno;
	*retval = run.retval;
	return 0;
}

int bpfext_probe(struct bpfext_features *f)
{
	struct probe_features *skel;
	__u32 ret;
	int err;

	if (!ext_out_reset(f, "bpfext_features"))
		return -EINVAL;

	f->devmap_prog = probe_map(BPF_MAP_TYPE_DEVMAP, sizeof(struct bpf_devmap_val));
	f->devmap_hash = probe_map(BPF_MAP_TYPE_DEVMAP_HASH, sizeof(__u32));
	f->devmap_hash_prog = probe_map(BPF_MAP_TYPE_DEVMAP_HASH, sizeof(struct bpf_devmap_val));
	f->cpumap_prog = probe_map(BPF_MAP_TYPE_CPUMAP, sizeof(struct bpf_cpumap_val));
	/* Patched kernels take 12-byte values (slot flags) with default programs. */
	f->default_prog = probe_map(BPF_MAP_TYPE_DEVMAP, BPFEXT_SLOT_VALUE_EXT_SIZE);
	if (f->devmap_prog == BPFEXT_UNKNOWN && errno == EPERM)
		return ext_fail(EPERM, "probing needs CAP_BPF and CAP_NET_ADMIN (or "
				"CAP_SYS_ADMIN): run as root");

	/* The netdev family answers for lo (ifindex 1) on 6.3+ kernels. */
	err = ext_xdp_xmit_capable(1);
	f->xdp_features = err >= 0 ? BPFEXT_SUPPORTED : BPFEXT_UNSUPPORTED;

	skel = probe_features__open_and_load();
	if (!skel)
		return ext_fail(errno, "loading the probe programs failed: %s (is this "
				"kernel built with BPF and BTF?)", strerror(errno));
	err = run_once(skel->progs.probe_broadcast, 0, &ret);
	if (!err)
		f->broadcast = ret == XDP_REDIRECT ? BPFEXT_SUPPORTED : BPFEXT_UNSUPPORTED;
	err = run_once(skel->progs.probe_drop, BPF_F_TEST_XDP_LIVE_FRAMES, &ret);
	f->live_frames = !err ? BPFEXT_SUPPORTED :
			 err == -EINVAL ? BPFEXT_UNSUPPORTED : BPFEXT_UNKNOWN;
	probe_features__destroy(skel);
	return 0;
}
