// SPDX-License-Identifier: GPL-2.0-only
/*
 * File attributes that are not the mode or owner: extended attributes (the
 * setxattr and removexattr families: file capabilities in
 * security.capability, SELinux/SMACK/IMA labels, ACLs, user.* tags) and the
 * access/modification times (utimensat, futimesat, utimes, utime: timestomping).
 *
 * As file_ops.bpf.c: the caller's path (and the attribute name) are copied at
 * sys_enter and compared with a second copy at sys_exit (a difference is
 * argument tampering); relative paths travel with their kernel-resolved base;
 * fd-based variants resolve the file from the fd at exit. The path filter of
 * the other path operations applies (name/prefix of interest, or every path
 * when user space sets SE_FL_ALL_PATHS, as the live sensor does).
 *
 * The xattr value and the times are read from the caller's memory at exit:
 * the kernel copied them when the call began, so a caller racing its own
 * syscall can make the reported value differ from the applied one (the path
 * and name, which decide what was changed, are tamper-checked).
 *
 * String slots, SE_EV_XATTR: 0 path, 1 attribute name, 2 base of a relative
 * path, 3 value (blob). SE_EV_UTIMES: 0 path, 1 times (struct se_utimes blob),
 * 2 base.
 *
 * sys_enter_*: struct trace_event_raw_sys_enter { ...; long id; unsigned long args[6]; }
 * sys_exit_*:  struct trace_event_raw_sys_exit  { ...; long id; long ret; }
 */
#include "../lib/filter.bpf.h"

/* Append up to SE_XATTR_VALUE_MAX raw bytes (user or kernel memory) as a blob. */
static __always_inline void se_put_blob(struct se_rec *r, __u32 slot, const void *src, __u64 size, bool user)
{
	__u32 pos = r->pos, flags = SE_STR_BLOB, len = size;
	__u8 *dst;
	long err;

	if (size > SE_XATTR_VALUE_MAX) {
		len = SE_XATTR_VALUE_MAX;
		flags |= SE_STR_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
	}
	if (pos >= SE_SCRATCH_SIZE || !src) {
		se_set_str(r, slot, pos & SE_REC_MASK, 0, flags | SE_STR_FAULT);
		return;
	}
	dst = (__u8 *)r->ev + (pos & SE_REC_MASK);
	len &= (SE_XATTR_VALUE_MAX * 2 - 1);
	if (len > SE_XATTR_VALUE_MAX)
		len = SE_XATTR_VALUE_MAX;
	err = user ? bpf_probe_read_user(dst, len, src) : bpf_probe_read_kernel(dst, len, src);
	if (err) {
		se_set_str(r, slot, pos, 0, flags | SE_STR_FAULT);
		se_count(SE_CNT_READ_FAULT);
		return;
	}
	se_set_str(r, slot, pos, len, flags);
	r->pos = pos + len;
}

/* What an xattr or utimes call names: a caller path (dirfd-relative) or an fd. */
struct se_attr_target {
	const void *upath;      /* caller path (NULL: the fd is the file) */
	int dirfd;              /* base of a relative path, or the fd */
	bool fd_based;
};

/*
 * The file filter of the path operations, for a path (entry copy or caller
 * memory) or an fd. fd-based: the leaf name first; the prefix is tested on
 * the record's resolved path by se_attr_prefix_ok() once it is built.
 */
static __always_inline bool se_attr_path_wanted(struct se_attr_target *t, struct se_entry_strs *e, struct file *f, bool *need_prefix)
{
	*need_prefix = false;
	if (se_all_paths())
		return true;
	if (t->fd_based) {
		*need_prefix = !se_dentry_name_hit(SE_RD(struct file, f, f_path.dentry), SE_INTEREST_ANY);
		return true;
	}
	return e ? se_str_path_hit(e->s[0], false) : se_user_path_hit(t->upath);
}

static __always_inline bool se_attr_prefix_ok(struct se_rec *r)
{
	__u32 off = r->ev->str[0].off, len = r->ev->str[0].len;

	return off < SE_SCRATCH_SIZE && se_prefix_hit((__u8 *)r->ev + (off & SE_REC_MASK), len, SE_INTEREST_ANY);
}

/* Slot 0 (and its base in slot 2): the file the call acts on. */
static __always_inline void se_attr_put_target(struct se_rec *r, struct se_attr_target *t, struct se_entry_strs *e, struct file *f)
{
	if (t->fd_based) {
		se_put_file_path(r, SE_PATH_STR, f);
		r->ev->hdr.flags |= SE_F_PATH_FROM_FILE;
	} else {
		se_put_caller_path(r, SE_PATH_STR, e, 0, t->upath, t->dirfd);
	}
}

