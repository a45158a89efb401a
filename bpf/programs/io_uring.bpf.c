// SPDX-License-Identifier: GPL-2.0-only
/*
 * io_uring: operations submitted through a ring never pass a syscall
 * tracepoint (the "curing" rootkit, 2025). They are seen through the
 * io_uring tracepoints and become the same records as their syscalls, built
 * by the same code (se_open_emit, se_path_emit), flagged SE_F_IO_URING with
 * the opcode in bits 8..15 of the record flags. Covered: OPENAT, OPENAT2,
 * UNLINKAT, RENAMEAT, MKDIRAT, SYMLINKAT, LINKAT, CONNECT, ACCEPT, SETXATTR,
 * FSETXATTR (se_xattr_emit, attrs.bpf.c), and WRITE, WRITE_FIXED, WRITEV to
 * regular files.
 *
 *  - submit: after the request's prep, the kernel holds its own copies of
 *    the paths (struct filename, getname() at prep): they are saved per
 *    request. No user memory is read, so nothing can change under us.
 *  - complete: the result (cqe->res); the record is emitted with the saved
 *    paths, the base directory of relative ones and, for an open into the
 *    fd table, the opened file resolved from the fd (kernel truth).
 *
 * Context: the SQPOLL thread and io-wq workers are threads of the process
 * that owns the ring (create_io_thread); se_fill_hdr reports that process's
 * leader for them. Their fd table and fs are the owner's (CLONE_FILES,
 * CLONE_FS), so fds and relative paths resolve as the owner's would.
 *
 *  - writes: nothing is saved at submit (a write storm must not pay a map
 *    update per request); at completion the request's file is still held
 *    (it is put when the request is freed, after its CQE). The first write
 *    through a ring to an open file is the open-for-write record of that
 *    file (se_open_emit_file: same kind, filters, kill check), and notes the
 *    file's provenance; later writes to the same (ring, file) within
 *    SE_IOU_WRITE_REARM_NS are dropped after one LRU lookup.
 *
 * Requests that complete without a CQE (IOSQE_CQE_SKIP_SUCCESS) leave their
 * saved state behind: the map is a bounded hash; a full map is counted
 * (SE_CNT_ENTRY_FULL) and the request is then not reported.
 */
#include "../lib/provenance.bpf.h"

/* include/uapi/linux/io_uring.h: enum io_uring_op (stable numbers). */
enum se_iou_op {
	SE_IOU_WRITEV = 2,
	SE_IOU_WRITE_FIXED = 5,
	SE_IOU_ACCEPT = 13,
	SE_IOU_CONNECT = 16,
	SE_IOU_OPENAT = 18,
	SE_IOU_OPENAT2 = 28,
	SE_IOU_RENAMEAT = 35,
	SE_IOU_UNLINKAT = 36,
	SE_IOU_MKDIRAT = 37,
	SE_IOU_SYMLINKAT = 38,
	SE_IOU_LINKAT = 39,
	SE_IOU_WRITE = 23,
	SE_IOU_FSETXATTR = 41,
	SE_IOU_SETXATTR = 42,
};

struct se_iou_req {
	struct se_entry_strs strs;      /* the kernel's copies of the request's paths */
	__u64 a[4];                     /* family arguments (as the syscall record's args 0..3) */
	int dfd[2];
	int fd;                         /* open: resolve the result as an fd (0), or not (-1: fixed-file slot) */
	__u32 type;                     /* enum se_event_type */
	__u32 sc;                       /* enum se_syscall of the equivalent syscall */
	__u32 opcode;
	__u32 vlen;                     /* xattr: value bytes kept in value[] */
	__u8 value[SE_XATTR_VALUE_MAX]; /* xattr: the kernel's copy of the value (freed after completion) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct se_iou_req);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} iou_reqs SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_iou_req);
} iou_zero SEC(".maps") __weak;

/* Writes already reported: (ring, file, inode) → when. A (ring, file) is
 * reported again after SE_IOU_WRITE_REARM_NS, or when the file was closed
 * and another open got a different struct file (or inode). */
struct se_iou_wkey {
	__u64 ring;
	__u64 file;
	__u64 ino;
};
#define SE_IOU_WRITE_REARM_NS (60ULL * 1000000000ULL)
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct se_iou_wkey);
	__type(value, __u64);
} iou_written SEC(".maps") __weak;

