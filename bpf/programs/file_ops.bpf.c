// SPDX-License-Identifier: GPL-2.0-only
/*
 * Path-only file operations: unlink, rename, chmod, chown, link, symlink,
 * truncate, mkdir (all variants). No struct file names the object, so the
 * caller's strings are copied at sys_enter, compared with a second copy at
 * sys_exit (a difference is argument tampering: its own SE_EV_TAMPER record
 * plus SE_F_TAMPERED on the event), and relative strings travel with the
 * kernel-resolved path of their dirfd or cwd; user space joins and
 * normalizes. fd-based variants (fchmod, fchown, ftruncate) resolve the
 * file from the fd at exit and need no entry state.
 *
 * String slots: path i in slot i, the base directory of a relative path i in
 * slot 2 + i. symlink's target (slot 0) is kept verbatim, never resolved.
 *
 * sys_enter_*: struct trace_event_raw_sys_enter { ...; long id; unsigned long args[6]; }
 * sys_exit_*:  struct trace_event_raw_sys_exit  { ...; long id; long ret; }
 */
#include "../lib/filter.bpf.h"

struct se_path_op {
	__u32 type;
	__u32 sc;
	__u32 npaths;
	bool resolve0;          /* path 0 is a path (false: symlink target, verbatim) */
	const void *u[2];
	int dirfd[2];
	__u64 args[4];
};

static __always_inline int se_path_emit(long ret, struct se_path_op *op, struct se_entry_strs *e, bool tampered, __u32 xflags);

static __always_inline int se_path_exit(long ret, struct se_path_op *op)
{
	struct se_entry_strs *e;
	bool pass, tampered = false;

	if (!se_wanted(op->type))
		return 0;
	e = se_exit_strs(op->sc);
	pass = se_all_paths();
	if (!pass) {
		/* The object named by the operation: path 0, and path 1 for two-path ops. */
		if (op->resolve0)
			pass = e ? se_str_path_hit(e->s[0], false) : se_user_path_hit(op->u[0]);
		if (!pass && op->npaths > 1)
			pass = e ? se_str_path_hit(e->s[1], false) : se_user_path_hit(op->u[1]);
	}
	if (!pass) {
		se_count(SE_CNT_FILTERED);
		se_entry_done(NULL, e, false);
		return 0;
	}
	if (e) {
		if (se_check_tamper(e, 0, op->u[0], op->type, op->sc))
			tampered = true;
		if (op->npaths > 1 && se_check_tamper(e, 1, op->u[1], op->type, op->sc))
			tampered = true;
	}
	return se_path_emit(ret, op, e, tampered, 0);
}

/* Path filter on copies of the paths (kernel memory). */
static __always_inline bool se_path_copies_wanted(struct se_path_op *op, struct se_entry_strs *e)
{
	bool pass;

	if (!se_wanted(op->type))
		return false;
	pass = se_all_paths();
	if (!pass && op->resolve0)
		pass = se_str_path_hit(e->s[0], false);
	if (!pass && op->npaths > 1)
		pass = se_str_path_hit(e->s[1], false);
	if (!pass)
		se_count(SE_CNT_FILTERED);
	return pass;
}

/* Emit a path operation's record: paths from the entry copies e (or the
 * caller's memory when e is NULL), extra record flags (io_uring). */
static __always_inline int se_path_emit(long ret, struct se_path_op *op, struct se_entry_strs *e, bool tampered, __u32 xflags)
{
	struct se_rec r;

	if (!se_begin(&r, op->type)) {
		se_entry_done(NULL, e, false);
		return 0;
	}
	r.ev->hdr.flags |= xflags;
	r.ev->ret = ret;
	/* args 0..3 as the caller laid them out: the family's slots (enum se_arg_slot) */
	r.ev->args[0] = op->args[0];
	r.ev->args[1] = op->args[1];
	r.ev->args[2] = op->args[2];
	r.ev->args[3] = op->args[3];
	r.ev->args[SE_ARG_SYSCALL] = op->sc;
	if (op->resolve0)
		se_put_caller_path(&r, SE_PATH_STR, e, 0, op->u[0], op->dirfd[0]);
	else
		se_put_caller_str(&r, SE_PATH_STR, e, 0, op->u[0]);
	if (op->npaths > 1)
		se_put_caller_path(&r, SE_PATH_STR_SECOND, e, 1, op->u[1], op->dirfd[1]);
	se_entry_done(&r, e, tampered);
	se_submit(&r);
	return 0;
}

