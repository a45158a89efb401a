/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * In-kernel file filters filled from the compiled rules: a file event passes
 * when filtering is off (SE_FL_ALL_PATHS), when its file name (leaf) is of
 * interest, or when its path starts with a prefix of interest. Cheap tests
 * come first: the name length (one array lookup) before hashing the name,
 * the name before any path walk.
 */
#ifndef SE_FILTER_BPF_H
#define SE_FILTER_BPF_H

#include "syscall.bpf.h"

static __always_inline struct se_key_scratch *se_keys(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&key_scratch, &zero);
}

/* Is the name (kernel memory, len bytes) one of interest for `want` (enum se_interest)? */
static __always_inline bool se_name_hit(const void *name, __u32 len, __u8 want)
{
	__u8 *v;
	__u32 l = len;
	__u8 *any = bpf_map_lookup_elem(&name_len_of_interest, &l);
	struct se_key_scratch *k;

	if (len == 0 || len >= sizeof(k->name.name) || !any || !*any)
		return false;
	k = se_keys();
	if (!k)
		return false;
	__builtin_memset(k->name.name, 0, sizeof(k->name.name));
	bpf_probe_read_kernel(k->name.name, len & 63, name);
	v = bpf_map_lookup_elem(&name_of_interest, &k->name);
	return v && (*v & want);
}

static __always_inline bool se_dentry_name_hit(struct dentry *d, __u8 want)
{
	if (!d)
		return false;
	return se_name_hit(SE_RD(struct dentry, d, d_name.name), SE_RD(struct dentry, d, d_name.len), want);
}

/* Does kernel memory [p, p+len) start with a prefix of interest for `want`? */
static __always_inline bool se_prefix_hit(const void *p, __u32 len, __u8 want)
{
	struct se_key_scratch *k = se_keys();
	__u8 *v;

	if (!k)
		return false;
	if (len > sizeof(k->prefix.data))
		len = sizeof(k->prefix.data);
	k->prefix.prefixlen = len * 8;
	bpf_probe_read_kernel(k->prefix.data, len & 511, p);
	v = bpf_map_lookup_elem(&path_prefix, &k->prefix);
	return v && (*v & want);
}

struct se_leaf_scan {
	__u32 end;      /* string length */
	__u32 start;    /* result: index after the last '/' */
};

static long se_leaf_step(__u64 i, void *ctx)
{
	struct se_leaf_scan *s = ctx;
	__u32 zero = 0, pos;
	struct se_path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);

	if (!pb || i >= s->end)
		return 1;
	pos = s->end - 1 - (__u32)i;
	if (pb->b[pos & SE_PATH_BUF_MASK] == '/') {
		s->start = pos + 1;
		return 1;
	}
	return 0;
}

/*
 * Does a path string name a file of interest? Copies it into path_scratch
 * (from user memory, or kernel memory such as an entry copy); checks its leaf
 * name and, when absolute, its prefix.
 */
static __always_inline bool se_str_path_hit(const void *ptr, bool user)
{
	__u32 zero = 0;
	struct se_path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	struct se_leaf_scan s = {};
	long n;

	if (!pb || !ptr)
		return false;
	if (user)
		n = bpf_probe_read_user_str(pb->b, SE_PATH_MAX, ptr);
	else
		n = bpf_probe_read_kernel_str(pb->b, SE_PATH_MAX, ptr);
	if (n <= 1)
		return false;
	s.end = n - 1;
	s.start = 0;
	/* Names of interest are < 64 bytes: look for the last '/' in the tail only. */
	bpf_loop(64, se_leaf_step, &s, 0);
	if (s.start < s.end && se_name_hit(&pb->b[s.start & SE_PATH_BUF_MASK], s.end - s.start, SE_INTEREST_ANY))
		return true;
	if (pb->b[0] == '/')
		return se_prefix_hit(pb->b, s.end, SE_INTEREST_ANY);
	return false;
}

static __always_inline bool se_user_path_hit(const void *uptr)
{
	return se_str_path_hit(uptr, true);
}

/* One byte of the component scan: pb->s over pb->b[start, end). */
static long se_scan_step(__u64 i, void *ctx)
{
	__u32 start = *(__u32 *)ctx, zero = 0, p, len, c0;
	struct se_path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	struct se_scan *s;

	if (!pb)
		return 1;
	s = &pb->s;
	p = start + (__u32)i;
	if (p < s->end && pb->b[p & SE_PATH_BUF_MASK] != '/')
		return 0;
	len = p - s->comp;
	c0 = pb->b[s->comp & SE_PATH_BUF_MASK];
	if (len == 0 || (len == 1 && c0 == '.') || (len == 2 && c0 == '.' && pb->b[(s->comp + 1) & SE_PATH_BUF_MASK] == '.')) {
		s->odd = 1;
		return 1;
	}
	s->leaf = s->comp;
	s->comp = p + 1;
	return p >= s->end;
}

/*
 * Does a failed open's caller string (user memory; kernel memory when kstr:
 * io_uring's copy) name a file of interest for `want`?
 * Nothing was opened, so there is no struct file: the string is what user
 * space reports, resolved against the dirfd or cwd and normalized
 * (decode's resolveCallerPath). The kernel does the same as far as it can:
 * the leaf name is tested as written; an absolute string is tested against
 * the prefixes; a relative one is joined to its base directory (walked from
 * the kernel's dentries, only when prefixes apply to reads). A string that
 * is not already normal (empty, "." or ".." components) is let through for
 * user space to decide rather than guessed at.
 */
