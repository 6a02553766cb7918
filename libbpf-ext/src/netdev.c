// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Device checks: does the ifindex exist here, and can it transmit XDP frames.
 * The second question is answered by the netdev generic-netlink family's
 * xdp-features attribute (Linux 6.3+), through libnl. */
#include <errno.h>
#include <stdio.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "internal.h"

/* From include/uapi/linux/netdev.h (6.3+); the build host's headers may be
 * older than the kernel that runs the binary. */
#define EXT_NETDEV_FAMILY "netdev"
#define EXT_NETDEV_CMD_DEV_GET 1
#define EXT_NETDEV_A_DEV_IFINDEX 1
#define EXT_NETDEV_A_DEV_XDP_FEATURES 3
#define EXT_NETDEV_XDP_ACT_NDO_XMIT 4

int ext_device_name(__u32 ifindex, char name[IF_NAMESIZE])
{
	if (!ifindex)
		return ext_fail(EINVAL, "ifindex 0 is not a device: to empty a slot, "
				"delete it");
	if (!if_indextoname(ifindex, name))
		return ext_fail(ENODEV, "no device with ifindex %u in this network "
				"namespace: check 'ip link' (the device may have been "
				"deleted, or lives in another namespace)", ifindex);
	return 0;
}

struct xdp_features_reply {
	bool seen;
	__u64 features;
};

static int on_dev_reply(struct nl_msg *msg, void *arg)
{
	struct xdp_features_reply *r = arg;
	struct nlattr *attrs[EXT_NETDEV_A_DEV_XDP_FEATURES + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, EXT_NETDEV_A_DEV_XDP_FEATURES, NULL))
		return NL_SKIP;
	if (attrs[EXT_NETDEV_A_DEV_XDP_FEATURES]) {
		r->features = nla_get_u64(attrs[EXT_NETDEV_A_DEV_XDP_FEATURES]);
		r->seen = true;
	}
	return NL_OK;
}

int ext_xdp_xmit_capable(__u32 ifindex)
{
	struct xdp_features_reply reply = {};
	struct nl_sock *sk;
	struct nl_msg *msg = NULL;
	int family, ret = -EOPNOTSUPP;

	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk))
		goto out;
	family = genl_ctrl_resolve(sk, EXT_NETDEV_FAMILY);
	if (family < 0) /* kernel older than 6.3: cannot tell */
		goto out;
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0,
				 EXT_NETDEV_CMD_DEV_GET, 1) ||
	    nla_put_u32(msg, EXT_NETDEV_A_DEV_IFINDEX, ifindex))
		goto out;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_dev_reply, &reply);
	if (nl_send_auto(sk, msg) < 0 || nl_recvmsgs_default(sk) < 0)
		goto out;
	if (reply.seen)
		ret = (reply.features & EXT_NETDEV_XDP_ACT_NDO_XMIT) ? 1 : 0;
out:
	nlmsg_free(msg);
	nl_socket_free(sk);
	return ret;
}
