/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * resolve layer: kernel objects to the facts we report — fd to struct file,
 * struct path to an absolute path string (the kernel's truth, not the
 * caller's argument).
 *
 * The walk mirrors fs/d_path.c:prepend_path(): climb d_parent until the
 * mount root, then hop to the mountpoint in the parent mount, until the
 * task's root (or the global root) is reached. bpf_loop bounds it and keeps
 * verification cheap: the callback is verified once, not per iteration.
 * bpf_d_path() would do this for us but is only allowed in LSM/fentry
 * programs, which this kernel refuses (EPERM).
 */
#ifndef SE_RESOLVE_BPF_H
#define SE_RESOLVE_BPF_H

#include "read.bpf.h"

enum se_walk_flags {
	SE_WALK_TRUNCATED = 1,
	SE_WALK_DETACHED = 2,   /* reached a dentry that is its own parent but not a mount root */
	SE_WALK_DEPTH = 4,
	SE_WALK_DELETED = 8,
	SE_WALK_OUTSIDE_ROOT = 16, /* reached the global root without meeting the task's root */
};

static __always_inline struct mount *se_real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* Prepend "/<name of d>" to the walk buffer. Returns false when it does not fit
 * (flagged truncated). Anonymous ("/", d_alloc_anon) and empty names (named on
 * demand by d_dname: pipes, sockets, nsfs) add nothing. */
static __always_inline bool se_walk_prepend(struct se_path_buf *pb, struct dentry *d)
{
	struct se_walk *w = &pb->w;
	const unsigned char *name = SE_RD(struct dentry, d, d_name.name);
	__u32 len = SE_RD(struct dentry, d, d_name.len);

	if (len > 255)
		len = 255;
	if (len == 1) {
		__u8 c = 0;
		bpf_probe_read_kernel(&c, 1, name);
		if (c == '/')
			len = 0;
	}
	if (len == 0)
		return true;
	if (len + 1 > w->off) {
		w->flags |= SE_WALK_TRUNCATED;
		return false;
	}
	w->off -= len;
	bpf_probe_read_kernel(&pb->b[w->off & SE_PATH_BUF_MASK], len & 255, name);
	w->off -= 1;
	pb->b[w->off & SE_PATH_BUF_MASK] = '/';
	return true;
}

static long se_walk_step(__u64 i, void *unused)
{
	struct se_path_buf *pb;
	struct se_walk *w;
	struct dentry *d, *mnt_root, *parent;
	struct vfsmount *vm;
	__u32 zero = 0;

	pb = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!pb)
		return 1;
	w = &pb->w;
	d = (struct dentry *)w->dentry;
	vm = (struct vfsmount *)w->vfsmnt;
	w->steps++;
	if (w->dentry == w->root_dentry && w->vfsmnt == w->root_mnt)
		return 1;
	mnt_root = SE_RD(struct vfsmount, vm, mnt_root);
	parent = SE_RD(struct dentry, d, d_parent);
	if (d == mnt_root || d == parent) {
		struct mount *m = se_real_mount(vm);
		struct mount *mp = SE_RD(struct mount, m, mnt_parent);

		if (d != mnt_root) {
			/* A pseudo file's own dentry (memfd, nsfs, anon inodes): no
			 * parent to climb to; its name (may be empty) is all there is. */
			w->flags |= SE_WALK_DETACHED;
			se_walk_prepend(pb, d);
			return 1;
		}
		if (m == mp) {
			/* Global root of this mount tree without meeting the task's
			 * root: a detached tree (internal mounts such as memfd's) or a
			 * path outside a chroot. */
			w->flags |= SE_WALK_OUTSIDE_ROOT;
			return 1;
		}
		w->dentry = (__u64)SE_RD(struct mount, m, mnt_mountpoint);
		w->vfsmnt = (__u64)mp + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (!se_walk_prepend(pb, d))
		return 1;
	w->dentry = (__u64)parent;
	return 0;
}

static __always_inline bool se_d_unlinked(struct dentry *d)
{
	/* d_unlinked(): d_unhashed(dentry) && !IS_ROOT(dentry) */
	return SE_RD(struct dentry, d, d_hash.pprev) == NULL && SE_RD(struct dentry, d, d_parent) != d;
}

/*
 * Walk (dentry, vfsmnt) into path_scratch. On return the path is
 * pb->b[w->off .. SE_PATH_MAX) and starts with '/'.
 */
static __always_inline struct se_path_buf *se_walk_path(struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct se_path_buf *pb;
	struct se_walk *w;
	__u32 zero = 0;

	pb = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!pb)
		return NULL;
	w = &pb->w;

	w->dentry = (__u64)dentry;
	w->vfsmnt = (__u64)vfsmnt;
	w->root_dentry = (__u64)BPF_CORE_READ(task, fs, root.dentry);
	w->root_mnt = (__u64)BPF_CORE_READ(task, fs, root.mnt);
	w->off = SE_PATH_MAX;
	w->flags = 0;
	w->steps = 0;
	if (se_d_unlinked(dentry))
		w->flags |= SE_WALK_DELETED;
	bpf_loop(SE_PATH_DEPTH_MAX, se_walk_step, NULL, 0);
	if (w->steps >= SE_PATH_DEPTH_MAX) {
		w->flags |= SE_WALK_DEPTH;
		se_count(SE_CNT_PATH_DEPTH);
	}
	return pb;
}

/* fd of the current task to its struct file, NULL when not open. */
static __always_inline struct file *se_fd_file(int fd)
{
	/* The current task is a trusted BTF pointer: walk to the fd table with
	 * plain loads; only the indexed slot needs a probe read (the verifier
	 * refuses variable offsets on BTF pointers). The file pointer read from
	 * the slot is a scalar again: callers read through it with SE_RD(). */
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	struct fdtable *fdt = task->files->fdt;
	__u64 fds = (__u64)fdt->fd;
	unsigned int max = fdt->max_fds;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), (void *)(fds + (__u64)fd * sizeof(void *)));
	return f;
}

#endif /* SE_RESOLVE_BPF_H */
