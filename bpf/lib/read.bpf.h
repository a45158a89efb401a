/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * read layer: the acting task's context and filters that need only it.
 * CO-RE reads only; no kernel-version macros.
 */
#ifndef SE_READ_BPF_H
#define SE_READ_BPF_H

#include "maps.bpf.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/*
 * A kernel pointer that was read as data (from a map, through a probe read)
 * is a plain scalar to the verifier: each field behind it costs a
 * bpf_probe_read_kernel() call. bpf_rdonly_cast() (kfunc, 6.2+) makes it a
 * read-only BTF pointer again, whose fields are plain loads with fault
 * handling. SE_RD(type, ptr, field) uses it in the full object and
 * CO-RE probe reads in the compat object (features.h per variant, from
 * bpf/Makefile); which object loads is probed at load time from the kernel's
 * BTF (src/sources/kernel/features.ts).
 */
#ifdef SE_HAVE_RDONLY_CAST
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define SE_BTF(type, ptr) ((type *)bpf_rdonly_cast((const void *)(ptr), bpf_core_type_id_kernel(type)))
#define SE_RD(type, ptr, field) (SE_BTF(type, ptr)->field)
#else
/* One CO-RE probe read per field; the pointer is evaluated first so that
 * SE_RD() calls nest (clang refuses nested preserve_access_index builtins). */
#define SE_RD(type, ptr, field) ({					\
	type *__se_p = (type *)(ptr);					\
	typeof(__se_p->field) __se_v;					\
	bpf_core_read((void *)&__se_v, sizeof(__se_v), &__se_p->field); \
	__se_v;								\
})
#endif

/* Set by user space before load. */
const volatile __u32 se_sensor_tgid __weak = 0;

static __always_inline struct se_filter_cfg *se_cfg(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&filter_cfg, &zero);
}

/* Is this event type wanted at all? (One array lookup: do this first.) */
static __always_inline bool se_kind_wanted(__u32 type)
{
	struct se_filter_cfg *cfg = se_cfg();

	if (!cfg)
		return false;
	if (type < 64)
		return cfg->kinds & (1ULL << type);
	if (type < 128)
		return cfg->kinds_hi & (1ULL << (type - 64));
	return false;
}

/* Is the current process reported? (The sensor itself, ignored pids and
 * processes of ignored cgroups are not.) */
static __always_inline bool se_pid_wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct se_filter_cfg *cfg;

	if (tgid == se_sensor_tgid || bpf_map_lookup_elem(&ignore_tgid, &tgid))
		return false;
	cfg = se_cfg();
	if (cfg && (cfg->flags & SE_FL_IGNORE_CGROUPS)) {
		__u64 cg = bpf_get_current_cgroup_id();

		if (bpf_map_lookup_elem(&ignore_cgroup, &cg))
			return false;
	}
	return true;
}

static __always_inline bool se_wanted(__u32 type)
{
	if (se_kind_wanted(type) && se_pid_wanted())
		return true;
	se_count(SE_CNT_FILTERED);
	return false;
}

/*
 * The acting task's context. `task` is the trusted BTF pointer of
 * bpf_get_current_task_btf(): fields are read with plain (fault-tolerant)
 * loads that CO-RE relocates, not one bpf_probe_read_kernel() call each —
 * measured here, ~35 helper calls per record were the largest part of a
 * record's cost.
 */
static __always_inline __u32 se_tty_of(struct task_struct *task)
{
	struct tty_struct *tty = task->signal->tty;

	if (!tty)
		return 0;
	return ((__u32)tty->driver->major << 20) | (((__u32)tty->driver->minor_start + tty->index) & 0xfffff);
}

