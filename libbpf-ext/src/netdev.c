// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Device checks: does the ifindex exist here, and can it transmit XDP frames.
 * The second question is answered by the netdev generic-netlink family's
 * xdp-features attribute (Linux 6.3+): through libnl for one question
 * (ext_xdp_xmit_capable), or from a cache kept fresh by the family's
 * notifications (ext_xdp_xmit_cached, the slot writes' fast path). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "internal.h"

/* From include/uapi/linux/netdev.h (6.3+); the build host's headers may be
 * older than the kernel that runs the binary. */
#define EXT_NETDEV_FAMILY "netdev"
#define EXT_NETDEV_CMD_DEV_GET 1
#define EXT_NETDEV_CMD_DEV_ADD_NTF 2
#define EXT_NETDEV_CMD_DEV_DEL_NTF 3
#define EXT_NETDEV_CMD_DEV_CHANGE_NTF 4
#define EXT_NETDEV_MCGRP_MGMT "mgmt"
#define EXT_NETDEV_A_DEV_IFINDEX 1
#define EXT_NETDEV_A_DEV_XDP_FEATURES 3
#define EXT_NETDEV_XDP_ACT_NDO_XMIT 4

int ext_device_name(__u32 ifindex, char name[IF_NAMESIZE])
{
	if (!ifindex)
		return ext_fail(EINVAL, "ifindex 0 is not a device: to empty a slot, "
				"delete it");
	if (if_indextoname(ifindex, name))
		return 0;
	/* ENXIO: no such device; anything else is why the kernel was not asked. */
	if (errno != ENXIO && errno != ENODEV)
		return ext_fail(errno, "looking up the name of ifindex %u failed: %s",
				ifindex, strerror(errno));
	return ext_fail(ENODEV, "no device with ifindex %u in this network "
				"namespace: check 'ip link' (the device may have been "
				"deleted, or lives in another namespace)", ifindex);
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

/*
 * The cache behind ext_xdp_xmit_cached(): ifindex -> "can transmit XDP
 * frames" in the calling thread's network namespace, so that a slot write
 * costs no netlink round trip once its device has been asked about.
 *
 * Why a stale answer cannot let a slot accept a device that cannot transmit:
 *  - The cache belongs to one network namespace, named by the inode of
 *    /proc/thread-self/ns/net, read on every call: a thread that moved
 *    (setns, unshare) sees another inode, and the cache is emptied and
 *    rebuilt in its namespace. While the cache names a namespace its
 *    sockets hold it, so the namespace cannot die and its inode number go to
 *    another one.
 *  - Before any answer is stored, a socket subscribed to the netdev family's
 *    "mgmt" group exists in that namespace. The kernel queues DEV_ADD_NTF
 *    when a device registers, DEV_DEL_NTF when it unregisters (deleted or
 *    moved out of the namespace) and DEV_CHANGE_NTF when its xdp_features
 *    change (xdp_set_features_flag(), after storing the new value; veth
 *    changes NDO_XMIT so when its peer gains or loses XDP or GRO), each
 *    before the operation that made the change returns. A deleted device,
 *    an ifindex given to another device and changed features thus all leave
 *    a message in that socket.
 *  - Every call reads all pending messages before it looks at an entry. A
 *    message forgets the entry of its ifindex; a message it cannot read, a
 *    truncated one or a lost one (ENOBUFS: the socket overran) forgets every
 *    entry. Messages only ever remove knowledge.
 *  - An answer is stored from a query made after those reads: a change
 *    between the reads and the query is in the answer, or its message is
 *    read by the next call.
 *  - A forked child starts over with an empty cache and no sockets
 *    (pthread_atfork): parent and child must not read each other's messages.
 * What remains is the race every check-then-write has, cached or not: a
 * change between this check and bpf_map_update_elem(). Drivers assign
 * xdp_features directly only before registering the device (DEV_ADD_NTF
 * follows); every later change goes through xdp_set_features_flag().
 * Without /proc/thread-self (no procfs) or without the netdev family the
 * cache is not used and each call asks, or answers "unknown", as before.
 */
#define XMIT_CACHE_SLOTS 4096 /* direct-mapped by ifindex: a collision is a miss */

enum xmit_state { XMIT_NONE, XMIT_CANNOT, XMIT_CAN };

struct xmit_slot {
	__u32 ifindex;
	__u32 state; /* enum xmit_state */
};

static struct {
	pthread_mutex_t lock;
	bool open;                   /* the fields below describe namespace ns */
	unsigned long long ns;       /* inode of the namespace */
	int family;                  /* the netdev family's id; 0: this kernel has none */
	int ntf_fd;                  /* subscribed to its "mgmt" group */
	int query_fd;                /* asks DEV_GET */
	__u32 seq;
	struct ext_xmit_cache_stats stats;
	struct xmit_slot slot[XMIT_CACHE_SLOTS];
} xc = { .lock = PTHREAD_MUTEX_INITIALIZER, .ntf_fd = -1, .query_fd = -1 };

static void xc_forget_all(void)
{
	memset(xc.slot, 0, sizeof(xc.slot));
	xc.stats.flushes++;
}

static void xc_forget(__u32 ifindex)
{
	struct xmit_slot *e = &xc.slot[ifindex % XMIT_CACHE_SLOTS];

	if (e->ifindex == ifindex)
		e->state = XMIT_NONE;
}

/* Also what a forked child runs: close() only. */
static void xc_close(void)
{
	if (xc.ntf_fd >= 0)
		close(xc.ntf_fd);
	if (xc.query_fd >= 0)
		close(xc.query_fd);
	xc.ntf_fd = xc.query_fd = -1;
	xc.open = false;
	memset(xc.slot, 0, sizeof(xc.slot));
}

static void xc_lock(void)
{
	pthread_mutex_lock(&xc.lock);
}

static void xc_unlock(void)
{
	pthread_mutex_unlock(&xc.lock);
}

static void xc_child(void)
{
	xc_close();
	xc_unlock();
}

static pthread_once_t xc_atfork_once = PTHREAD_ONCE_INIT;

static void xc_register_atfork(void)
{
	pthread_atfork(xc_lock, xc_unlock, xc_child);
}

__attribute__((destructor)) static void xc_fini(void)
{
	xc_close();
}

/* The calling thread's network namespace (its nsfs inode), 0 if unknown. */
static unsigned long long thread_netns(void)
{
	unsigned long long ino;
	char buf[64];
	ssize_t n = readlink("/proc/thread-self/ns/net", buf, sizeof(buf) - 1);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "net:[%llu]", &ino) != 1)
		return 0;
	return ino;
}

