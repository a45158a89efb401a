// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process lifecycle: exec (success at the point of no return, failure at
 * sys_exit of execve/execveat), fork/clone (new processes; threads when
 * asked), exit (when the whole thread group is gone, with the exit status).
 */
#include "../lib/provenance.bpf.h"

static __always_inline void se_put_argv(struct se_rec *r, __u32 slot, struct task_struct *p)
{
	unsigned long start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long end = BPF_CORE_READ(p, mm, arg_end);
	__u32 len = end > start ? end - start : 0;
	__u32 pos = r->pos, flags = 0;

	if (len > SE_ARGV_MAX) {
		len = SE_ARGV_MAX;
		r->ev->hdr.flags |= SE_F_ARGV_TRUNCATED;
		flags |= SE_STR_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
	}
	if (pos >= SE_SCRATCH_SIZE) {
		se_set_str(r, slot, pos, 0, SE_STR_TRUNCATED);
		return;
	}
	if (bpf_probe_read_user((__u8 *)r->ev + (pos & SE_REC_MASK), len & (SE_ARGV_MAX * 2 - 1), (void *)start)) {
		se_set_str(r, slot, pos, 0, SE_STR_FAULT);
		se_count(SE_CNT_READ_FAULT);
		return;
	}
	se_set_str(r, slot, pos, len, flags);
	r->pos = pos + len;
}

/* Exec records carry struct se_exec_ext before their strings. */
static __always_inline void se_exec_ext_begin(struct se_rec *r)
{
	__builtin_memset((__u8 *)r->ev + sizeof(struct se_event), 0, sizeof(struct se_exec_ext));
	r->pos += sizeof(struct se_exec_ext);
}

/* Names of the environment variables captured at exec (user space fills it
 * from the config allow-list; SE_FL_ENV_VARS says it is not empty). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct se_env_key);
	__type(value, __u8);
} env_allow SEC(".maps") __weak;

/* The environment scan's state: in a map value for the same reason as the
 * path walk's (maps.bpf.h: a bpf_loop callback over changing stack state
 * does not converge), with the buffer each variable is read into. */
enum se_env_state_flags {
	SE_ENV_TRUNCATED = 1 << 0,  /* an allow-listed variable did not fit, or the scan stopped early */
	SE_ENV_MID = 1 << 1,        /* the next read continues a variable longer than SE_ENV_READ - 1 */
};
struct se_env_state {
	__u64 cur;      /* user address of the next byte to read */
	__u64 end;      /* mm->env_end */
	__u32 start;    /* record offset of the captured variables */
	__u32 used;
	__u32 count;    /* variables seen */
	__u32 flags;    /* enum se_env_state_flags */
	struct se_env_key key;
	__u8 buf[SE_ENV_READ];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_env_state);
} env_state SEC(".maps") __weak;

/* One variable (or one SE_ENV_READ step of a long one) per call. */
static long se_env_step(__u64 i, void *unused)
{
	__u32 zero = 0, at, len;
	struct se_env_state *st = bpf_map_lookup_elem(&env_state, &zero);
	struct se_rec_buf *rb = bpf_map_lookup_elem(&rec_scratch, &zero);
	bool mid, whole, named = false, stop = false;
	long n;

	if (!st || !rb || st->cur >= st->end)
		return 1;
	n = bpf_probe_read_user_str(st->buf, SE_ENV_READ, (void *)st->cur);
	if (n <= 0) {
		se_count(SE_CNT_READ_FAULT);
		st->flags |= SE_ENV_TRUNCATED;
		return 1;
	}
	mid = st->flags & SE_ENV_MID;
	/* A full buffer may end inside the variable: the next step goes on from its last byte. */
	whole = n < SE_ENV_READ;
	if (whole)
		st->flags &= ~SE_ENV_MID;
	else
		st->flags |= SE_ENV_MID;
	st->cur += whole ? n : n - 1;
	if (mid)
		return 0;
	st->count++;
	/* The name: bytes before '=', NUL-padded; longer names are never allow-listed. */
#pragma unroll
	for (int j = 0; j < SE_ENV_NAME_MAX; j++) {
		__u8 c = st->buf[j];

		if (!stop && c == '=')
			named = true;
		if (stop || c == '=' || c == 0) {
			stop = true;
			c = 0;
		}
		st->key.name[j] = c;
	}
	if (!named || !bpf_map_lookup_elem(&env_allow, &st->key))
		return 0;
	len = n;
	if (!whole || st->used + len > SE_ENV_MAX) {
		st->flags |= SE_ENV_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
		return 0;
	}
	at = st->start + st->used;
	if (at >= SE_SCRATCH_SIZE) {
		st->flags |= SE_ENV_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
		return 1;
	}
	/* Kept with its NUL: the variables are NUL-separated like argv. */
	bpf_probe_read_kernel(&rb->b[at & SE_REC_MASK], len & (SE_ENV_READ - 1), st->buf);
	st->used += len;
	return 0;
}

