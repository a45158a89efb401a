// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process exec, at the point of no return. The file actually executed comes
 * from bprm->file (kernel truth), the name as given from bprm->filename (the
 * kernel's copy, so it cannot be rewritten by the caller), argv from the new
 * image's mm.
 *
 * TP_PROTO(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
 */
#include "../lib/emit.bpf.h"

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

SEC("tp_btf/sched_process_exec")
int BPF_PROG(se_sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct se_rec r;
	struct file *f;
	struct path pwd = {};

	if (!se_wanted(SE_EV_EXEC))
		return 0;
	if (!se_begin(&r, SE_EV_EXEC))
		return 0;
	f = BPF_CORE_READ(bprm, file);
	r.ev->ret = 0;
	r.ev->args[0] = BPF_CORE_READ(bprm, argc);
	r.ev->args[1] = old_pid;
	r.ev->args[2] = BPF_CORE_READ(f, f_inode, i_ino);
	r.ev->args[3] = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	r.ev->args[5] = SE_SC_EXECVE;
	se_put_str(&r, 0, BPF_CORE_READ(bprm, filename), SE_PATH_MAX, false, 0);
	se_put_argv(&r, 1, p);
	bpf_core_read(&pwd, sizeof(pwd), &p->fs->pwd);
	se_put_path(&r, 2, pwd.dentry, pwd.mnt);
	se_put_file_path(&r, 3, f);
	r.ev->hdr.flags |= SE_F_PATH_FROM_FILE;
	se_submit(&r);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