/* The kernel's copy of a path (struct filename) into copy i. */
static __always_inline void se_iou_name(struct se_iou_req *q, __u32 i, struct filename *fn)
{
	const char *name = fn ? BPF_CORE_READ(fn, name) : NULL;
	long n;

	if (!name) {
		q->strs.flags[i & 1] = SE_STR_FAULT;
		return;
	}
	n = bpf_probe_read_kernel_str(q->strs.s[i & 1], SE_PATH_MAX, name);
	if (n > 0) {
		q->strs.len[i & 1] = n - 1;
		if (n >= SE_PATH_MAX)
			q->strs.flags[i & 1] = SE_STR_TRUNCATED;
	} else {
		q->strs.flags[i & 1] = SE_STR_FAULT;
	}
}

/*
 * tp_btf/io_uring_submit_req: TP_PROTO(struct io_kiocb *req)
 * Called by io_submit_sqe() after io_init_req() has run the opcode's prep.
 */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(se_iou_submit, struct io_kiocb *req)
{
	__u32 op = req->opcode, type, zero = 0;
	__u64 key = (__u64)req;
	__u64 cmd = key + bpf_core_field_offset(struct io_kiocb, cmd);
	struct se_iou_req *z, *q;

	switch (op) {
	case SE_IOU_OPENAT:
	case SE_IOU_OPENAT2:
		type = SE_EV_OPEN;
		break;
	case SE_IOU_UNLINKAT:
		type = SE_EV_UNLINK;
		break;
	case SE_IOU_RENAMEAT:
		type = SE_EV_RENAME;
		break;
	case SE_IOU_MKDIRAT:
		type = SE_EV_MKDIR;
		break;
	case SE_IOU_SYMLINKAT:
		type = SE_EV_SYMLINK;
		break;
	case SE_IOU_LINKAT:
		type = SE_EV_LINK;
		break;
	case SE_IOU_CONNECT:
		type = SE_EV_CONNECT;
		break;
	case SE_IOU_ACCEPT:
		type = SE_EV_ACCEPT;
		break;
	case SE_IOU_SETXATTR:
	case SE_IOU_FSETXATTR:
		/* struct kernel_xattr_ctx is 6.13's (before: struct xattr_ctx, not read). */
		if (!bpf_core_type_exists(struct kernel_xattr_ctx))
			return 0;
		type = SE_EV_XATTR;
		break;
	default:
		return 0;
	}
	if (!se_wanted(type))
		return 0;
	z = bpf_map_lookup_elem(&iou_zero, &zero);
	if (!z)
		return 0;
	if (bpf_map_update_elem(&iou_reqs, &key, z, BPF_ANY)) {
		se_count(SE_CNT_ENTRY_FULL);
		return 0;
	}
	q = bpf_map_lookup_elem(&iou_reqs, &key);
	if (!q)
		return 0;
	q->type = type;
	q->opcode = op;
	q->strs.ts_ns = bpf_ktime_get_boot_ns();
	q->strs.tag = op + 1;
	q->dfd[0] = q->dfd[1] = SE_AT_FDCWD;
	switch (op) {
	case SE_IOU_OPENAT:
	case SE_IOU_OPENAT2: {
		struct io_open *o = (struct io_open *)cmd;
		q->sc = op == SE_IOU_OPENAT ? SE_SC_OPENAT : SE_SC_OPENAT2;
		q->dfd[0] = BPF_CORE_READ(o, dfd);
		q->a[0] = (__u64)(__s64)q->dfd[0];
		q->a[1] = BPF_CORE_READ(o, how.flags);
		q->a[2] = BPF_CORE_READ(o, how.mode);
		q->fd = BPF_CORE_READ(o, file_slot) ? -1 : 0;
		se_iou_name(q, 0, BPF_CORE_READ(o, filename));
		break;
	}
	case SE_IOU_UNLINKAT: {
		struct io_unlink *u = (struct io_unlink *)cmd;
		q->sc = SE_SC_UNLINKAT;
		q->dfd[0] = BPF_CORE_READ(u, dfd);
		q->a[0] = (__u64)(__s64)q->dfd[0];
		q->a[1] = BPF_CORE_READ(u, flags);
		se_iou_name(q, 0, BPF_CORE_READ(u, filename));
		break;
	}
	case SE_IOU_RENAMEAT: {
		struct io_rename *rn = (struct io_rename *)cmd;
		q->sc = SE_SC_RENAMEAT2;
		q->dfd[0] = BPF_CORE_READ(rn, old_dfd);
		q->dfd[1] = BPF_CORE_READ(rn, new_dfd);
		q->a[0] = (__u64)(__s64)q->dfd[0];
		q->a[1] = (__u64)(__s64)q->dfd[1];
		q->a[2] = BPF_CORE_READ(rn, flags);
		se_iou_name(q, 0, BPF_CORE_READ(rn, oldpath));
		se_iou_name(q, 1, BPF_CORE_READ(rn, newpath));
		break;
	}
	case SE_IOU_MKDIRAT: {
		struct io_mkdir *m = (struct io_mkdir *)cmd;
		q->sc = SE_SC_MKDIRAT;
		q->dfd[0] = BPF_CORE_READ(m, dfd);
		q->a[0] = (__u64)(__s64)q->dfd[0];
		q->a[1] = BPF_CORE_READ(m, mode);
		se_iou_name(q, 0, BPF_CORE_READ(m, filename));
		break;
	}
	case SE_IOU_SYMLINKAT: {
		struct io_link *l = (struct io_link *)cmd;
		q->sc = SE_SC_SYMLINKAT;
		q->dfd[1] = BPF_CORE_READ(l, new_dfd);
		q->a[0] = (__u64)(__s64)q->dfd[1];
		se_iou_name(q, 0, BPF_CORE_READ(l, oldpath));
		se_iou_name(q, 1, BPF_CORE_READ(l, newpath));
		break;
	}
	case SE_IOU_LINKAT: {
		struct io_link *l = (struct io_link *)cmd;
		q->sc = SE_SC_LINKAT;
		q->dfd[0] = BPF_CORE_READ(l, old_dfd);
		q->dfd[1] = BPF_CORE_READ(l, new_dfd);
		q->a[0] = (__u64)(__s64)q->dfd[0];
		q->a[1] = (__u64)(__s64)q->dfd[1];
		q->a[2] = BPF_CORE_READ(l, flags);
		se_iou_name(q, 0, BPF_CORE_READ(l, oldpath));
		se_iou_name(q, 1, BPF_CORE_READ(l, newpath));
		break;
	}
	case SE_IOU_CONNECT: {
		/* prep copied the address into the request's async data (move_addr_to_kernel). */
		struct io_connect *c = (struct io_connect *)cmd;
		struct io_async_msghdr *io = req->async_data;
		__u32 len = BPF_CORE_READ(c, addr_len);
		q->a[0] = req->cqe.fd;
		if (len > 128)
			len = 128;
		if (io)
			bpf_probe_read_kernel(q->strs.s[0], 128, &io->addr);
		q->strs.len[0] = len;
		break;
	}
	case SE_IOU_SETXATTR:
	case SE_IOU_FSETXATTR: {
		/* prep copied the name (kname) and the value (kvalue) into the kernel (setxattr_copy). */
		struct io_xattr *x = (struct io_xattr *)cmd;
		struct xattr_name *kname = BPF_CORE_READ(x, ctx.kname);
		void *kvalue = BPF_CORE_READ(x, ctx.kvalue);
		__u64 size = BPF_CORE_READ(x, ctx.size);
		__u32 vlen = size > SE_XATTR_VALUE_MAX ? SE_XATTR_VALUE_MAX : size;
		long n;

		q->a[1] = size;
		q->a[2] = BPF_CORE_READ(x, ctx.flags);
		if (op == SE_IOU_SETXATTR) {
			q->sc = SE_SC_SETXATTR;
			se_iou_name(q, 0, BPF_CORE_READ(x, filename));
		} else {
			q->sc = SE_SC_FSETXATTR;
			q->fd = req->cqe.fd;
		}
		q->a[0] = op == SE_IOU_SETXATTR ? (__u64)(__s64)SE_AT_FDCWD : (__u64)(__s64)q->fd;
		n = kname ? bpf_probe_read_kernel_str(q->strs.s[1], 256, kname->name) : -1;
		if (n > 0)
			q->strs.len[1] = n - 1;
		else
			q->strs.flags[1] = SE_STR_FAULT;
		if (kvalue && vlen && vlen <= SE_XATTR_VALUE_MAX && !bpf_probe_read_kernel(q->value, vlen, kvalue))
			q->vlen = vlen;
		break;
	}
	case SE_IOU_ACCEPT: {
		struct io_accept *ac = (struct io_accept *)cmd;
		q->a[0] = req->cqe.fd;
		q->a[1] = BPF_CORE_READ(ac, flags);
		q->fd = BPF_CORE_READ(ac, file_slot) ? -1 : 0;
		break;
	}
	}
	return 0;
}

