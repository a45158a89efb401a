/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * Provenance: which process last wrote a file, and had it connected out?
 * Carried on the file's exec (struct se_exec_ext), so a dropper fetched by a
 * downloader and a binary a compiler wrote read differently.
 *
 * Two LRU maps, so memory stays bounded whatever the host does:
 *  - prov_file (dev + inode → writer): every regular file opened with write
 *    intent (or written through an io_uring ring) by a reported process. No
 *    path is needed, so recording costs one map update on write-opens only
 *    (read-only opens never get here). Recording every written file rather
 *    than only "interesting" ones is what lets a later chmod by path (which
 *    no tracepoint can tie to an inode) and any location be covered; the LRU
 *    bound is the price: a flood of more than max_entries written files
 *    between a write and its exec evicts the writer (the exec then has no
 *    provenance, and says so by its absence).
 *  - prov_proc (tgid → connected-out flags, executable): set on a connect to
 *    a remote address, inherited by children forked afterwards, and the
 *    executable's path cached (walked once per process image, at its first
 *    recorded write). `gen` counts execs so a writer that since exec'd
 *    another image is not credited with the new image's path.
 *
 * "Connected out": a successful (or in-progress) connect of an AF_INET /
 * AF_INET6 socket whose peer, per struct sock, is neither loopback
 * (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) nor unspecified (0.0.0.0, ::) —
 * loopback counts too when SE_FL_PROV_LOOPBACK is set (tests; a proxy on
 * loopback). Accepted connections do not count.
 */
#ifndef SE_PROVENANCE_BPF_H
#define SE_PROVENANCE_BPF_H

#include "filter.bpf.h"

enum se_prov_internal {
	SE_PROV_EXE_MAX = 256,
	SE_PROV_FILES = 16384,
	SE_PROV_PROCS = 4096,
	/* prov_proc flags */
	SE_PROVP_CONNECTED = 1 << 0,
	SE_PROVP_CONNECTED_PARENT = 1 << 1,
	SE_PROVP_EXE = 1 << 2,          /* exe[] names the current image */
};

struct se_prov_key {
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct se_prov_file {
	__u64 write_ns;
	__u64 start_ns;
	__u32 pid;
	__u32 uid;
	__u32 flags;            /* enum se_prov_flags */
	__u32 gen;              /* the writer's prov_proc.gen when it wrote */
	char comm[SE_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SE_PROV_FILES);
	__type(key, struct se_prov_key);
	__type(value, struct se_prov_file);
} prov_file SEC(".maps") __weak;

struct se_prov_proc {
	__u64 start_ns;         /* the process's leader start: a reused pid is another process */
	__u32 flags;            /* SE_PROVP_* */
	__u32 gen;              /* execs seen since the entry was made */
	__u32 exe_len;
	__u32 exe_sflags;       /* enum se_str_flags of the cached path (TRUNCATED, DELETED) */
	__u8 exe[SE_PROV_EXE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SE_PROV_PROCS);
	__type(key, __u32);
	__type(value, struct se_prov_proc);
} prov_proc SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct se_prov_proc);
} prov_proc_zero SEC(".maps") __weak;

/* The process a task belongs to (io_uring workers: the ring owner's leader). */
static __always_inline struct task_struct *se_prov_leader(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	return task->group_leader;
}

/* The process's entry; a stale one (pid reused) is reset; created when asked. */
static __always_inline struct se_prov_proc *se_prov_proc_of(__u32 tgid, __u64 start, bool create)
{
	struct se_prov_proc *p = bpf_map_lookup_elem(&prov_proc, &tgid), *z;
	__u32 zero = 0;

	if (p) {
		if (p->start_ns != start) {
			if (!create)
				return NULL;
			p->start_ns = start;
			p->flags = 0;
			p->gen++;
		}
		return p;
	}
	if (!create)
		return NULL;
	z = bpf_map_lookup_elem(&prov_proc_zero, &zero);
	if (!z)
		return NULL;
	z->start_ns = start;
	z->flags = 0;
	z->gen = 0;
	bpf_map_update_elem(&prov_proc, &tgid, z, BPF_NOEXIST);
	p = bpf_map_lookup_elem(&prov_proc, &tgid);
	return p && p->start_ns == start ? p : NULL;
}