static int netlink_socket(int flags)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | flags, NETLINK_GENERIC);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Open the sockets in the calling thread's namespace `ns`, subscription
 * first. 0, or <0 when the cache cannot be used. */
static int xc_open(unsigned long long ns)
{
	struct nl_sock *sk;
	int family, grp = -1;

	pthread_once(&xc_atfork_once, xc_register_atfork);
	sk = nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	if (genl_connect(sk)) {
		nl_socket_free(sk);
		return -ENOTCONN;
	}
	family = genl_ctrl_resolve(sk, EXT_NETDEV_FAMILY);
	if (family >= 0)
		grp = genl_ctrl_resolve_grp(sk, EXT_NETDEV_FAMILY, EXT_NETDEV_MCGRP_MGMT);
	nl_socket_free(sk);
	if (family < 0) { /* kernel older than 6.3: every answer is "unknown" */
		xc.family = 0;
		goto done;
	}
	if (grp < 0)
		return -ENOENT;
	xc.ntf_fd = netlink_socket(SOCK_NONBLOCK);
	if (xc.ntf_fd < 0 ||
	    setsockopt(xc.ntf_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)))
		goto fail;
	xc.query_fd = netlink_socket(0);
	if (xc.query_fd < 0)
		goto fail;
	xc.family = family;
done:
	xc.ns = ns;
	xc.open = true;
	return 0;
fail:
	xc_close();
	return -EIO;
}