/* connect / accept through a ring: the records of their syscalls (net.bpf.c).
 * The socket's file is the request's (assigned at issue, after submit_req:
 * read at completion), or the fd in the owner's table. */
static __always_inline void se_iou_net(struct se_iou_req *q, void *req, long res, __u32 xflags)
{
	struct file *f = BPF_CORE_READ((struct io_kiocb *)req, file);
	struct sock *lsk = se_file_sock(f ? f : se_fd_file((int)q->a[0])), *sk = lsk;
	struct se_rec r;

	if (q->type == SE_EV_CONNECT)
		se_prov_connect(lsk, res);
	if (q->type == SE_EV_ACCEPT && res >= 0 && q->fd >= 0)
		sk = se_fd_sock(res);
	if (!se_net_family_ok(sk) || !se_begin(&r, q->type))
		return;
	r.ev->hdr.flags |= xflags;
	r.ev->ret = res;
	r.ev->args[SE_SOCK_ARG_FD] = q->a[0];
	se_sock_kind(&r, SE_SOCK_ARG_TYPE, sk);
	if (q->type == SE_EV_CONNECT) {
		/* Connected: the peer from struct sock (kernel truth); else the address asked for. */
		if (res == 0)
			se_put_sock_addr(&r, SE_SOCK_STR_REMOTE, sk, true);
		else
			se_put_any_sockaddr(&r, SE_SOCK_STR_REMOTE, q->strs.s[0], q->strs.len[0], false);
	} else {
		r.ev->args[SE_ACCEPT_ARG_FLAGS] = q->a[1];
		r.ev->args[SE_ARG_SYSCALL] = SE_SC_ACCEPT4;
		if (res >= 0 && sk != lsk)
			se_put_sock_addr(&r, SE_SOCK_STR_REMOTE, sk, true);
	}
	se_put_sock_addr(&r, SE_SOCK_STR_LOCAL, sk, false);
	se_submit(&r);
}

