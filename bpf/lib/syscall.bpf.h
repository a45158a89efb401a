/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Syscall plumbing shared by the per-family programs:
 *  - the original arguments at sys_exit, read from the task's user pt_regs
 *    (bpf_task_pt_regs, 5.15+): syscalls whose facts are all available at
 *    exit need no sys_enter program and no entry map at all;
 *  - caller strings copied at sys_enter (path-only calls) and compared with a
 *    second copy at sys_exit: a difference is argument tampering, reported
 *    as its own record (SE_EV_TAMPER) and flagged on the event;
 *  - the base directory (dirfd or cwd) of relative caller paths, resolved
 *    from kernel structures.
 */
#ifndef SE_SYSCALL_BPF_H
#define SE_SYSCALL_BPF_H

#include "emit.bpf.h"

/* Tracepoint contexts (include/trace/events/syscalls.h). */
struct se_sys_enter_ctx {
	__u64 _common;
	long id;
	unsigned long args[6];
};

struct se_sys_exit_ctx {
	__u64 _common;
	long id;
	long ret;
};

/* Caller strings copied at sys_enter, per thread. */
struct se_entry_strs {
	__u64 ts_ns;
	__u32 tag;          /* syscall tag set at enter, cleared at exit: stale entries are ignored */
	__u16 len[2];
	__u16 flags[2];
	__u16 _pad[2];
	__u8 s[2][SE_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct se_entry_strs);
} entry_strs SEC(".maps") __weak;

/* Zeroed value used to create entry_strs entries (too big for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_entry_strs);
} entry_zero SEC(".maps") __weak;

/* Word-compare state (map value, not stack: see se_walk). */
struct se_cmp {
	__u64 a;
	__u64 b;
	__u32 words;
	__u32 differ;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_cmp);
} cmp_state SEC(".maps") __weak;

/* The syscall number in the task's pt_regs (tp_btf/sys_exit: a BTF pointer,
 * plain CO-RE loads): x86-64 keeps it in orig_ax, arm64 in syscallno. The
 * numbers themselves differ per architecture (arm64 uses asm-generic's table,
 * without open, creat, unlink, ...); user space fills raw_syscalls with the
 * running architecture's numbers. */
#if defined(__TARGET_ARCH_arm64)
#define SE_SYSCALL_NR(regs) ((regs)->syscallno)
#elif defined(__TARGET_ARCH_x86)
#define SE_SYSCALL_NR(regs) ((regs)->orig_ax)
#else
#error "bpf/lib/syscall.bpf.h: only x86 and arm64 are built (SE_SYSCALL_NR)"
#endif

/* The first five syscall arguments as the caller passed them, readable at
 * sys_exit (no hooked syscall uses a sixth; libbpf 1.1 has no
 * PT_REGS_PARM6_CORE_SYSCALL). */
static __always_inline void se_sys_args(__u64 a[6])
{
	/* bpf_task_pt_regs() returns a trusted BTF pointer: plain loads (with
	 * CO-RE relocations), no bpf_probe_read_kernel() call per register. */
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	a[0] = PT_REGS_PARM1_SYSCALL(regs);
	a[1] = PT_REGS_PARM2_SYSCALL(regs);
	a[2] = PT_REGS_PARM3_SYSCALL(regs);
	a[3] = PT_REGS_PARM4_SYSCALL(regs);
	a[4] = PT_REGS_PARM5_SYSCALL(regs);
	a[5] = 0;
}

/* sys_enter: copy up to two caller strings for the matching sys_exit. */
static __always_inline void se_enter_strs(__u32 type, __u32 tag, const void *p0, const void *p1)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), zero = 0;
	struct se_entry_strs *e;
	long n;

	if (!se_wanted(type))
		return;
	e = bpf_map_lookup_elem(&entry_strs, &tid);
	if (!e) {
		struct se_entry_strs *z = bpf_map_lookup_elem(&entry_zero, &zero);
		if (!z)
			return;
		if (bpf_map_update_elem(&entry_strs, &tid, z, BPF_ANY)) {
			se_count(SE_CNT_ENTRY_FULL);
			return;
		}
		e = bpf_map_lookup_elem(&entry_strs, &tid);
		if (!e)
			return;
	}
	e->tag = tag;
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->len[0] = e->len[1] = 0;
	e->flags[0] = e->flags[1] = 0;
	if (p0) {
		n = bpf_probe_read_user_str(e->s[0], SE_PATH_MAX, p0);
		if (n > 0) {
			e->len[0] = n - 1;
			if (n >= SE_PATH_MAX)
				e->flags[0] = SE_STR_TRUNCATED;
		} else {
			e->flags[0] = SE_STR_FAULT;
		}
	}
	if (p1) {
		n = bpf_probe_read_user_str(e->s[1], SE_PATH_MAX, p1);
		if (n > 0) {
			e->len[1] = n - 1;
			if (n >= SE_PATH_MAX)
				e->flags[1] = SE_STR_TRUNCATED;
		} else {
			e->flags[1] = SE_STR_FAULT;
		}
	}
}

/* sys_exit: the entry copy for this syscall, or NULL (counted) when missing. */
static __always_inline struct se_entry_strs *se_exit_strs(__u32 tag)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct se_entry_strs *e = bpf_map_lookup_elem(&entry_strs, &tid);

	if (!e || e->tag != tag) {
		se_count(SE_CNT_ENTRY_MISS);
		return NULL;
	}
	return e;
}