/* Cache the process image's path (tail kept) once per image. */
static __always_inline void se_prov_exe_fill(struct se_prov_proc *p, struct task_struct *leader)
{
	struct file *exe = BPF_CORE_READ(leader, mm, exe_file);
	struct se_path_buf *pb;
	__u32 off, len, sflags = 0;

	if (!exe)
		return;
	pb = se_walk_path(SE_RD(struct file, exe, f_path.dentry), SE_RD(struct file, exe, f_path.mnt));
	if (!pb)
		return;
	off = pb->w.off;
	if (off >= SE_PATH_MAX || off == 0)
		return;
	len = SE_PATH_MAX - off;
	if (pb->w.flags & (SE_WALK_TRUNCATED | SE_WALK_DEPTH))
		sflags |= SE_STR_TRUNCATED;
	if (pb->w.flags & SE_WALK_DELETED)
		sflags |= SE_STR_DELETED;
	if (len > SE_PROV_EXE_MAX - 1) {
		len = SE_PROV_EXE_MAX - 1;
		sflags |= SE_STR_TRUNCATED;
	}
	bpf_probe_read_kernel(p->exe, len & (SE_PROV_EXE_MAX - 1), &pb->b[(SE_PATH_MAX - len) & SE_PATH_BUF_MASK]);
	p->exe_len = len;
	p->exe_sflags = sflags;
	p->flags |= SE_PROVP_EXE;
}

/*
 * The current process wrote (opened with write intent, or wrote through a
 * ring) the file f. oflags: the open's flags (O_CREAT/O_TRUNC mark a new
 * content); xflags: the record flags (SE_F_IO_URING).
 */
static __always_inline void se_prov_note_write(struct file *f, __u64 oflags, __u32 xflags)
{
	struct task_struct *leader;
	struct se_prov_proc *p;
	struct se_prov_file v = {};
	struct se_prov_key k = {};
	struct inode *ino;

	if (!f)
		return;
	ino = SE_RD(struct file, f, f_inode);
	if (!ino || (SE_RD(struct inode, ino, i_mode) & SE_S_IFMT) != SE_S_IFREG)
		return;
	if (!se_pid_wanted())
		return;
	leader = se_prov_leader();
	k.ino = SE_RD(struct inode, ino, i_ino);
	k.dev = SE_RD(struct super_block, SE_RD(struct inode, ino, i_sb), s_dev);
	v.write_ns = bpf_ktime_get_boot_ns();
	v.start_ns = leader->start_boottime;
	v.pid = leader->tgid;
	v.uid = leader->cred->euid.val;
	v.flags = SE_PROV_KNOWN;
	if (oflags & (0100 | 01000))
		v.flags |= SE_PROV_CREATE;
	if (xflags & SE_F_IO_URING)
		v.flags |= SE_PROV_IO_URING;
	__builtin_memcpy(v.comm, leader->comm, sizeof(v.comm));
	p = se_prov_proc_of(v.pid, v.start_ns, true);
	if (p) {
		if (!(p->flags & SE_PROVP_EXE))
			se_prov_exe_fill(p, leader);
		if (p->flags & SE_PROVP_CONNECTED)
			v.flags |= SE_PROV_CONNECTED;
		if (p->flags & SE_PROVP_CONNECTED_PARENT)
			v.flags |= SE_PROV_CONNECTED_PARENT;
		v.gen = p->gen;
	} else {
		v.flags |= SE_PROV_EXE_UNKNOWN;
	}
	bpf_map_update_elem(&prov_file, &k, &v, BPF_ANY);
}