/* The allow-listed variables of the new image (mm->env_start..env_end,
 * written by the binary loader before sched_process_exec fires). */
static __always_inline void se_put_env(struct se_rec *r, struct task_struct *p)
{
	struct se_exec_ext *x = (struct se_exec_ext *)((__u8 *)r->ev + sizeof(struct se_event));
	struct se_filter_cfg *cfg = se_cfg();
	struct se_env_state *st;
	__u32 zero = 0, flags = 0;

	if (!cfg || !(cfg->flags & SE_FL_ENV_VARS))
		return;
	st = bpf_map_lookup_elem(&env_state, &zero);
	if (!st)
		return;
	if (r->pos >= SE_SCRATCH_SIZE) {
		x->env.off = r->pos;
		x->env.flags = SE_STR_PRESENT | SE_STR_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
		return;
	}
	st->cur = BPF_CORE_READ(p, mm, env_start);
	st->end = BPF_CORE_READ(p, mm, env_end);
	st->start = r->pos;
	st->used = 0;
	st->count = 0;
	st->flags = 0;
	bpf_loop(SE_ENV_SCAN_MAX, se_env_step, NULL, 0);
	if (st->cur < st->end && !(st->flags & SE_ENV_TRUNCATED)) {
		/* More than SE_ENV_SCAN_MAX steps: the rest of the environment was not looked at. */
		st->flags |= SE_ENV_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
	}
	if (st->flags & SE_ENV_TRUNCATED)
		flags |= SE_STR_TRUNCATED;
	x->env.off = st->start;
	x->env.len = st->used;
	x->env.flags = SE_STR_PRESENT | flags;
	x->env_count = st->count;
	r->pos = st->start + (st->used & (SE_ENV_MAX * 2 - 1));
}

/*
 * The file actually executed comes from bprm->file (kernel truth), the name
 * as given from bprm->filename (the kernel's copy, so the caller cannot
 * rewrite it), argv and the allow-listed environment variables from the new
 * image's mm.
 *
 * tp_btf/sched_process_exec: TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
 */