#define SE_O_ACCMODE_IOU 03
#define SE_O_APPEND_IOU 02000

/* A write through a ring completed (see the top of the file). */
static __always_inline int se_iou_write_done(void *ring, struct io_kiocb *req, long res)
{
	__u32 op = BPF_CORE_READ(req, opcode), sc;
	struct se_iou_wkey k = {};
	struct file *f;
	struct inode *ino;
	__u64 now, *seen, fl;

	if (op == SE_IOU_WRITE || op == SE_IOU_WRITE_FIXED)
		sc = SE_SC_WRITE;
	else if (op == SE_IOU_WRITEV)
		sc = SE_SC_WRITEV;
	else
		return 0;
	f = BPF_CORE_READ(req, file);
	if (!f)
		return 0;
	ino = BPF_CORE_READ(f, f_inode);
	if (!ino || (BPF_CORE_READ(ino, i_mode) & SE_S_IFMT) != SE_S_IFREG)
		return 0;
	k.ring = (__u64)ring;
	k.file = (__u64)f;
	k.ino = BPF_CORE_READ(ino, i_ino);
	now = bpf_ktime_get_boot_ns();
	seen = bpf_map_lookup_elem(&iou_written, &k);
	if (seen && now - *seen < SE_IOU_WRITE_REARM_NS)
		return 0;
	bpf_map_update_elem(&iou_written, &k, &now, BPF_ANY);
	/* The open's intent is the file's: write (or read-write), append. */
	fl = BPF_CORE_READ(f, f_flags) & (SE_O_ACCMODE_IOU | SE_O_APPEND_IOU);
	if (!(fl & SE_O_ACCMODE_IOU))
		fl |= 1;
	return se_open_emit_file(res, -1, sc, SE_AT_FDCWD, NULL, fl, 0, true,
				 SE_F_IO_URING | ((op & 0xff) << SE_F_IOU_OP_SHIFT), f);
}

