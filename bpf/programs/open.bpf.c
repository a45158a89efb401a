// SPDX-License-Identifier: GPL-2.0-only
/*
 * open, openat, openat2, creat — at sys_exit only. The arguments come from the
 * task's pt_regs, the opened file from the returned fd (fd → struct file →
 * path walk): relative paths, dirfds, "..", symlinks, bind mounts and a
 * caller that rewrites its buffer mid-call all report the file actually
 * opened. Failed opens carry the caller's string and the directory it is
 * relative to.
 *
 * Filters, cheapest first: kind wanted → read-only opens only when reads are
 * wanted or the file name is of interest (dentry name, no path walk) →
 * process not ignored → for writes, name or path prefix of interest. Failed
 * read-only opens obey the same names and prefixes (wanted for failures:
 * enum se_interest), tested on the caller's string resolved against the
 * dirfd or cwd (se_failed_open_hit).
 *
 * tracepoint/syscalls/sys_exit_*: struct trace_event_raw_sys_exit { ...; long id; long ret; }
 */
#include "../lib/provenance.bpf.h"

#define SE_O_ACCMODE 03
#define SE_O_CREAT 0100
#define SE_O_TRUNC 01000
/* O_TMPFILE is __O_TMPFILE | O_DIRECTORY, and O_DIRECTORY is per architecture
 * (arch/arm64/include/uapi/asm/fcntl.h moves it and three others). */
#if defined(__TARGET_ARCH_arm64)
#define SE_O_TMPFILE (020000000 | 040000)
#else
#define SE_O_TMPFILE (020000000 | 0200000)
#endif

/*
 * An open's outcome: ret (fd or -errno), the fd to resolve (-1: none, an
 * io_uring open into a fixed-file slot), the caller's path (user memory, or
 * the kernel's copy when kstr: io_uring), extra record flags (io_uring).
 * file: the file itself when known without an fd (an io_uring write: ret is
 * then the write's result). A successful open with write intent is also
 * noted as the file's provenance (lib/provenance.bpf.h).
 */