/* What fd is in the current task (exec's stdio: reverse shells). */
static __always_inline __u32 se_fd_kind(int fd)
{
	struct file *f = se_fd_file(fd);
	umode_t mode;

	if (!f)
		return SE_FD_NONE;
	mode = BPF_CORE_READ(f, f_inode, i_mode) & SE_S_IFMT;
	switch (mode) {
	case SE_S_IFREG:
		return SE_FD_FILE;
	case SE_S_IFDIR:
		return SE_FD_DIR;
	case SE_S_IFCHR:
		return SE_FD_CHAR;
	case SE_S_IFIFO:
		return SE_FD_FIFO;
	case SE_S_IFSOCK: {
		struct socket *sock = BPF_CORE_READ(f, private_data);
		__u16 family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
		if (family == 2 || family == 10)
			return SE_FD_SOCK_INET;
		if (family == 1)
			return SE_FD_SOCK_UNIX;
		return SE_FD_SOCK_OTHER;
	}
	default:
		return SE_FD_OTHER;
	}
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(se_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct se_rec r;
	struct file *f, *exe;
	struct path pwd = {};

	if (!se_wanted(SE_EV_EXEC))
		return 0;
	if (!se_begin(&r, SE_EV_EXEC))
		return 0;
	f = BPF_CORE_READ(bprm, file);
	se_exec_ext_begin(&r);
	r.ev->ret = 0;
	r.ev->args[SE_EXEC_ARG_ARGC] = BPF_CORE_READ(bprm, argc);
	r.ev->args[SE_EXEC_ARG_OLD_PID] = old_pid;
	r.ev->args[SE_EXEC_ARG_INODE] = BPF_CORE_READ(f, f_inode, i_ino);
	r.ev->args[SE_EXEC_ARG_DEV] = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	r.ev->args[SE_EXEC_ARG_STDIO] = se_fd_kind(0) | (se_fd_kind(1) << 8) | (se_fd_kind(2) << 16);
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_EXECVE;
	se_put_str(&r, SE_EXEC_STR_FILENAME, BPF_CORE_READ(bprm, filename), SE_PATH_MAX, false, 0);
	se_put_argv(&r, SE_EXEC_STR_ARGV, p);
	bpf_core_read(&pwd, sizeof(pwd), &p->fs->pwd);
	se_put_path(&r, SE_EXEC_STR_CWD, pwd.dentry, pwd.mnt);
	se_put_file_path(&r, SE_EXEC_STR_EXE, f);
	r.ev->hdr.flags |= SE_F_PATH_FROM_FILE;
	/*
	 * Who wrote what runs. When a binfmt handler substituted an interpreter
	 * (a #! script: bprm->interp no longer is bprm->filename), exec_binprm()
	 * has already dropped the script's file unless binfmt_misc's O flag kept
	 * it in bprm->executable: the interpreter's writer must not be reported
	 * as the script's (a dropped script would read as "written by dpkg").
	 */
	exe = BPF_CORE_READ(bprm, executable);
	if (exe)
		se_prov_exec(&r, exe);
	else
		se_prov_exec(&r, BPF_CORE_READ(bprm, interp) == BPF_CORE_READ(bprm, filename) ? f : NULL);
	/* The new image has not run an instruction yet: a kill here stops it before it does. */
	se_kill_check(&r, SE_KILL_EXEC, 3);
	se_put_env(&r, p);
	se_submit(&r);
	return 0;
}

/* argv of a failed exec: the caller's pointer array, walked with bpf_loop;
 * state in a map value so the verifier converges (see se_walk). */
struct se_argv_state {
	__u64 argv;
	__u32 start;    /* record offset of the argv string */
	__u32 used;
	__u32 truncated;
	__u32 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_argv_state);
} argv_state SEC(".maps") __weak;

static long se_argv_step(__u64 i, void *unused)
{
	__u32 zero = 0, avail, at;
	struct se_argv_state *st = bpf_map_lookup_elem(&argv_state, &zero);
	struct se_rec_buf *buf = bpf_map_lookup_elem(&rec_scratch, &zero);
	const char *arg = NULL;
	long n;

	if (!st || !buf)
		return 1;
	if (bpf_probe_read_user(&arg, sizeof(arg), (void *)(st->argv + i * sizeof(void *))) || !arg)
		return 1;
	if (st->used >= SE_ARGV_MAX) {
		st->truncated = 1;
		return 1;
	}
	avail = SE_ARGV_MAX - st->used;
	at = st->start + st->used;
	if (at >= SE_SCRATCH_SIZE) {
		st->truncated = 1;
		return 1;
	}
	n = bpf_probe_read_user_str(&buf->b[at & SE_REC_MASK], avail & (SE_ARGV_MAX * 2 - 1), arg);
	if (n <= 0)
		return 1;
	if ((__u32)n >= avail)
		st->truncated = 1;
	st->used += n; /* keeps the NUL: argv is NUL-separated */
	return st->truncated ? 1 : 0;
}