/* ---- extended attributes ---- */

struct se_xattr_op {
	struct se_attr_target t;
	__u32 sc;
	const void *uname;      /* attribute name, caller memory */
	const void *value;      /* set: the value (caller memory, or kernel memory when kvalue) */
	bool kvalue;
	struct file *file;      /* fd-based: the file when known (io_uring's request), else from the fd */
	__u64 size;
	__u64 flags;
	__u64 at_flags;
};

/*
 * Emit an xattr record. e: copies of the path (0) and name (1), kernel
 * memory (the sys_enter copies, or io_uring's request copies); NULL reads the
 * caller's memory now.
 */
static __always_inline int se_xattr_emit(long ret, struct se_xattr_op *op, struct se_entry_strs *e, bool tampered, __u32 xflags)
{
	struct file *f = op->file ? op->file : op->t.fd_based ? se_fd_file(op->t.dirfd) : NULL;
	bool need_prefix;
	struct se_rec r;

	if (!se_attr_path_wanted(&op->t, e, f, &need_prefix)) {
		se_count(SE_CNT_FILTERED);
		se_entry_done(NULL, e, false);
		return 0;
	}
	if (e && !op->t.fd_based) {
		if (se_check_tamper(e, 0, op->t.upath, SE_EV_XATTR, op->sc))
			tampered = true;
	}
	if (e && op->uname && se_check_tamper(e, 1, op->uname, SE_EV_XATTR, op->sc))
		tampered = true;
	if (!se_begin(&r, SE_EV_XATTR)) {
		se_entry_done(NULL, e, false);
		return 0;
	}
	r.ev->hdr.flags |= xflags;
	r.ev->ret = ret;
	r.ev->args[SE_PATH_ARG_DIRFD] = (__u64)(__s64)op->t.dirfd;
	r.ev->args[SE_XATTR_ARG_VALUE_SIZE] = op->size;
	r.ev->args[SE_XATTR_ARG_FLAGS] = op->flags;
	r.ev->args[SE_XATTR_ARG_AT_FLAGS] = op->at_flags;
	r.ev->args[SE_ARG_SYSCALL] = op->sc;
	se_attr_put_target(&r, &op->t, e, f);
	if (need_prefix && !se_attr_prefix_ok(&r)) {
		se_count(SE_CNT_FILTERED);
		se_entry_done(NULL, e, false);
		return 0;
	}
	se_put_caller_str(&r, SE_XATTR_STR_NAME, e, 1, op->uname);
	if (op->value && op->size)
		se_put_blob(&r, SE_XATTR_STR_VALUE, op->value, op->size, !op->kvalue);
	se_entry_done(&r, e, tampered);
	se_submit(&r);
	return 0;
}

static __always_inline int se_xattr_exit(long ret, struct se_xattr_op *op)
{
	struct se_entry_strs *e;

	if (!se_wanted(SE_EV_XATTR))
		return 0;
	e = se_exit_strs(op->sc);
	return se_xattr_emit(ret, op, e, false, 0);
}

#define XATTR_ENTER(name, sc, p0, p1)                                                \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int se_sys_enter_##name(struct se_sys_enter_ctx *ctx)                        \
	{                                                                            \
		se_enter_strs(SE_EV_XATTR, sc, (const void *)(p0), (const void *)(p1)); \
		return 0;                                                            \
	}

/* setxattr(path, name, value, size, flags), lsetxattr: the same; fsetxattr(fd, name, value, size, flags) */
XATTR_ENTER(setxattr, SE_SC_SETXATTR, ctx->args[0], ctx->args[1])
XATTR_ENTER(lsetxattr, SE_SC_LSETXATTR, ctx->args[0], ctx->args[1])
XATTR_ENTER(fsetxattr, SE_SC_FSETXATTR, NULL, ctx->args[1])
/* setxattrat(dfd, path, at_flags, name, struct xattr_args *uargs, usize) (6.13) */
XATTR_ENTER(setxattrat, SE_SC_SETXATTRAT, ctx->args[1], ctx->args[3])
/* removexattr(path, name), lremovexattr, fremovexattr(fd, name), removexattrat(dfd, path, at_flags, name) */
XATTR_ENTER(removexattr, SE_SC_REMOVEXATTR, ctx->args[0], ctx->args[1])
XATTR_ENTER(lremovexattr, SE_SC_LREMOVEXATTR, ctx->args[0], ctx->args[1])
XATTR_ENTER(fremovexattr, SE_SC_FREMOVEXATTR, NULL, ctx->args[1])
XATTR_ENTER(removexattrat, SE_SC_REMOVEXATTRAT, ctx->args[1], ctx->args[3])