static __always_inline bool se_failed_open_hit(const char *upath, int dirfd, __u8 want, bool kstr)
{
	__u32 zero = 0, start, off;
	struct se_path_buf *pb = bpf_map_lookup_elem(&path_scratch, &zero);
	struct se_filter_cfg *cfg = se_cfg();
	struct task_struct *task;
	struct dentry *dentry;
	struct vfsmount *mnt;
	__u8 first = 0;
	long n;

	if (!pb || !cfg || !upath)
		return false;
	if (kstr)
		bpf_probe_read_kernel(&first, 1, upath);
	else
		bpf_probe_read_user(&first, 1, upath);
	/* A relative string goes after the base's walk area (the walk writes below SE_PATH_MAX). */
	start = first == '/' ? 1 : SE_PATH_MAX + 1;
	if (kstr)
		n = bpf_probe_read_kernel_str(&pb->b[start == 1 ? 0 : SE_PATH_MAX + 1], SE_PATH_MAX, upath);
	else
		n = bpf_probe_read_user_str(&pb->b[start == 1 ? 0 : SE_PATH_MAX + 1], SE_PATH_MAX, upath);
	if (n <= 1)
		return false;   /* unreadable or empty: nothing a path rule can match */
	/* The string is b[0, n-1) or b[SE_PATH_MAX + 1, ...); components start after a leading '/'. */
	pb->s.end = (first == '/' ? 0 : start) + n - 1;
	pb->s.comp = start;
	pb->s.leaf = start;
	pb->s.odd = 0;
	bpf_loop(SE_PATH_MAX + 1, se_scan_step, &start, 0);
	if (pb->s.odd)
		return true;
	if (se_name_hit(&pb->b[pb->s.leaf & SE_PATH_BUF_MASK], pb->s.end - pb->s.leaf, want))
		return true;
	if (first == '/')
		return se_prefix_hit(pb->b, pb->s.end, want);
	if (!(cfg->flags & SE_FL_READ_PREFIXES))
		return false;
	task = (struct task_struct *)bpf_get_current_task_btf();
	if (dirfd == SE_AT_FDCWD) {
		dentry = BPF_CORE_READ(task, fs, pwd.dentry);
		mnt = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = se_fd_file(dirfd);
		if (!f)
			return false;   /* no base: user space cannot resolve it either */
		dentry = SE_RD(struct file, f, f_path.dentry);
		mnt = SE_RD(struct file, f, f_path.mnt);
	}
	if (!se_walk_path(dentry, mnt))
		return false;
	if (pb->w.flags & (SE_WALK_TRUNCATED | SE_WALK_DEPTH))
		return true;    /* the base is not known whole */
	off = pb->w.off;
	if (off > SE_PATH_MAX)
		off = SE_PATH_MAX;
	pb->b[SE_PATH_MAX] = '/';
	return se_prefix_hit(&pb->b[off & SE_PATH_BUF_MASK], pb->s.end - off, want);
}

/*
 * Never killed in the kernel, whatever a rule says (set by user space before
 * load, always — also when kernel.ignore.self is false and the sensor's own
 * events are reported): the sensor and its parent (a supervisor). pid 1 is
 * guarded below too, without relying on the helper's own -EPERM for init.
 */
const volatile __u32 se_kill_protect_self __weak = 0;
const volatile __u32 se_kill_protect_parent __weak = 0;

/*
 * In-kernel kill: does a rule the kernel can decide match (kind, the path in
 * string slot `slot` of the record)? If so, SIGKILL the current task — the
 * signal is delivered before it returns to user space — and mark the record,
 * only when the signal was queued: a refused signal leaves the record
 * unmarked, and user space (src/rules/killer.ts, with its own guards) acts
 * and reports what happened.
 */
static __always_inline void se_kill_check(struct se_rec *r, __u32 kind, __u32 slot)
{
	struct se_filter_cfg *cfg = se_cfg();
	struct se_key_scratch *k;
	struct se_str *s = &r->ev->str[slot & (SE_STR_SLOTS - 1)];
	__u32 off = s->off, len = s->len, *idx;

	if (!cfg || !(cfg->flags & SE_FL_KILL_RULES))
		return;
	k = se_keys();
	if (!k || !(s->flags & SE_STR_PRESENT) || off >= SE_SCRATCH_SIZE)
		return;
	if (len > sizeof(k->kill.data) - 1)
		len = sizeof(k->kill.data) - 1;
	__builtin_memset(k->kill.data, 0, sizeof(k->kill.data));
	k->kill.data[0] = kind;
	bpf_probe_read_kernel(&k->kill.data[1], len & 255, (__u8 *)r->ev + (off & SE_REC_MASK));
	k->kill.prefixlen = sizeof(k->kill.data) * 8;
	idx = bpf_map_lookup_elem(&kill_exact, &k->kill);
	if (!idx) {
		k->kill.prefixlen = (len + 1) * 8;
		idx = bpf_map_lookup_elem(&kill_prefix, &k->kill);
	}
	if (!idx)
		return;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid <= 1 || tgid == se_kill_protect_self || tgid == se_kill_protect_parent)
		return;
	if (bpf_send_signal(9) != 0)
		return;
	r->ev->hdr.flags |= SE_F_KILLED | ((*idx + 1) << SE_F_KILL_RULE_SHIFT);
}

static __always_inline bool se_all_paths(void)
{
	struct se_filter_cfg *cfg = se_cfg();
	return cfg && (cfg->flags & SE_FL_ALL_PATHS);
}

#endif /* SE_FILTER_BPF_H */
