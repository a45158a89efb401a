// SPDX-License-Identifier: GPL-2.0-only
/*
 * Network: connect, accept/accept4, bind, listen — IPv4, IPv6 and unix
 * sockets, at sys_exit with the result. Addresses the kernel holds for the
 * socket (struct sock) are preferred to the caller's sockaddr: accept's
 * peer, the local address after connect/bind/listen. The caller's sockaddr
 * is the remote of connect and the requested address of bind.
 *
 * String slots carry struct se_sockaddr blobs: slot 0 remote, slot 1 local.
 *
 * sys_exit_*: struct trace_event_raw_sys_exit { ...; long id; long ret; }
 */
#include "../lib/provenance.bpf.h"
#include <bpf/bpf_endian.h>

static __always_inline struct sock *se_file_sock(struct file *f)
{
	struct socket *sock;
	umode_t mode;

	if (!f)
		return NULL;
	mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & SE_S_IFMT) != SE_S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

static __always_inline struct sock *se_fd_sock(int fd)
{
	return se_file_sock(se_fd_file(fd));
}

/* Reserve a sockaddr blob (plus room for a unix path) at the record's end. */
static __always_inline struct se_sockaddr *se_sa_begin(struct se_rec *r)
{
	if (r->pos >= SE_SCRATCH_SIZE)
		return NULL;
	struct se_sockaddr *sa = (struct se_sockaddr *)((__u8 *)r->ev + (r->pos & SE_REC_MASK));
	__builtin_memset(sa, 0, sizeof(*sa));
	return sa;
}

static __always_inline void se_sa_end(struct se_rec *r, __u32 slot, __u32 extra)
{
	se_set_str(r, slot, r->pos, sizeof(struct se_sockaddr) + extra, SE_STR_BLOB);
	r->pos += sizeof(struct se_sockaddr) + extra;
}