/* fd-based variants: the file comes from the fd, kernel truth. */
static __always_inline int se_fd_exit(long ret, __u32 type, __u32 sc, int fd, __u64 a1, __u64 a2, __u64 a3)
{
	struct file *f;
	struct se_rec r;
	bool need_prefix;

	if (!se_wanted(type))
		return 0;
	f = se_fd_file(fd);
	need_prefix = !se_all_paths() && !se_dentry_name_hit(BPF_CORE_READ(f, f_path.dentry), SE_INTEREST_ANY);
	if (!se_begin(&r, type))
		return 0;
	r.ev->ret = ret;
	r.ev->args[SE_PATH_ARG_DIRFD] = (__u64)(__s64)fd;
	r.ev->args[1] = a1;
	r.ev->args[2] = a2;
	r.ev->args[3] = a3;
	r.ev->args[SE_ARG_SYSCALL] = sc;
	se_put_file_path(&r, SE_PATH_STR, f);
	r.ev->hdr.flags |= SE_F_PATH_FROM_FILE;
	if (need_prefix) {
		__u32 off = r.ev->str[0].off, len = r.ev->str[0].len;
		if (off >= SE_SCRATCH_SIZE || !se_prefix_hit((__u8 *)r.ev + (off & SE_REC_MASK), len, SE_INTEREST_ANY)) {
			se_count(SE_CNT_FILTERED);
			return 0;
		}
	}
	se_submit(&r);
	return 0;
}

#define ENTER1(name, type, sc, p0)                                                   \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int se_sys_enter_##name(struct se_sys_enter_ctx *ctx)                        \
	{                                                                            \
		se_enter_strs(type, sc, (const void *)(p0), NULL);                   \
		return 0;                                                            \
	}

#define ENTER2(name, type, sc, p0, p1)                                               \
	SEC("tracepoint/syscalls/sys_enter_" #name)                                  \
	int se_sys_enter_##name(struct se_sys_enter_ctx *ctx)                        \
	{                                                                            \
		se_enter_strs(type, sc, (const void *)(p0), (const void *)(p1));     \
		return 0;                                                            \
	}

/* ---- unlink(path), unlinkat(dfd, path, flags), rmdir(path) ---- */
ENTER1(unlink, SE_EV_UNLINK, SE_SC_UNLINK, ctx->args[0])
ENTER1(unlinkat, SE_EV_UNLINK, SE_SC_UNLINKAT, ctx->args[1])
ENTER1(rmdir, SE_EV_UNLINK, SE_SC_RMDIR, ctx->args[0])

SEC("tracepoint/syscalls/sys_exit_unlink")
int se_sys_exit_unlink(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_UNLINK, .sc = SE_SC_UNLINK, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_unlinkat")
int se_sys_exit_unlinkat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_UNLINK, .sc = SE_SC_UNLINKAT, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[1]}, .dirfd = {(int)a[0]}, .args = {(__u64)(__s64)(int)a[0], a[2]}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_rmdir")
int se_sys_exit_rmdir(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_UNLINK, .sc = SE_SC_RMDIR, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, SE_AT_REMOVEDIR}};
	return se_path_exit(ctx->ret, &op);
}

/* ---- rename(old, new), renameat(od, old, nd, new), renameat2(od, old, nd, new, flags) ---- */
ENTER2(rename, SE_EV_RENAME, SE_SC_RENAME, ctx->args[0], ctx->args[1])
ENTER2(renameat, SE_EV_RENAME, SE_SC_RENAMEAT, ctx->args[1], ctx->args[3])
ENTER2(renameat2, SE_EV_RENAME, SE_SC_RENAMEAT2, ctx->args[1], ctx->args[3])