static __always_inline int se_exec_fail(long ret, __u32 sc, int dirfd, const char *filename, __u64 argv)
{
	__u32 zero = 0;
	struct se_argv_state *st;
	struct task_struct *task;
	struct path pwd = {};
	struct se_rec r;

	if (ret >= 0 || !se_wanted(SE_EV_EXEC) || !se_begin(&r, SE_EV_EXEC))
		return 0;
	se_exec_ext_begin(&r);
	r.ev->ret = ret;
	r.ev->args[SE_EXEC_ARG_DIRFD] = (__u64)(__s64)dirfd;
	r.ev->args[SE_ARG_SYSCALL] = sc;
	se_put_str(&r, SE_EXEC_STR_FILENAME, filename, SE_PATH_MAX, true, 0);
	st = bpf_map_lookup_elem(&argv_state, &zero);
	if (st && r.pos < SE_SCRATCH_SIZE) {
		st->argv = argv;
		st->start = r.pos;
		st->used = 0;
		st->truncated = 0;
		bpf_loop(256, se_argv_step, NULL, 0);
		se_set_str(&r, SE_EXEC_STR_ARGV, st->start, st->used, st->truncated ? SE_STR_TRUNCATED : 0);
		r.pos = st->start + (st->used & (SE_ARGV_MAX * 2 - 1));
		if (st->truncated)
			r.ev->hdr.flags |= SE_F_ARGV_TRUNCATED;
	}
	task = (struct task_struct *)bpf_get_current_task_btf();
	if (dirfd == SE_AT_FDCWD) {
		bpf_core_read(&pwd, sizeof(pwd), &task->fs->pwd);
		se_put_path(&r, SE_EXEC_STR_CWD, pwd.dentry, pwd.mnt);
	} else {
		se_put_file_path(&r, SE_EXEC_STR_CWD, se_fd_file(dirfd));
	}
	se_submit(&r);
	return 0;
}

/* execve(const char *filename, const char *const *argv, const char *const *envp) */
SEC("tracepoint/syscalls/sys_exit_execve")
int se_sys_exit_execve(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];

	if (ctx->ret >= 0)
		return 0;
	se_sys_args(a);
	return se_exec_fail(ctx->ret, SE_SC_EXECVE, SE_AT_FDCWD, (const char *)a[0], a[1]);
}

/* execveat(int fd, const char *filename, argv, envp, int flags) */
SEC("tracepoint/syscalls/sys_exit_execveat")
int se_sys_exit_execveat(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];

	if (ctx->ret >= 0)
		return 0;
	se_sys_args(a);
	return se_exec_fail(ctx->ret, SE_SC_EXECVEAT, (int)a[0], (const char *)a[1], a[2]);
}

/*
 * New processes (and threads when SE_FL_THREADS). The acting task is the
 * parent; the child's pid, tid and start time travel in args.
 *
 * tp_btf/sched_process_fork: TP_PROTO(struct task_struct *parent, struct task_struct *child)
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(se_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct se_filter_cfg *cfg = se_cfg();
	struct se_rec r;
	__u32 pid = BPF_CORE_READ(child, tgid), tid = BPF_CORE_READ(child, pid);
	bool thread = pid != tid;

	if (!thread)
		se_prov_fork(parent, child);
	if (thread && !(cfg && (cfg->flags & SE_FL_THREADS)))
		return 0;
	if (!se_wanted(SE_EV_FORK) || !se_begin(&r, SE_EV_FORK))
		return 0;
	r.ev->args[SE_FORK_ARG_CHILD_PID] = pid;
	r.ev->args[SE_FORK_ARG_CHILD_TID] = tid;
	r.ev->args[SE_FORK_ARG_CHILD_START_NS] = BPF_CORE_READ(child, start_boottime);
	r.ev->args[SE_FORK_ARG_THREAD] = thread;
	se_submit(&r);
	return 0;
}

/*
 * Process exit, when its last thread exits (signal->live reached zero before
 * this tracepoint fires). Status as wait(2) encodes it.
 *
 * tp_btf/sched_process_exit: TP_PROTO(struct task_struct *p) (6.14+ adds bool group_dead;
 * signal->live works on both)
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(se_sched_process_exit, struct task_struct *p)
{
	struct se_rec r;
	int live = BPF_CORE_READ(p, signal, live.counter);
	__u32 status;

	if (live != 0)
		return 0;
	if (!se_wanted(SE_EV_EXIT) || !se_begin(&r, SE_EV_EXIT))
		return 0;
	status = BPF_CORE_READ(p, exit_code);
	r.ev->args[SE_EXIT_ARG_STATUS] = status;
	r.ev->args[SE_EXIT_ARG_SIGNAL] = status & 0x7f;
	r.ev->args[SE_EXIT_ARG_GROUP_DEAD] = 1;
	se_submit(&r);
	return 0;
}