/* Read every pending notification. 0, or <0 when the socket failed. */
static int xc_drain(void)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));

	for (;;) {
		ssize_t n = recv(xc.ntf_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOBUFS) { /* overrun: some messages are lost */
				xc_forget_all();
				continue;
			}
			return -errno;
		}
		xc.stats.notifications++;
		if ((size_t)n > sizeof(buf)) { /* truncated */
			xc_forget_all();
			continue;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			struct nlattr *a[EXT_NETDEV_A_DEV_IFINDEX + 1];

			if (nh->nlmsg_type == xc.family &&
			    !genlmsg_parse(nh, 0, a, EXT_NETDEV_A_DEV_IFINDEX, NULL) &&
			    a[EXT_NETDEV_A_DEV_IFINDEX] &&
			    nla_len(a[EXT_NETDEV_A_DEV_IFINDEX]) == sizeof(__u32))
				xc_forget(nla_get_u32(a[EXT_NETDEV_A_DEV_IFINDEX]));
			else
				xc_forget_all();
		}
		if (n)
			xc_forget_all();
	}
}

/* One DEV_GET on the cache's socket: 1, 0, or <0 (the query failed). */
static int xc_query(__u32 ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct genlmsghdr gh;
		struct nlattr na;
		__u32 ifindex;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = xc.family,
			.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = ++xc.seq },
		.gh = { .cmd = EXT_NETDEV_CMD_DEV_GET, .version = 1 },
		.na = { .nla_len = NLA_HDRLEN + sizeof(__u32),
			.nla_type = EXT_NETDEV_A_DEV_IFINDEX },
		.ifindex = ifindex,
	};
	char buf[4096] __attribute__((aligned(NLMSG_ALIGNTO)));

	xc.stats.queries++;
	if (send(xc.query_fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -EIO;
	/* The kernel answers inside send(): a reply, or an error message. A
	 * reply to an earlier, abandoned query has another sequence number. */
	for (;;) {
		ssize_t n = recv(xc.query_fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *nh;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			struct nlattr *a[EXT_NETDEV_A_DEV_XDP_FEATURES + 1];

			if (nh->nlmsg_seq != req.nh.nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				return e->error < 0 ? e->error : -EIO;
			}
			if (nh->nlmsg_type != xc.family ||
			    genlmsg_parse(nh, 0, a, EXT_NETDEV_A_DEV_XDP_FEATURES, NULL) ||
			    !a[EXT_NETDEV_A_DEV_XDP_FEATURES])
				return -EIO;
			return (nla_get_u64(a[EXT_NETDEV_A_DEV_XDP_FEATURES]) &
				EXT_NETDEV_XDP_ACT_NDO_XMIT) ? 1 : 0;
		}
	}
}

int ext_xdp_xmit_cached(__u32 ifindex)
{
	unsigned long long ns = thread_netns();
	struct xmit_slot *e;
	int ret;

	if (!ns)
		return ext_xdp_xmit_capable(ifindex);
	xc_lock();
	if (!xc.open || xc.ns != ns) {
		xc_close();
		if (xc_open(ns))
			goto uncached;
	}
	if (!xc.family) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (xc_drain()) { /* not our socket any more (closed behind our back?) */
		xc_close();
		goto uncached;
	}
	e = &xc.slot[ifindex % XMIT_CACHE_SLOTS];
	if (e->state != XMIT_NONE && e->ifindex == ifindex) {
		xc.stats.hits++;
		ret = e->state == XMIT_CAN;
		goto out;
	}
	ret = xc_query(ifindex);
	if (ret >= 0) {
		e->ifindex = ifindex;
		e->state = ret ? XMIT_CAN : XMIT_CANNOT;
	}
out:
	xc_unlock();
	return ret;
uncached:
	xc_unlock();
	return ext_xdp_xmit_capable(ifindex);
}

void ext_xmit_cache_read_stats(struct ext_xmit_cache_stats *stats)
{
	xc_lock();
	*stats = xc.stats;
	xc_unlock();
}