SEC("tracepoint/syscalls/sys_exit_rename")
int se_sys_exit_rename(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_RENAME, .sc = SE_SC_RENAME, .npaths = 2, .resolve0 = true,
				.u = {(void *)a[0], (void *)a[1]}, .dirfd = {SE_AT_FDCWD, SE_AT_FDCWD},
				.args = {(__u64)(__s64)SE_AT_FDCWD, (__u64)(__s64)SE_AT_FDCWD, 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_renameat")
int se_sys_exit_renameat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_RENAME, .sc = SE_SC_RENAMEAT, .npaths = 2, .resolve0 = true,
				.u = {(void *)a[1], (void *)a[3]}, .dirfd = {(int)a[0], (int)a[2]},
				.args = {(__u64)(__s64)(int)a[0], (__u64)(__s64)(int)a[2], 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_renameat2")
int se_sys_exit_renameat2(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_RENAME, .sc = SE_SC_RENAMEAT2, .npaths = 2, .resolve0 = true,
				.u = {(void *)a[1], (void *)a[3]}, .dirfd = {(int)a[0], (int)a[2]},
				.args = {(__u64)(__s64)(int)a[0], (__u64)(__s64)(int)a[2], a[4]}};
	return se_path_exit(ctx->ret, &op);
}

/* ---- chmod(path, mode), fchmodat(dfd, path, mode), fchmodat2(dfd, path, mode, flags), fchmod(fd, mode) ---- */
ENTER1(chmod, SE_EV_CHMOD, SE_SC_CHMOD, ctx->args[0])
ENTER1(fchmodat, SE_EV_CHMOD, SE_SC_FCHMODAT, ctx->args[1])
ENTER1(fchmodat2, SE_EV_CHMOD, SE_SC_FCHMODAT2, ctx->args[1])

SEC("tracepoint/syscalls/sys_exit_chmod")
int se_sys_exit_chmod(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_CHMOD, .sc = SE_SC_CHMOD, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, a[1], 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_fchmodat")
int se_sys_exit_fchmodat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_CHMOD, .sc = SE_SC_FCHMODAT, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[1]}, .dirfd = {(int)a[0]}, .args = {(__u64)(__s64)(int)a[0], a[2], 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_fchmodat2")
int se_sys_exit_fchmodat2(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_CHMOD, .sc = SE_SC_FCHMODAT2, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[1]}, .dirfd = {(int)a[0]}, .args = {(__u64)(__s64)(int)a[0], a[2], a[3]}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_fchmod")
int se_sys_exit_fchmod(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	return se_fd_exit(ctx->ret, SE_EV_CHMOD, SE_SC_FCHMOD, (int)a[0], a[1], 0, 0);
}

/* ---- chown(path, u, g), lchown(path, u, g), fchownat(dfd, path, u, g, flags), fchown(fd, u, g) ---- */
ENTER1(chown, SE_EV_CHOWN, SE_SC_CHOWN, ctx->args[0])
ENTER1(lchown, SE_EV_CHOWN, SE_SC_LCHOWN, ctx->args[0])
ENTER1(fchownat, SE_EV_CHOWN, SE_SC_FCHOWNAT, ctx->args[1])

SEC("tracepoint/syscalls/sys_exit_chown")
int se_sys_exit_chown(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_CHOWN, .sc = SE_SC_CHOWN, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, a[1], a[2], 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_lchown")
int se_sys_exit_lchown(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_CHOWN, .sc = SE_SC_LCHOWN, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, a[1], a[2], 0x100}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_fchownat")
int se_sys_exit_fchownat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_CHOWN, .sc = SE_SC_FCHOWNAT, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[1]}, .dirfd = {(int)a[0]}, .args = {(__u64)(__s64)(int)a[0], a[2], a[3], a[4]}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_fchown")
int se_sys_exit_fchown(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	return se_fd_exit(ctx->ret, SE_EV_CHOWN, SE_SC_FCHOWN, (int)a[0], a[1], a[2], 0);
}

/* ---- link(old, new), linkat(od, old, nd, new, flags) ---- */
ENTER2(link, SE_EV_LINK, SE_SC_LINK, ctx->args[0], ctx->args[1])
ENTER2(linkat, SE_EV_LINK, SE_SC_LINKAT, ctx->args[1], ctx->args[3])

SEC("tracepoint/syscalls/sys_exit_link")
int se_sys_exit_link(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_LINK, .sc = SE_SC_LINK, .npaths = 2, .resolve0 = true,
				.u = {(void *)a[0], (void *)a[1]}, .dirfd = {SE_AT_FDCWD, SE_AT_FDCWD},
				.args = {(__u64)(__s64)SE_AT_FDCWD, (__u64)(__s64)SE_AT_FDCWD, 0}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_linkat")
int se_sys_exit_linkat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_LINK, .sc = SE_SC_LINKAT, .npaths = 2, .resolve0 = true,
				.u = {(void *)a[1], (void *)a[3]}, .dirfd = {(int)a[0], (int)a[2]},
				.args = {(__u64)(__s64)(int)a[0], (__u64)(__s64)(int)a[2], a[4]}};
	return se_path_exit(ctx->ret, &op);
}

/* ---- symlink(target, linkpath), symlinkat(target, nd, linkpath) ---- */
ENTER2(symlink, SE_EV_SYMLINK, SE_SC_SYMLINK, ctx->args[0], ctx->args[1])
ENTER2(symlinkat, SE_EV_SYMLINK, SE_SC_SYMLINKAT, ctx->args[0], ctx->args[2])

SEC("tracepoint/syscalls/sys_exit_symlink")
int se_sys_exit_symlink(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_SYMLINK, .sc = SE_SC_SYMLINK, .npaths = 2, .resolve0 = false,
				.u = {(void *)a[0], (void *)a[1]}, .dirfd = {SE_AT_FDCWD, SE_AT_FDCWD},
				.args = {(__u64)(__s64)SE_AT_FDCWD}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_symlinkat")
int se_sys_exit_symlinkat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_SYMLINK, .sc = SE_SC_SYMLINKAT, .npaths = 2, .resolve0 = false,
				.u = {(void *)a[0], (void *)a[2]}, .dirfd = {SE_AT_FDCWD, (int)a[1]},
				.args = {(__u64)(__s64)(int)a[1]}};
	return se_path_exit(ctx->ret, &op);
}

/* ---- truncate(path, length), ftruncate(fd, length) ---- */
ENTER1(truncate, SE_EV_TRUNCATE, SE_SC_TRUNCATE, ctx->args[0])

SEC("tracepoint/syscalls/sys_exit_truncate")
int se_sys_exit_truncate(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_TRUNCATE, .sc = SE_SC_TRUNCATE, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, a[1]}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_ftruncate")
int se_sys_exit_ftruncate(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	return se_fd_exit(ctx->ret, SE_EV_TRUNCATE, SE_SC_FTRUNCATE, (int)a[0], a[1], 0, 0);
}

/* ---- mkdir(path, mode), mkdirat(dfd, path, mode) ---- */
ENTER1(mkdir, SE_EV_MKDIR, SE_SC_MKDIR, ctx->args[0])
ENTER1(mkdirat, SE_EV_MKDIR, SE_SC_MKDIRAT, ctx->args[1])

SEC("tracepoint/syscalls/sys_exit_mkdir")
int se_sys_exit_mkdir(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_MKDIR, .sc = SE_SC_MKDIR, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[0]}, .dirfd = {SE_AT_FDCWD}, .args = {(__u64)(__s64)SE_AT_FDCWD, a[1]}};
	return se_path_exit(ctx->ret, &op);
}

SEC("tracepoint/syscalls/sys_exit_mkdirat")
int se_sys_exit_mkdirat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	se_sys_args(a);
	struct se_path_op op = {.type = SE_EV_MKDIR, .sc = SE_SC_MKDIRAT, .npaths = 1, .resolve0 = true,
				.u = {(void *)a[1]}, .dirfd = {(int)a[0]}, .args = {(__u64)(__s64)(int)a[0], a[2]}};
	return se_path_exit(ctx->ret, &op);
}