/* setxattr / fsetxattr through a ring: the records of their syscalls. The
 * file of FSETXATTR is the request's (assigned at issue). */
static __always_inline void se_iou_xattr(struct se_iou_req *q, void *req, long res, __u32 xflags)
{
	struct se_xattr_op op = {.sc = q->sc, .value = q->value, .kvalue = true, .size = q->a[1], .flags = q->a[2]};

	if (q->sc == SE_SC_FSETXATTR) {
		op.t.fd_based = true;
		op.t.dirfd = q->fd;
		op.file = BPF_CORE_READ((struct io_kiocb *)req, file);
	} else {
		op.t.dirfd = SE_AT_FDCWD;
	}
	if (q->vlen < op.size && op.size <= SE_XATTR_VALUE_MAX)
		op.value = NULL;        /* the value could not be read */
	se_xattr_emit(res, &op, &q->strs, false, xflags);
}

/*
 * tp_btf/io_uring_complete: TP_PROTO(struct io_ring_ctx *ctx, void *req, struct io_uring_cqe *cqe)
 * Called when the request's CQE is filled, in the task that completes it.
 */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(se_iou_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
	__u64 key = (__u64)req;
	struct se_iou_req *q = bpf_map_lookup_elem(&iou_reqs, &key);
	struct se_path_op op = {};
	__u32 xflags;
	long res;

	if (!q)
		return se_iou_write_done(ring, (struct io_kiocb *)req, cqe->res);
	res = cqe->res;
	xflags = SE_F_IO_URING | ((q->opcode & 0xff) << SE_F_IOU_OP_SHIFT);
	if (q->type == SE_EV_CONNECT || q->type == SE_EV_ACCEPT) {
		se_iou_net(q, req, res, xflags);
	} else if (q->type == SE_EV_XATTR) {
		se_iou_xattr(q, req, res, xflags);
	} else if (q->type == SE_EV_OPEN) {
		if (!(q->strs.flags[0] & SE_STR_FAULT))
			se_open_emit(res, q->fd < 0 ? -1 : res, q->sc, q->dfd[0], (const char *)q->strs.s[0], q->a[1], q->a[2],
				     true, xflags);
	} else {
		op.type = q->type;
		op.sc = q->sc;
		op.npaths = q->type == SE_EV_UNLINK || q->type == SE_EV_MKDIR ? 1 : 2;
		op.resolve0 = q->type != SE_EV_SYMLINK;
		op.dirfd[0] = q->dfd[0];
		op.dirfd[1] = q->dfd[1];
		op.args[0] = q->a[0];
		op.args[1] = q->a[1];
		op.args[2] = q->a[2];
		op.args[3] = q->a[3];
		if (se_path_copies_wanted(&op, &q->strs))
			se_path_emit(res, &op, &q->strs, false, xflags);
	}
	bpf_map_delete_elem(&iou_reqs, &key);
	return 0;
}

/*
 * tp_btf/io_uring_create: TP_PROTO(int fd, void *ctx, u32 sq_entries, u32 cq_entries, u32 flags)
 * A ring was created (io_uring_setup); fd is the ring's file descriptor.
 */
SEC("tp_btf/io_uring_create")
int BPF_PROG(se_iou_create, int fd, void *ring, __u32 sq_entries, __u32 cq_entries, __u32 flags)
{
	struct se_rec r;

	if (!se_wanted(SE_EV_IO_URING_SETUP))
		return 0;
	if (!se_begin(&r, SE_EV_IO_URING_SETUP))
		return 0;
	r.ev->ret = fd;
	r.ev->args[SE_IOU_SETUP_ARG_SQ_ENTRIES] = sq_entries;
	r.ev->args[SE_IOU_SETUP_ARG_CQ_ENTRIES] = cq_entries;
	r.ev->args[SE_IOU_SETUP_ARG_FLAGS] = flags;
	se_submit(&r);
	return 0;
}