static __always_inline int se_setxattr_path_exit(long ret, __u32 sc)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_xattr_op op = {.t = {.upath = (void *)a[0], .dirfd = SE_AT_FDCWD}, .sc = sc, .uname = (void *)a[1],
				 .value = (void *)a[2], .size = a[3], .flags = a[4]};
	return se_xattr_exit(ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_setxattr")
int se_sys_exit_setxattr(struct se_sys_exit_ctx *ctx)
{
	return se_setxattr_path_exit(ctx->ret, SE_SC_SETXATTR);
}

SEC("tracepoint/syscalls/sys_exit_lsetxattr")
int se_sys_exit_lsetxattr(struct se_sys_exit_ctx *ctx)
{
	return se_setxattr_path_exit(ctx->ret, SE_SC_LSETXATTR);
}

SEC("tracepoint/syscalls/sys_exit_fsetxattr")
int se_sys_exit_fsetxattr(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_xattr_op op = {.t = {.dirfd = (int)a[0], .fd_based = true}, .sc = SE_SC_FSETXATTR, .uname = (void *)a[1],
				 .value = (void *)a[2], .size = a[3], .flags = a[4]};
	return se_xattr_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_setxattrat")
int se_sys_exit_setxattrat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct {
		__u64 value;
		__u32 size;
		__u32 flags;
	} xa = {};
	se_sys_args(a);
	bpf_probe_read_user(&xa, sizeof(xa), (void *)a[4]);
	struct se_xattr_op op = {.t = {.upath = (void *)a[1], .dirfd = (int)a[0]}, .sc = SE_SC_SETXATTRAT, .uname = (void *)a[3],
				 .value = (void *)xa.value, .size = xa.size, .flags = xa.flags, .at_flags = a[2]};
	/* AT_EMPTY_PATH with "": the dfd is the file. */
	if (a[2] & SE_AT_EMPTY_PATH) {
		__u8 c = 0;
		bpf_probe_read_user(&c, 1, (void *)a[1]);
		if (!c)
			op.t.fd_based = true;
	}
	return se_xattr_exit(ctx->ret, &op);
}

static __always_inline int se_removexattr_path_exit(long ret, __u32 sc)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_xattr_op op = {.t = {.upath = (void *)a[0], .dirfd = SE_AT_FDCWD}, .sc = sc, .uname = (void *)a[1]};
	return se_xattr_exit(ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_removexattr")
int se_sys_exit_removexattr(struct se_sys_exit_ctx *ctx)
{
	return se_removexattr_path_exit(ctx->ret, SE_SC_REMOVEXATTR);
}

SEC("tracepoint/syscalls/sys_exit_lremovexattr")
int se_sys_exit_lremovexattr(struct se_sys_exit_ctx *ctx)
{
	return se_removexattr_path_exit(ctx->ret, SE_SC_LREMOVEXATTR);
}

SEC("tracepoint/syscalls/sys_exit_fremovexattr")
int se_sys_exit_fremovexattr(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_xattr_op op = {.t = {.dirfd = (int)a[0], .fd_based = true}, .sc = SE_SC_FREMOVEXATTR, .uname = (void *)a[1]};
	return se_xattr_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_removexattrat")
int se_sys_exit_removexattrat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_xattr_op op = {.t = {.upath = (void *)a[1], .dirfd = (int)a[0]}, .sc = SE_SC_REMOVEXATTRAT, .uname = (void *)a[3],
				 .at_flags = a[2]};
	if (a[2] & SE_AT_EMPTY_PATH) {
		__u8 c = 0;
		bpf_probe_read_user(&c, 1, (void *)a[1]);
		if (!c)
			op.t.fd_based = true;
	}
	return se_xattr_exit(ctx->ret, &op);
}

/* ---- times ---- */

enum se_times_kind {
	SE_TIMES_TIMESPEC = 0,  /* struct __kernel_timespec[2] (utimensat) */
	SE_TIMES_TIMEVAL = 1,   /* struct __kernel_old_timeval[2] (utimes, futimesat) */
	SE_TIMES_UTIMBUF = 2,   /* struct utimbuf { actime; modtime } (utime) */
};

static __always_inline int se_utimes_exit(long ret, __u32 sc, struct se_attr_target *t, const void *utimes, __u32 tkind,
					  __u64 at_flags)
{
	struct se_entry_strs *e;
	struct file *f;
	struct se_utimes ts = {};
	__s64 raw[4] = {};
	bool need_prefix, tampered = false;
	struct se_rec r;

	if (!se_wanted(SE_EV_UTIMES))
		return 0;
	e = se_exit_strs(sc);
	/* utimensat(fd, NULL, …) is futimens(); AT_EMPTY_PATH with "" too. */
	if (t->upath == NULL) {
		t->fd_based = true;
	} else if (at_flags & SE_AT_EMPTY_PATH) {
		__u8 c = 0;
		bpf_probe_read_user(&c, 1, t->upath);
		t->fd_based = c == 0;
	}
	f = t->fd_based ? se_fd_file(t->dirfd) : NULL;
	if (!se_attr_path_wanted(t, e, f, &need_prefix)) {
		se_count(SE_CNT_FILTERED);
		se_entry_done(NULL, e, false);
		return 0;
	}
	if (e && !t->fd_based && se_check_tamper(e, 0, t->upath, SE_EV_UTIMES, sc))
		tampered = true;
	if (!se_begin(&r, SE_EV_UTIMES)) {
		se_entry_done(NULL, e, false);
		return 0;
	}
	r.ev->ret = ret;
	r.ev->args[SE_PATH_ARG_DIRFD] = (__u64)(__s64)t->dirfd;
	r.ev->args[SE_UTIMES_ARG_AT_FLAGS] = at_flags;
	r.ev->args[SE_UTIMES_ARG_TIMES_NULL] = utimes == NULL;
	r.ev->args[SE_ARG_SYSCALL] = sc;
	se_attr_put_target(&r, t, e, f);
	if (need_prefix && !se_attr_prefix_ok(&r)) {
		se_count(SE_CNT_FILTERED);
		se_entry_done(NULL, e, false);
		return 0;
	}
	if (utimes) {
		if (tkind == SE_TIMES_UTIMBUF) {
			bpf_probe_read_user(raw, 16, utimes);
			ts.atime_sec = raw[0];
			ts.mtime_sec = raw[1];
		} else {
			bpf_probe_read_user(raw, sizeof(raw), utimes);
			ts.atime_sec = raw[0];
			ts.mtime_sec = raw[2];
			ts.atime_nsec = tkind == SE_TIMES_TIMEVAL ? raw[1] * 1000 : raw[1];
			ts.mtime_nsec = tkind == SE_TIMES_TIMEVAL ? raw[3] * 1000 : raw[3];
		}
		se_put_blob(&r, SE_UTIMES_STR_TIMES, &ts, sizeof(ts), false);
	}
	se_entry_done(&r, e, tampered);
	se_submit(&r);
	return 0;
}

#define UTIMES_ENTER(name, sc, p0)                                                   \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int se_sys_enter_##name(struct se_sys_enter_ctx *ctx)                        \
	{                                                                            \
		se_enter_strs(SE_EV_UTIMES, sc, (const void *)(p0), NULL);           \
		return 0;                                                            \
	}

/* utimensat(dfd, filename, struct __kernel_timespec *utimes, flags) */
UTIMES_ENTER(utimensat, SE_SC_UTIMENSAT, ctx->args[1])
/* futimesat(dfd, filename, struct __kernel_old_timeval *utimes) */
UTIMES_ENTER(futimesat, SE_SC_FUTIMESAT, ctx->args[1])
/* utimes(filename, struct __kernel_old_timeval *utimes) */
UTIMES_ENTER(utimes, SE_SC_UTIMES, ctx->args[0])
/* utime(filename, struct utimbuf *times) */
UTIMES_ENTER(utime, SE_SC_UTIME, ctx->args[0])

SEC("tracepoint/syscalls/sys_exit_utimensat")
int se_sys_exit_utimensat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_attr_target t = {.upath = (void *)a[1], .dirfd = (int)a[0]};
	return se_utimes_exit(ctx->ret, SE_SC_UTIMENSAT, &t, (void *)a[2], SE_TIMES_TIMESPEC, a[3]);
}

SEC("tracepoint/syscalls/sys_exit_futimesat")
int se_sys_exit_futimesat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_attr_target t = {.upath = (void *)a[1], .dirfd = (int)a[0]};
	return se_utimes_exit(ctx->ret, SE_SC_FUTIMESAT, &t, (void *)a[2], SE_TIMES_TIMEVAL, 0);
}

SEC("tracepoint/syscalls/sys_exit_utimes")
int se_sys_exit_utimes(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_attr_target t = {.upath = (void *)a[0], .dirfd = SE_AT_FDCWD};
	return se_utimes_exit(ctx->ret, SE_SC_UTIMES, &t, (void *)a[1], SE_TIMES_TIMEVAL, 0);
}

SEC("tracepoint/syscalls/sys_exit_utime")
int se_sys_exit_utime(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_attr_target t = {.upath = (void *)a[0], .dirfd = SE_AT_FDCWD};
	return se_utimes_exit(ctx->ret, SE_SC_UTIME, &t, (void *)a[1], SE_TIMES_UTIMBUF, 0);
}
