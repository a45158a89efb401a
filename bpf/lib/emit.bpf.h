/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * emit layer: build a record in per-CPU scratch, append strings, submit it to
 * the ring buffer without a per-record wakeup.
 *
 * Measured on this machine: a wakeup per record costs ~3 us (IRQ work + IPI)
 * and more than doubles the cost of a traced syscall, so records go out with
 * BPF_RB_NO_WAKEUP and the reader is woken only when pending data crosses
 * filter_cfg.wakeup_bytes; otherwise it drains on its own short timer.
 */
#ifndef SE_EMIT_BPF_H
#define SE_EMIT_BPF_H

#include "resolve.bpf.h"

struct se_rec {
	struct se_event *ev;
	__u32 pos;
};

/* Start a record of `type` for the current task; false when no scratch. */
static __always_inline bool se_begin(struct se_rec *r, __u32 type)
{
	__u32 zero = 0;
	struct se_rec_buf *buf = bpf_map_lookup_elem(&rec_scratch, &zero);

	if (!buf)
		return false;
	r->ev = (struct se_event *)buf->b;
	__builtin_memset(r->ev, 0, sizeof(struct se_event));
	se_fill_hdr(&r->ev->hdr, type);
	r->pos = sizeof(struct se_event);
	return true;
}

static __always_inline void se_set_str(struct se_rec *r, __u32 slot, __u32 off, __u32 len, __u32 flags)
{
	struct se_str *s = &r->ev->str[slot & (SE_STR_SLOTS - 1)];

	s->off = off;
	s->len = len;
	s->flags = flags | SE_STR_PRESENT;
}

/* Append a NUL-terminated string (user or kernel memory), at most max-1 bytes. */
static __always_inline void se_put_str(struct se_rec *r, __u32 slot, const void *src, __u32 max, bool user, __u32 extra_flags)
{
	__u32 pos = r->pos, flags = extra_flags;
	__u8 *dst;
	long n;

	if (max > SE_PATH_MAX)
		max = SE_PATH_MAX;
	if (pos >= SE_SCRATCH_SIZE) {
		se_set_str(r, slot, pos, 0, flags | SE_STR_TRUNCATED);
		se_count(SE_CNT_TRUNCATED);
		return;
	}
	dst = (__u8 *)r->ev + (pos & SE_REC_MASK);
	if (user)
		n = bpf_probe_read_user_str(dst, max, src);
	else
		n = bpf_probe_read_kernel_str(dst, max, src);
	if (n <= 0) {
		se_set_str(r, slot, pos, 0, flags | SE_STR_FAULT);
		se_count(SE_CNT_READ_FAULT);
		return;
	}
	if (n >= max) {
		/* Filled the buffer: the string may continue. */
		flags |= SE_STR_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
	}
	n -= 1;
	se_set_str(r, slot, pos, n, flags);
	r->pos = pos + n;
}

/* Append `len` raw bytes from kernel memory (already bounded by caller). */
static __always_inline void se_put_kbytes(struct se_rec *r, __u32 slot, const void *src, __u32 len, __u32 flags)
{
	__u32 pos = r->pos;

	if (len > SE_PATH_MAX)
		len = SE_PATH_MAX;
	if (pos >= SE_SCRATCH_SIZE) {
		se_set_str(r, slot, pos, 0, flags | SE_STR_TRUNCATED);
		se_count(SE_CNT_TRUNCATED);
		return;
	}
	bpf_probe_read_kernel((__u8 *)r->ev + (pos & SE_REC_MASK), len & (SE_PATH_MAX * 2 - 1), src);
	se_set_str(r, slot, pos, len, flags);
	r->pos = pos + len;
}

/* Append the absolute path of (dentry, vfsmnt). */
static __always_inline void se_put_path(struct se_rec *r, __u32 slot, struct dentry *dentry, struct vfsmount *vfsmnt)
{
	struct se_path_buf *pb;
	__u32 off, wflags, len, flags = 0;

	if (!dentry || !vfsmnt) {
		se_set_str(r, slot, r->pos, 0, SE_STR_FAULT);
		return;
	}
	pb = se_walk_path(dentry, vfsmnt);
	if (!pb)
		return;
	off = pb->w.off;
	wflags = pb->w.flags;
	if (off >= SE_PATH_MAX || off == 0) {
		/* The root itself. */
		off = SE_PATH_MAX - 1;
		pb->b[off] = '/';
	}
	len = SE_PATH_MAX - off;
	if (wflags & (SE_WALK_TRUNCATED | SE_WALK_DEPTH)) {
		flags |= SE_STR_TRUNCATED;
		se_count(SE_CNT_TRUNCATED);
	}
	if (wflags & SE_WALK_DELETED)
		flags |= SE_STR_DELETED;
	se_put_kbytes(r, slot, &pb->b[off & SE_PATH_BUF_MASK], len, flags);
}

static __always_inline void se_put_file_path(struct se_rec *r, __u32 slot, struct file *f)
{
	if (!f) {
		se_set_str(r, slot, r->pos, 0, SE_STR_FAULT);
		return;
	}
	se_put_path(r, slot, SE_RD(struct file, f, f_path.dentry), SE_RD(struct file, f, f_path.mnt));
}

/* Submit the record: never a per-record wakeup (see top of file). */
static __always_inline void se_submit(struct se_rec *r)
{
	struct se_filter_cfg *cfg = se_cfg();
	__u64 thr = cfg && cfg->wakeup_bytes ? cfg->wakeup_bytes : SE_DEFAULT_WAKEUP_BYTES;
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = BPF_RB_NO_WAKEUP;
	__u32 size = r->pos;

	if (size > SE_RECORD_MAX)
		size = SE_RECORD_MAX;
	r->ev->hdr.size = size;
	/* Wake exactly once per crossing of the threshold. */
	if (avail < thr && avail + size >= thr) {
		flags = BPF_RB_FORCE_WAKEUP;
		se_count(SE_CNT_WAKEUPS);
	}
	if (bpf_ringbuf_output(&events, r->ev, size, flags))
		se_count(SE_CNT_LOST);
	else
		se_count(SE_CNT_EMITTED);
}

#endif /* SE_EMIT_BPF_H */