static __always_inline __u32 se_pidns_of(struct task_struct *task)
{
	struct pid *pid = task->thread_pid;
	unsigned int level = pid->level;
	struct pid_namespace *ns = NULL;

	/* Variable index: a probe read (the verifier refuses variable offsets on BTF pointers). */
	bpf_probe_read_kernel(&ns, sizeof(ns), (void *)((__u64)pid + bpf_core_field_offset(struct pid, numbers) +
							    (level & 31) * bpf_core_type_size(struct upid) +
							    bpf_core_field_offset(struct upid, ns)));
	return ns ? BPF_CORE_READ(ns, ns.inum) : 0;
}

/*
 * A capability set as 64 bits. kernel_cap_t is `struct { u64 val; }` since
 * 6.3 (f122a08b197d "capability: just use a 'u64' instead of a 'u32[2]'
 * array"); before, two u32 words in the same little-endian order: read raw.
 */
typedef struct {
	__u64 val;
} __attribute__((preserve_access_index)) kernel_cap_t___se_u64;

/* (The 6.3 layout is named through its own flavour of the typedef, so the
 * object also builds against an older kernel's vmlinux.h: Debian 12's arm64
 * 6.1; CO-RE matches kernel_cap_t___se_u64 with the kernel's kernel_cap_t.) */
static __always_inline __u64 se_caps_of(const kernel_cap_t *c)
{
	const kernel_cap_t___se_u64 *c64 = (const void *)c;
	__u64 v = 0;

	if (bpf_core_field_exists(c64->val))
		return c64->val;
	bpf_probe_read_kernel(&v, sizeof(v), c);
	return v;
}

static __always_inline void se_fill_task_of(struct se_task *t, struct task_struct *task)
{
	struct task_struct *parent = task->real_parent;
	const struct cred *cred = task->cred;

	t->pid = task->tgid;
	t->tid = task->pid;
	t->start_ns = task->group_leader->start_boottime;
	t->ppid = parent->tgid;
	t->parent_start_ns = parent->group_leader->start_boottime;
	t->uid = cred->uid.val;
	t->gid = cred->gid.val;
	t->euid = cred->euid.val;
	t->egid = cred->egid.val;
	t->suid = cred->suid.val;
	t->sgid = cred->sgid.val;
	t->fsuid = cred->fsuid.val;
	t->fsgid = cred->fsgid.val;
	/* loginuid/sessionid exist only with CONFIG_AUDIT. */
	if (bpf_core_field_exists(task->loginuid)) {
		t->loginuid = task->loginuid.val;
		t->sessionid = task->sessionid;
	} else {
		t->loginuid = (__u32)-1;
		t->sessionid = (__u32)-1;
	}
	t->mntns = task->nsproxy->mnt_ns->ns.inum;
	t->pidns = se_pidns_of(task);
	t->tty = se_tty_of(task);
	/* Session and process group, for Elastic's Session View (session and group leaders). */
	t->sid = task->signal->pids[PIDTYPE_SID]->numbers[0].nr;
	t->pgid = task->signal->pids[PIDTYPE_PGID]->numbers[0].nr;
	t->cap_effective = se_caps_of(&cred->cap_effective);
	t->cap_permitted = se_caps_of(&cred->cap_permitted);
	__builtin_memcpy(t->comm, task->comm, sizeof(t->comm));
}

#define SE_PF_IO_WORKER 0x00000010

/* Fill the header for the current task. io_uring's SQPOLL and io-wq threads
 * (PF_IO_WORKER) belong to the process that owns the ring: its leader is the
 * context reported (the thread's own comm is iou-sqp-N / iou-wrk-N). */
static __always_inline void se_fill_hdr(struct se_hdr *h, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

	if (task->flags & SE_PF_IO_WORKER)
		task = task->group_leader;

	h->type = type;
	h->abi = SE_ABI_VERSION;
	h->size = sizeof(struct se_event);
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->cpu = bpf_get_smp_processor_id();
	h->flags = 0;
	se_fill_task_of(&h->task, task);
	h->task.cgroup_id = bpf_get_current_cgroup_id();
	if (h->task.pid != h->task.tid)
		h->flags |= SE_F_THREAD;
}

#endif /* SE_READ_BPF_H */