/* A connect by the current process finished (ret 0) or is under way (-EINPROGRESS). */
static __always_inline void se_prov_connect(struct sock *sk, long ret)
{
	struct se_filter_cfg *cfg;
	struct task_struct *leader;
	struct se_prov_proc *p;
	bool local;
	__u16 family;

	if (!sk || (ret != 0 && ret != -115))
		return;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == 2) {
		__u32 a = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		local = a == 0 || (a & 0xff) == 127;
	} else if (family == 10) {
		__u32 w[4] = {};
		bpf_core_read(w, sizeof(w), &sk->__sk_common.skc_v6_daddr);
		local = (w[0] | w[1]) == 0 &&
			((w[2] == 0 && (w[3] == 0 || w[3] == 0x01000000)) ||
			 (w[2] == 0xffff0000 && (w[3] & 0xff) == 127));
	} else {
		return;
	}
	cfg = se_cfg();
	if (local && !(cfg && (cfg->flags & SE_FL_PROV_LOOPBACK)))
		return;
	leader = se_prov_leader();
	p = se_prov_proc_of(leader->tgid, leader->start_boottime, true);
	if (p)
		p->flags |= SE_PROVP_CONNECTED;
}

/* A new process: it inherits its parent's "connected out" as CONNECTED_PARENT. */
static __always_inline void se_prov_fork(struct task_struct *parent, struct task_struct *child)
{
	struct task_struct *pl = parent->group_leader;
	struct se_prov_proc *pp = se_prov_proc_of(pl->tgid, pl->start_boottime, false), *c;

	if (!pp || !(pp->flags & (SE_PROVP_CONNECTED | SE_PROVP_CONNECTED_PARENT)))
		return;
	c = se_prov_proc_of(child->tgid, child->start_boottime, true);
	if (c)
		c->flags |= SE_PROVP_CONNECTED_PARENT;
}

/*
 * Exec of the file f by the current process: fill the record's
 * struct se_exec_ext (right after struct se_event) with f's writer, append
 * the writer's executable, then note that this process runs a new image.
 */
static __always_inline void se_prov_exec(struct se_rec *r, struct file *f)
{
	struct se_exec_ext *x = (struct se_exec_ext *)((__u8 *)r->ev + sizeof(struct se_event));
	struct task_struct *leader = se_prov_leader();
	struct se_prov_key k = {};
	struct se_prov_file *v;
	struct se_prov_proc *p;
	struct inode *ino = f ? SE_RD(struct file, f, f_inode) : NULL;

	if (ino) {
		k.ino = SE_RD(struct inode, ino, i_ino);
		k.dev = SE_RD(struct super_block, SE_RD(struct inode, ino, i_sb), s_dev);
		v = bpf_map_lookup_elem(&prov_file, &k);
		if (v) {
			x->prov_write_ns = v->write_ns;
			x->prov_start_ns = v->start_ns;
			x->prov_pid = v->pid;
			x->prov_uid = v->uid;
			x->prov_flags = v->flags;
			__builtin_memcpy(x->prov_comm, v->comm, sizeof(x->prov_comm));
			p = se_prov_proc_of(v->pid, v->start_ns, false);
			if (p && p->gen == v->gen && (p->flags & SE_PROVP_EXE) && r->pos < SE_SCRATCH_SIZE) {
				__u32 len = p->exe_len, pos = r->pos;
				len &= SE_PROV_EXE_MAX - 1;
				bpf_probe_read_kernel((__u8 *)r->ev + (pos & SE_REC_MASK), len, p->exe);
				x->prov_exe.off = pos;
				x->prov_exe.len = len;
				x->prov_exe.flags = SE_STR_PRESENT | p->exe_sflags;
				r->pos = pos + len;
			} else {
				x->prov_flags |= SE_PROV_EXE_UNKNOWN;
			}
		}
	}
	p = se_prov_proc_of(leader->tgid, leader->start_boottime, false);
	if (p) {
		p->gen++;
		p->flags &= ~SE_PROVP_EXE;
	}
}

#endif /* SE_PROVENANCE_BPF_H */