/* The socket's own address (local) or its peer's (remote), from struct sock. */
static __always_inline void se_put_sock_addr(struct se_rec *r, __u32 slot, struct sock *sk, bool remote)
{
	struct se_sockaddr *sa;
	__u16 family;

	if (!sk)
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	sa = se_sa_begin(r);
	if (!sa)
		return;
	sa->family = family;
	if (family == SE_AF_INET) {
		if (remote) {
			sa->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
			bpf_core_read(sa->addr, 4, &sk->__sk_common.skc_daddr);
		} else {
			sa->port = BPF_CORE_READ(sk, __sk_common.skc_num);
			bpf_core_read(sa->addr, 4, &sk->__sk_common.skc_rcv_saddr);
		}
		se_sa_end(r, slot, 0);
	} else if (family == SE_AF_INET6) {
		if (remote) {
			sa->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
			bpf_core_read(sa->addr, 16, &sk->__sk_common.skc_v6_daddr);
		} else {
			sa->port = BPF_CORE_READ(sk, __sk_common.skc_num);
			bpf_core_read(sa->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		}
		se_sa_end(r, slot, 0);
	} else if (family == SE_AF_UNIX) {
		/* The bound path of this socket (or of its peer). */
		struct unix_sock *u = (struct unix_sock *)sk;
		struct unix_address *ua;
		int len;

		if (remote) {
			struct sock *peer = BPF_CORE_READ(u, peer);
			if (!peer) {
				se_sa_end(r, slot, 0);
				return;
			}
			u = (struct unix_sock *)peer;
		}
		ua = BPF_CORE_READ(u, addr);
		len = ua ? BPF_CORE_READ(ua, len) - 2 : 0; /* minus sun_family */
		if (len > SE_UNIX_PATH_MAX)
			len = SE_UNIX_PATH_MAX;
		if (len > 0) {
			bpf_probe_read_kernel((__u8 *)sa + sizeof(*sa), len & 127, (__u8 *)&ua->name[0] + 2);
			se_sa_end(r, slot, len);
		} else {
			se_sa_end(r, slot, 0);
		}
	}
}

/* A sockaddr: the caller's (user memory), or the kernel's copy (io_uring). */
static __always_inline void se_put_any_sockaddr(struct se_rec *r, __u32 slot, const void *uaddr, __u32 ulen, bool user)
{
	__u8 raw[28] = {};
	struct se_sockaddr *sa;
	__u16 family;

	if (!uaddr || ulen < 2)
		return;
	if (user)
		bpf_probe_read_user(raw, sizeof(raw), uaddr);
	else
		bpf_probe_read_kernel(raw, sizeof(raw), uaddr);
	family = raw[0] | (raw[1] << 8);
	sa = se_sa_begin(r);
	if (!sa)
		return;
	sa->family = family;
	if (family == SE_AF_INET) {
		sa->port = (raw[2] << 8) | raw[3];
		__builtin_memcpy(sa->addr, &raw[4], 4);
		se_sa_end(r, slot, 0);
	} else if (family == SE_AF_INET6) {
		sa->port = (raw[2] << 8) | raw[3];
		__builtin_memcpy(sa->addr, &raw[8], 16);
		se_sa_end(r, slot, 0);
	} else if (family == SE_AF_UNIX) {
		__u32 n = ulen > 2 ? ulen - 2 : 0;
		if (n > SE_UNIX_PATH_MAX)
			n = SE_UNIX_PATH_MAX;
		if (user)
			bpf_probe_read_user((__u8 *)sa + sizeof(*sa), n & 127, (const __u8 *)uaddr + 2);
		else
			bpf_probe_read_kernel((__u8 *)sa + sizeof(*sa), n & 127, (const __u8 *)uaddr + 2);
		se_sa_end(r, slot, n);
	} else {
		se_sa_end(r, slot, 0);
	}
}

static __always_inline void se_put_user_sockaddr(struct se_rec *r, __u32 slot, const void *uaddr, __u32 ulen)
{
	se_put_any_sockaddr(r, slot, uaddr, ulen, true);
}

static __always_inline bool se_net_family_ok(struct sock *sk)
{
	__u16 family = sk ? BPF_CORE_READ(sk, __sk_common.skc_family) : 0;
	return family == SE_AF_INET || family == SE_AF_INET6 || family == SE_AF_UNIX;
}

static __always_inline void se_sock_kind(struct se_rec *r, __u32 at, struct sock *sk)
{
	r->ev->args[at & 3] = BPF_CORE_READ(sk, sk_type);
	r->ev->args[(at + 1) & 3] = BPF_CORE_READ(sk, sk_protocol);
}

/* connect(int fd, struct sockaddr *uservaddr, int addrlen) */
SEC("tracepoint/syscalls/sys_exit_connect")
int se_sys_exit_connect(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct sock *sk;
	struct se_rec r;

	/* Provenance needs "connected out" whether or not connects are reported. */
	if (ctx->ret == 0 || ctx->ret == -115) {
		se_sys_args(a);
		se_prov_connect(se_fd_sock((int)a[0]), ctx->ret);
	}
	if (!se_wanted(SE_EV_CONNECT))
		return 0;
	se_sys_args(a);
	sk = se_fd_sock((int)a[0]);
	if (!se_net_family_ok(sk) || !se_begin(&r, SE_EV_CONNECT))
		return 0;
	r.ev->ret = ctx->ret;
	r.ev->args[SE_SOCK_ARG_FD] = a[0];
	se_sock_kind(&r, SE_SOCK_ARG_TYPE, sk);
	se_put_user_sockaddr(&r, SE_SOCK_STR_REMOTE, (void *)a[1], (__u32)a[2]);
	se_put_sock_addr(&r, SE_SOCK_STR_LOCAL, sk, false);
	se_submit(&r);
	return 0;
}

static __always_inline int se_accept_exit(long ret, __u32 sc, __u64 flags)
{
	__u64 a[6];
	struct sock *sk;
	struct se_rec r;

	if (!se_wanted(SE_EV_ACCEPT))
		return 0;
	se_sys_args(a);
	sk = ret >= 0 ? se_fd_sock(ret) : se_fd_sock((int)a[0]);
	if (!se_net_family_ok(sk) || !se_begin(&r, SE_EV_ACCEPT))
		return 0;
	r.ev->ret = ret;
	r.ev->args[SE_SOCK_ARG_FD] = a[0];
	se_sock_kind(&r, SE_SOCK_ARG_TYPE, sk);
	r.ev->args[SE_ACCEPT_ARG_FLAGS] = flags;
	r.ev->args[SE_ARG_SYSCALL] = sc;
	if (ret >= 0)
		se_put_sock_addr(&r, SE_SOCK_STR_REMOTE, sk, true);
	se_put_sock_addr(&r, SE_SOCK_STR_LOCAL, sk, false);
	se_submit(&r);
	return 0;
}

/* accept(int fd, struct sockaddr *upeer_sockaddr, int *upeer_addrlen) */
SEC("tracepoint/syscalls/sys_exit_accept")
int se_sys_exit_accept(struct se_sys_exit_ctx *ctx)
{
	return se_accept_exit(ctx->ret, SE_SC_ACCEPT, 0);
}

/* accept4(int fd, struct sockaddr *upeer_sockaddr, int *upeer_addrlen, int flags) */
SEC("tracepoint/syscalls/sys_exit_accept4")
int se_sys_exit_accept4(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];

	se_sys_args(a);
	return se_accept_exit(ctx->ret, SE_SC_ACCEPT4, a[3]);
}

/* bind(int fd, struct sockaddr *umyaddr, int addrlen) */
SEC("tracepoint/syscalls/sys_exit_bind")
int se_sys_exit_bind(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct sock *sk;
	struct se_rec r;

	if (!se_wanted(SE_EV_BIND))
		return 0;
	se_sys_args(a);
	sk = se_fd_sock((int)a[0]);
	if (!se_net_family_ok(sk) || !se_begin(&r, SE_EV_BIND))
		return 0;
	r.ev->ret = ctx->ret;
	r.ev->args[SE_SOCK_ARG_FD] = a[0];
	se_sock_kind(&r, SE_SOCK_ARG_TYPE, sk);
	se_put_user_sockaddr(&r, SE_SOCK_STR_LOCAL, (void *)a[1], (__u32)a[2]);
	se_submit(&r);
	return 0;
}

/* listen(int fd, int backlog) */
SEC("tracepoint/syscalls/sys_exit_listen")
int se_sys_exit_listen(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct sock *sk;
	struct se_rec r;

	if (!se_wanted(SE_EV_LISTEN))
		return 0;
	se_sys_args(a);
	sk = se_fd_sock((int)a[0]);
	if (!se_net_family_ok(sk) || !se_begin(&r, SE_EV_LISTEN))
		return 0;
	r.ev->ret = ctx->ret;
	r.ev->args[SE_SOCK_ARG_FD] = a[0];
	r.ev->args[SE_LISTEN_ARG_BACKLOG] = a[1];
	se_sock_kind(&r, SE_LISTEN_ARG_TYPE, sk);
	se_put_sock_addr(&r, SE_SOCK_STR_LOCAL, sk, false);
	se_submit(&r);
	return 0;
}

