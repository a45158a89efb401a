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

/* Is the current process reported? (The sensor itself and ignored pids are not.) */
static __always_inline bool se_pid_wanted(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return tgid != se_sensor_tgid && !bpf_map_lookup_elem(&ignore_tgid, &tgid);
}

static __always_inline bool se_wanted(__u32 type)
{
	if (se_kind_wanted(type) && se_pid_wanted())
		return true;
	se_count(SE_CNT_FILTERED);
	return false;
}

static __always_inline __u32 se_tty_of(struct task_struct *task)
{
	struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
	__u32 major, minor;

	if (!tty)
		return 0;
	major = BPF_CORE_READ(tty, driver, major);
	minor = BPF_CORE_READ(tty, driver, minor_start) + BPF_CORE_READ(tty, index);
	return (major << 20) | (minor & 0xfffff);
}

static __always_inline __u32 se_pidns_of(struct task_struct *task)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);
	struct pid_namespace *ns = NULL;

	bpf_core_read(&ns, sizeof(ns), &pid->numbers[level & 31].ns);
	return ns ? BPF_CORE_READ(ns, ns.inum) : 0;
}

static __always_inline void se_fill_task_of(struct se_task *t, struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	const struct cred *cred = BPF_CORE_READ(task, cred);

	t->pid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	/* start_boottime (not start_time): the clock /proc/<pid>/stat reports,
	 * so processes seeded from /proc and seen here get the same entity id. */
	t->start_ns = BPF_CORE_READ(task, group_leader, start_boottime);
	t->ppid = BPF_CORE_READ(parent, tgid);
	t->parent_start_ns = BPF_CORE_READ(parent, group_leader, start_boottime);
	t->uid = BPF_CORE_READ(cred, uid.val);
	t->gid = BPF_CORE_READ(cred, gid.val);
	t->euid = BPF_CORE_READ(cred, euid.val);
	t->egid = BPF_CORE_READ(cred, egid.val);
	t->suid = BPF_CORE_READ(cred, suid.val);
	t->sgid = BPF_CORE_READ(cred, sgid.val);
	t->fsuid = BPF_CORE_READ(cred, fsuid.val);
	t->fsgid = BPF_CORE_READ(cred, fsgid.val);
	/* loginuid/sessionid exist only with CONFIG_AUDIT. */
	if (bpf_core_field_exists(task->loginuid)) {
		t->loginuid = BPF_CORE_READ(task, loginuid.val);
		t->sessionid = BPF_CORE_READ(task, sessionid);
	} else {
		t->loginuid = (__u32)-1;
		t->sessionid = (__u32)-1;
	}
	t->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	t->pidns = se_pidns_of(task);
	t->tty = se_tty_of(task);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
}

/* Fill the header for the current task. */
static __always_inline void se_fill_hdr(struct se_hdr *h, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();

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