static __always_inline int se_open_emit_file(long ret, int fd, __u32 syscall, int dirfd, const char *upath, __u64 flags,
					     __u64 mode, bool kstr, __u32 xflags, struct file *file)
{
	struct se_filter_cfg *cfg = se_cfg();
	struct file *f = NULL;
	struct dentry *d = NULL;
	bool ro, pass, need_prefix = false;
	__u8 want = SE_INTEREST_ANY;
	struct se_rec r;

	if (!cfg || !se_kind_wanted(SE_EV_OPEN))
		return 0;
	ro = (flags & SE_O_ACCMODE) == 0 && !(flags & (SE_O_CREAT | SE_O_TRUNC)) &&
	     (flags & SE_O_TMPFILE) != SE_O_TMPFILE;
	if (file)
		f = file;
	else if (ret >= 0 && fd >= 0)
		f = se_fd_file(fd);
	d = f ? SE_RD(struct file, f, f_path.dentry) : NULL;
	if (!ro && f && ret >= 0)
		se_prov_note_write(f, flags, xflags);
	if (ro) {
		pass = cfg->flags & (ret >= 0 ? SE_FL_OPEN_READS : SE_FL_FAILED_READS);
		want = ret >= 0 ? SE_INTEREST_OK : SE_INTEREST_FAILED;
	} else {
		pass = cfg->flags & SE_FL_ALL_PATHS;
	}
	if (!pass) {
		if (d) {
			pass = se_dentry_name_hit(d, want);
			if (!pass && (!ro || (cfg->flags & SE_FL_READ_PREFIXES)))
				need_prefix = true;
		} else {
			pass = se_failed_open_hit(upath, dirfd, want, kstr);
		}
	}
	if (!pass && !need_prefix) {
		se_count(SE_CNT_FILTERED);
		return 0;
	}
	if (!se_pid_wanted()) {
		se_count(SE_CNT_FILTERED);
		return 0;
	}
	if (!se_begin(&r, SE_EV_OPEN))
		return 0;
	r.ev->hdr.flags |= xflags;
	r.ev->ret = ret;
	r.ev->args[SE_OPEN_ARG_DIRFD] = (__u64)(__s64)dirfd;
	r.ev->args[SE_OPEN_ARG_FLAGS] = flags;
	r.ev->args[SE_OPEN_ARG_MODE] = mode;
	r.ev->args[SE_ARG_SYSCALL] = syscall;
	if (f) {
		r.ev->args[SE_OPEN_ARG_INODE] = SE_RD(struct inode, SE_RD(struct file, f, f_inode), i_ino);
		r.ev->args[SE_OPEN_ARG_DEV] = SE_RD(struct super_block, SE_RD(struct inode, SE_RD(struct file, f, f_inode), i_sb), s_dev);
		se_put_file_path(&r, SE_OPEN_STR_RESOLVED, f);
		r.ev->hdr.flags |= SE_F_PATH_FROM_FILE;
		if (need_prefix) {
			struct se_str *s = &r.ev->str[0];
			__u32 off = s->off, len = s->len;
			if (off >= SE_SCRATCH_SIZE || !se_prefix_hit((__u8 *)r.ev + (off & SE_REC_MASK), len, want)) {
				se_count(SE_CNT_FILTERED);
				return 0;
			}
		}
		if (upath)
			se_put_str(&r, SE_OPEN_STR_CALLER, upath, SE_PATH_MAX, !kstr, 0);
		/* The file is open but the caller never runs another instruction. */
		se_kill_check(&r, ro ? SE_KILL_OPEN : SE_KILL_OPEN_WRITE, 0);
		if (!ro && !(r.ev->hdr.flags & SE_F_KILLED))
			se_kill_check(&r, SE_KILL_OPEN, 0);
	} else {
		__u8 first = 0;
		se_put_str(&r, SE_OPEN_STR_CALLER, upath, SE_PATH_MAX, !kstr, 0);
		if (kstr)
			bpf_probe_read_kernel(&first, 1, upath);
		else
			bpf_probe_read_user(&first, 1, upath);
		if (first != '/')
			se_put_base(&r, SE_OPEN_STR_BASE, dirfd);
	}
	se_submit(&r);
	return 0;
}

static __always_inline int se_open_emit(long ret, int fd, __u32 syscall, int dirfd, const char *upath, __u64 flags,
					__u64 mode, bool kstr, __u32 xflags)
{
	return se_open_emit_file(ret, fd, syscall, dirfd, upath, flags, mode, kstr, xflags, NULL);
}

static __always_inline int se_open_exit(long ret, __u32 syscall, int dirfd, const char *upath, __u64 flags, __u64 mode)
{
	return se_open_emit(ret, ret, syscall, dirfd, upath, flags, mode, false, 0);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int se_sys_exit_openat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];

	se_sys_args(a);
	return se_open_exit(ctx->ret, SE_SC_OPENAT, (int)a[0], (const char *)a[1], a[2], a[3]);
}

SEC("tracepoint/syscalls/sys_exit_open")
int se_sys_exit_open(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];

	se_sys_args(a);
	return se_open_exit(ctx->ret, SE_SC_OPEN, SE_AT_FDCWD, (const char *)a[0], a[1], a[2]);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int se_sys_exit_creat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];

	se_sys_args(a);
	return se_open_exit(ctx->ret, SE_SC_CREAT, SE_AT_FDCWD, (const char *)a[0], 01 | SE_O_CREAT | SE_O_TRUNC, a[1]);
}

/* openat2(int dfd, const char *filename, struct open_how *how, size_t usize) */
SEC("tracepoint/syscalls/sys_exit_openat2")
int se_sys_exit_openat2(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct open_how how = {};

	se_sys_args(a);
	bpf_probe_read_user(&how, sizeof(how), (void *)a[2]);
	return se_open_exit(ctx->ret, SE_SC_OPENAT2, (int)a[0], (const char *)a[1], how.flags, how.mode);
}