static long se_cmp_step(__u64 i, void *unused)
{
	__u32 zero = 0;
	struct se_cmp *c = bpf_map_lookup_elem(&cmp_state, &zero);
	__u64 x = 0, y = 0;

	if (!c || i >= c->words)
		return 1;
	bpf_probe_read_kernel(&x, 8, (void *)(c->a + i * 8));
	bpf_probe_read_kernel(&y, 8, (void *)(c->b + i * 8));
	if (x != y) {
		c->differ = 1;
		return 1;
	}
	return 0;
}

/*
 * Compare the entry copy of string `i` with the caller's memory now. On a
 * difference, emit a SE_EV_TAMPER record (entry copy, exit copy) and return
 * true. Uses path_scratch for the exit copy: call before any path walk.
 */
static __always_inline bool se_check_tamper(struct se_entry_strs *e, __u32 i, const void *uptr, __u32 of_type,
					    __u32 syscall)
{
	__u32 zero = 0, len;
	struct se_path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	struct se_cmp *c = bpf_map_lookup_elem(&cmp_state, &zero);
	struct se_rec r;
	long n;

	if (!pb || !c || !uptr || (e->flags[i & 1] & SE_STR_FAULT))
		return false;
	/* Zero the word tail so the word compare sees equal padding. */
	len = e->len[i & 1];
	if (len > SE_PATH_MAX - 8)
		len = SE_PATH_MAX - 8;
	n = bpf_probe_read_user_str(pb->b, SE_PATH_MAX, uptr);
	if (n <= 0)
		return false;
	if ((__u32)(n - 1) == len) {
		/* Same length: compare byte-exactly, word by word. The NUL and the
		 * bytes after it are excluded by comparing only len bytes: pad both
		 * copies' last word with zeros first. */
		__u32 words = (len + 7) / 8;
		__u32 tail = len & 7;
		if (tail) {
			__u32 w = (words - 1) * 8;
			for (__u32 k = 0; k < 8; k++) {
				if (k >= tail) {
					pb->b[(w + k) & SE_PATH_BUF_MASK] = 0;
					e->s[i & 1][(w + k) & (SE_PATH_MAX - 1)] = 0;
				}
			}
		}
		c->a = (__u64)e->s[i & 1];
		c->b = (__u64)pb->b;
		c->words = words;
		c->differ = 0;
		bpf_loop(SE_PATH_MAX / 8, se_cmp_step, NULL, 0);
		if (!c->differ)
			return false;
	}
	se_count(SE_CNT_TAMPER);
	if (!se_begin(&r, SE_EV_TAMPER))
		return true;
	r.ev->args[SE_TAMPER_ARG_TYPE] = of_type;
	r.ev->args[SE_TAMPER_ARG_STR_SLOT] = i;
	r.ev->args[SE_ARG_SYSCALL] = syscall;
	se_put_kbytes(&r, SE_TAMPER_STR_ENTRY, e->s[i & 1], e->len[i & 1], SE_STR_ENTRY_COPY);
	se_put_str(&r, SE_TAMPER_STR_EXIT, uptr, SE_PATH_MAX, true, 0);
	r.ev->hdr.flags |= SE_F_TAMPERED;
	se_submit(&r);
	return true;
}

/* The directory a relative path is resolved against: dirfd's file or the cwd. */
static __always_inline void se_put_base(struct se_rec *r, __u32 slot, int dirfd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct path p = {};

	if (dirfd == SE_AT_FDCWD) {
		bpf_core_read(&p, sizeof(p), &task->fs->pwd);
		se_put_path(r, slot, p.dentry, p.mnt);
	} else {
		se_put_file_path(r, slot, se_fd_file(dirfd));
	}
}

/* Caller string `i` verbatim: the entry copy when present, else read now. */
static __always_inline void se_put_caller_str(struct se_rec *r, __u32 slot, struct se_entry_strs *e, __u32 i, const void *uptr)
{
	if (e && !(e->flags[i & 1] & SE_STR_FAULT))
		se_put_kbytes(r, slot, e->s[i & 1], e->len[i & 1], SE_STR_ENTRY_COPY | e->flags[i & 1]);
	else
		se_put_str(r, slot, uptr, SE_PATH_MAX, true, 0);
}

/* Release the entry state and say on the record how it was used. */
static __always_inline void se_entry_done(struct se_rec *r, struct se_entry_strs *e, bool tampered)
{
	if (e)
		e->tag = 0;
	else if (r)
		r->ev->hdr.flags |= SE_F_ENTRY_LOST;
	if (r && tampered)
		r->ev->hdr.flags |= SE_F_TAMPERED;
}

/*
 * Put caller string `i` (entry copy when present, else read now) in `slot`,
 * and its base directory in slot + 2 when it is relative.
 */
static __always_inline void se_put_caller_path(struct se_rec *r, __u32 slot, struct se_entry_strs *e, __u32 i,
					       const void *uptr, int dirfd)
{
	__u8 first = 0;

	if (e && !(e->flags[i & 1] & SE_STR_FAULT)) {
		se_put_kbytes(r, slot, e->s[i & 1], e->len[i & 1], SE_STR_ENTRY_COPY | e->flags[i & 1]);
		first = e->s[i & 1][0];
	} else {
		se_put_str(r, slot, uptr, SE_PATH_MAX, true, 0);
		bpf_probe_read_user(&first, 1, uptr);
	}
	if (first != '/')
		se_put_base(r, slot + 2, dirfd);
}

#endif /* SE_SYSCALL_BPF_H */
