// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process control that changes what a process looks like or what another
 * process holds: cross-process memory writes and reads (process_vm_writev /
 * process_vm_readv: code injection without ptrace), comm renames
 * (prctl PR_SET_NAME: a miner calling itself "[kworker/0:1]"), new sessions
 * and process groups (setsid, setpgid: Session View's leaders, and daemons
 * detaching from their terminal). All at sys_exit with the result; no user
 * string names a file, so there is nothing to tamper-check.
 *
 * sys_enter_*: struct trace_event_raw_sys_enter { ...; long id; unsigned long args[6]; }
 * sys_exit_*:  struct trace_event_raw_sys_exit  { ...; long id; long ret; }
 */
#include "../lib/filter.bpf.h"

/*
 * process_vm_writev(pid, const struct iovec *lvec, unsigned long liovcnt,
 *                   const struct iovec *rvec, unsigned long riovcnt, unsigned long flags)
 * process_vm_readv: the same arguments.
 */
static __always_inline int se_process_vm_exit(long ret, __u32 sc)
{
	__u64 a[6], sum = 0, first = 0;
	struct se_rec r;

	if (!se_wanted(SE_EV_PROC_VM_WRITE))
		return 0;
	se_sys_args(a);
	/* The remote ranges asked for: the first SE_IOV_SCAN iovecs { base, len }. */
	for (__u32 i = 0; i < SE_IOV_SCAN; i++) {
		__u64 iov[2] = {};

		if (i >= a[4])
			break;
		if (bpf_probe_read_user(iov, sizeof(iov), (void *)(a[3] + i * sizeof(iov))))
			break;
		if (i == 0)
			first = iov[0];
		sum += iov[1];
	}
	if (!se_begin(&r, SE_EV_PROC_VM_WRITE))
		return 0;
	r.ev->ret = ret;
	r.ev->args[SE_PVM_ARG_PID] = (__u32)a[0];
	r.ev->args[SE_PVM_ARG_LOCAL_IOVS] = a[2];
	r.ev->args[SE_PVM_ARG_REMOTE_IOVS] = a[4];
	r.ev->args[SE_PVM_ARG_REMOTE_ADDR] = first;
	r.ev->args[SE_PVM_ARG_BYTES] = sum;
	r.ev->args[SE_ARG_SYSCALL] = sc;
	se_submit(&r);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_process_vm_writev")
int se_sys_exit_process_vm_writev(struct se_sys_exit_ctx *ctx)
{
	return se_process_vm_exit(ctx->ret, SE_SC_PROCESS_VM_WRITEV);
}

SEC("tracepoint/syscalls/sys_exit_process_vm_readv")
int se_sys_exit_process_vm_readv(struct se_sys_exit_ctx *ctx)
{
	return se_process_vm_exit(ctx->ret, SE_SC_PROCESS_VM_READV);
}

/*
 * prctl(option, arg2, …): PR_SET_NAME only, by a thread group leader (its
 * comm is the process's name; threads naming themselves — thread pools,
 * runtimes — are routine and not reported). The comm before the call is kept
 * at sys_enter, per thread.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, char[SE_COMM_LEN]);
} prctl_old_comm SEC(".maps") __weak;

static __always_inline bool se_prctl_reported(unsigned long option)
{
	__u64 id = bpf_get_current_pid_tgid();

	return option == SE_PR_SET_NAME && (__u32)id == (__u32)(id >> 32);
}

SEC("tracepoint/syscalls/sys_enter_prctl")
int se_sys_enter_prctl(struct se_sys_enter_ctx *ctx)
{
	char comm[SE_COMM_LEN];
	__u32 tid;

	if (!se_prctl_reported(ctx->args[0]) || !se_kind_wanted(SE_EV_PRCTL))
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	bpf_get_current_comm(comm, sizeof(comm));
	if (bpf_map_update_elem(&prctl_old_comm, &tid, comm, BPF_ANY))
		se_count(SE_CNT_ENTRY_FULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_prctl")
int se_sys_exit_prctl(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	char *old;
	struct se_rec r;

	se_sys_args(a);
	if (!se_prctl_reported(a[0]))
		return 0;
	old = bpf_map_lookup_elem(&prctl_old_comm, &tid);
	if (!se_wanted(SE_EV_PRCTL) || !se_begin(&r, SE_EV_PRCTL)) {
		if (old)
			bpf_map_delete_elem(&prctl_old_comm, &tid);
		return 0;
	}
	r.ev->ret = ctx->ret;
	r.ev->args[SE_PRCTL_ARG_OPTION] = a[0];
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_PRCTL;
	se_put_str(&r, SE_PRCTL_STR_NAME, (void *)a[1], SE_COMM_LEN, true, 0);
	if (old) {
		se_put_str(&r, SE_PRCTL_STR_PREVIOUS, old, SE_COMM_LEN, false, 0);
		bpf_map_delete_elem(&prctl_old_comm, &tid);
	} else {
		r.ev->hdr.flags |= SE_F_ENTRY_LOST;
		se_count(SE_CNT_ENTRY_MISS);
	}
	se_submit(&r);
	return 0;
}

/* setsid(void): ret the new session id */
SEC("tracepoint/syscalls/sys_exit_setsid")
int se_sys_exit_setsid(struct se_sys_exit_ctx *ctx)
{
	struct se_rec r;

	if (!se_wanted(SE_EV_SETSID) || !se_begin(&r, SE_EV_SETSID))
		return 0;
	r.ev->ret = ctx->ret;
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_SETSID;
	se_submit(&r);
	return 0;
}

/* setpgid(pid_t pid, pid_t pgid) */
SEC("tracepoint/syscalls/sys_exit_setpgid")
int se_sys_exit_setpgid(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_SETPGID) || !se_begin(&r, SE_EV_SETPGID))
		return 0;
	se_sys_args(a);
	r.ev->ret = ctx->ret;
	r.ev->args[SE_SETPGID_ARG_PID] = (__u32)a[0];
	r.ev->args[SE_SETPGID_ARG_PGID] = (__u32)a[1];
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_SETPGID;
	se_submit(&r);
	return 0;
}
