// SPDX-License-Identifier: GPL-2.0-only
/*
 * Privilege and kernel changes: the setuid/setgid families, ptrace, module
 * loads and unloads, bpf(), mounts, memfd_create, unshare/setns and capset. All at
 * sys_exit with the result; arguments from pt_regs, user structures read at
 * exit. Only mount/umount2 take strings that name paths, so only they copy
 * at sys_enter (tamper detection, as file_ops.bpf.c).
 *
 * sys_enter_*: struct trace_event_raw_sys_enter { ...; long id; unsigned long args[6]; }
 * sys_exit_*:  struct trace_event_raw_sys_exit  { ...; long id; long ret; }
 */
#include "../lib/filter.bpf.h"
#include "../lib/uapi.bpf.h"

static __always_inline int se_ids_exit(long ret, __u32 type, __u32 sc, __u32 n)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(type) || !se_begin(&r, type))
		return 0;
	se_sys_args(a);
	r.ev->ret = ret;
	r.ev->args[SE_IDS_ARG_FIRST] = a[0];
	r.ev->args[SE_IDS_ARG_SECOND] = n > 1 ? a[1] : (__u64)-1;
	r.ev->args[SE_IDS_ARG_THIRD] = n > 2 ? a[2] : (__u64)-1;
	r.ev->args[SE_ARG_SYSCALL] = sc;
	se_submit(&r);
	return 0;
}

#define IDS(name, type, sc, n)                                                       \
	SEC("tracepoint/syscalls/sys_exit_" #name)                                   \
	int se_sys_exit_##name(struct se_sys_exit_ctx *ctx)                          \
	{                                                                            \
		return se_ids_exit(ctx->ret, type, sc, n);                           \
	}

IDS(setuid, SE_EV_SETUID, SE_SC_SETUID, 1)
IDS(setreuid, SE_EV_SETUID, SE_SC_SETREUID, 2)
IDS(setresuid, SE_EV_SETUID, SE_SC_SETRESUID, 3)
IDS(setfsuid, SE_EV_SETUID, SE_SC_SETFSUID, 1)
IDS(setgid, SE_EV_SETGID, SE_SC_SETGID, 1)
IDS(setregid, SE_EV_SETGID, SE_SC_SETREGID, 2)
IDS(setresgid, SE_EV_SETGID, SE_SC_SETRESGID, 3)
IDS(setfsgid, SE_EV_SETGID, SE_SC_SETFSGID, 1)

/* ptrace(long request, long pid, unsigned long addr, unsigned long data) */
SEC("tracepoint/syscalls/sys_exit_ptrace")
int se_sys_exit_ptrace(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_PTRACE))
		return 0;
	se_sys_args(a);
	/* PEEK/POKE traffic of an established tracer (gdb stepping) is noise:
	 * report the requests that start or change a trace relationship, and
	 * every write into the tracee. */
	switch (a[0]) {
	case PTRACE_TRACEME:
	case PTRACE_POKETEXT:
	case PTRACE_POKEDATA:
	case PTRACE_POKEUSR:
	case PTRACE_SETREGS:
	case PTRACE_ATTACH:
	case PTRACE_SETREGSET:
	case PTRACE_SEIZE:
		break;
	default:
		se_count(SE_CNT_FILTERED);
		return 0;
	}
	if (!se_begin(&r, SE_EV_PTRACE))
		return 0;
	r.ev->ret = ctx->ret;
	r.ev->args[SE_PTRACE_ARG_REQUEST] = a[0];
	r.ev->args[SE_PTRACE_ARG_PID] = a[1];
	r.ev->args[SE_PTRACE_ARG_ADDR] = a[2];
	r.ev->args[SE_PTRACE_ARG_DATA] = a[3];
	se_submit(&r);
	return 0;
}

/* init_module(void *umod, unsigned long len, const char *uargs) */
static __always_inline int se_init_module_exit(long ret)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_MODULE) || !se_begin(&r, SE_EV_MODULE))
		return 0;
	se_sys_args(a);
	r.ev->ret = ret;
	r.ev->args[SE_MODULE_ARG_LEN] = a[1];
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_INIT_MODULE;
	se_put_str(&r, SE_MODULE_STR_PARAMS, (void *)a[2], 1024, true, 0);
	se_submit(&r);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_init_module")
int se_sys_exit_init_module(struct se_sys_exit_ctx *ctx)
{
	return se_init_module_exit(ctx->ret);
}

/* finit_module(int fd, const char *uargs, int flags) */
static __always_inline int se_finit_module_exit(long ret)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_MODULE) || !se_begin(&r, SE_EV_MODULE))
		return 0;
	se_sys_args(a);
	r.ev->ret = ret;
	r.ev->args[SE_MODULE_ARG_FD] = a[0];
	r.ev->args[SE_MODULE_ARG_FLAGS] = a[2];
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_FINIT_MODULE;
	se_put_file_path(&r, SE_MODULE_STR_PATH, se_fd_file((int)a[0]));
	r.ev->hdr.flags |= SE_F_PATH_FROM_FILE;
	se_put_str(&r, SE_MODULE_STR_PARAMS, (void *)a[1], 1024, true, 0);
	se_submit(&r);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_finit_module")
int se_sys_exit_finit_module(struct se_sys_exit_ctx *ctx)
{
	return se_finit_module_exit(ctx->ret);
}

/* delete_module(const char *name_user, unsigned int flags) */
static __always_inline int se_delete_module_exit(long ret)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_MODULE) || !se_begin(&r, SE_EV_MODULE))
		return 0;
	se_sys_args(a);
	r.ev->ret = ret;
	r.ev->args[SE_MODULE_ARG_FLAGS] = a[1];
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_DELETE_MODULE;
	se_put_str(&r, SE_MODULE_STR_NAME, (void *)a[0], 64, true, 0);
	se_submit(&r);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_delete_module")
int se_sys_exit_delete_module(struct se_sys_exit_ctx *ctx)
{
	return se_delete_module_exit(ctx->ret);
}

/*
 * Syscalls without a tracepoint on the running kernel (no CONFIG_MODULES: no
 * sys_exit_init_module, yet the syscall numbers still answer ENOSYS, and an
 * attempt is worth reporting). One program on the generic sys_exit, loaded
 * only when such a syscall exists; raw_syscalls maps the syscall number to
 * the syscall to report (0: not wanted), so every other syscall pays one
 * array lookup.
 *
 * tp_btf/sys_exit: TP_PROTO(struct pt_regs *regs, long ret)
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u32);
} raw_syscalls SEC(".maps") __weak;

SEC("tp_btf/sys_exit")
int BPF_PROG(se_raw_sys_exit, struct pt_regs *regs, long ret)
{
	__u32 nr = (__u32)SE_SYSCALL_NR(regs);
	__u32 *sc = bpf_map_lookup_elem(&raw_syscalls, &nr);

	if (!sc || !*sc)
		return 0;
	switch (*sc) {
	case SE_SC_INIT_MODULE:
		return se_init_module_exit(ret);
	case SE_SC_FINIT_MODULE:
		return se_finit_module_exit(ret);
	case SE_SC_DELETE_MODULE:
		return se_delete_module_exit(ret);
	}
	return 0;
}

/* bpf(int cmd, union bpf_attr *attr, unsigned int size): commands that create
 * programs, maps, links, pins or attachments. The attr is read as its first
 * 16 words; fields are found by their uapi offsets (union bpf_attr in vmlinux.h,
 * include/uapi/linux/bpf.h: a uapi layout, so no CO-RE relocation). */
#define SE_ATTR_WORDS 16
#define SE_ATTR_WORD(field) (__builtin_offsetof(union bpf_attr, field) / sizeof(__u32))
_Static_assert(SE_ATTR_WORD(prog_name) + 16 / sizeof(__u32) <= SE_ATTR_WORDS, "prog_name within the words read");
_Static_assert(SE_ATTR_WORD(map_name) + 16 / sizeof(__u32) <= SE_ATTR_WORDS, "map_name within the words read");
_Static_assert(SE_ATTR_WORD(link_create.attach_type) < SE_ATTR_WORDS, "attach type within the words read");
_Static_assert(SE_ATTR_WORD(link_create.prog_fd) == SE_ATTR_WORD(target_fd) &&
	       SE_ATTR_WORD(link_create.target_fd) == SE_ATTR_WORD(attach_bpf_fd) &&
	       SE_ATTR_WORD(link_create.attach_type) == SE_ATTR_WORD(attach_type),
	       "BPF_LINK_CREATE and BPF_PROG_ATTACH keep their fds and attach type at the same words");
SEC("tracepoint/syscalls/sys_exit_bpf")
int se_sys_exit_bpf(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	__u32 attr[SE_ATTR_WORDS] = {};
	struct se_rec r;

	if (!se_kind_wanted(SE_EV_BPF))
		return 0;
	se_sys_args(a);
	switch (a[0]) {
	case BPF_MAP_CREATE:
	case BPF_PROG_LOAD:
	case BPF_OBJ_PIN:
	case BPF_PROG_ATTACH:
	case BPF_RAW_TRACEPOINT_OPEN:
	case BPF_BTF_LOAD:
	case BPF_LINK_CREATE:
	case SE_BPF_TOKEN_CREATE:
		break;
	default:
		return 0;
	}
	if (!se_pid_wanted() || !se_begin(&r, SE_EV_BPF))
		return 0;
	bpf_probe_read_user(attr, sizeof(attr), (void *)a[1]);
	r.ev->ret = ctx->ret;
	r.ev->args[SE_BPF_ARG_CMD] = a[0];
	if (a[0] == BPF_PROG_LOAD) {
		r.ev->args[SE_BPF_ARG_TYPE] = attr[SE_ATTR_WORD(prog_type)];
		r.ev->args[SE_BPF_ARG_COUNT] = attr[SE_ATTR_WORD(insn_cnt)];
		se_put_kbytes(&r, SE_BPF_STR_NAME, &attr[SE_ATTR_WORD(prog_name)], 16, 0);
	} else if (a[0] == BPF_MAP_CREATE) {
		r.ev->args[SE_BPF_ARG_TYPE] = attr[SE_ATTR_WORD(map_type)];
		r.ev->args[SE_BPF_ARG_COUNT] = attr[SE_ATTR_WORD(max_entries)];
		se_put_kbytes(&r, SE_BPF_STR_NAME, &attr[SE_ATTR_WORD(map_name)], 16, 0);
	} else if (a[0] == BPF_LINK_CREATE || a[0] == BPF_PROG_ATTACH) {
		/* LINK_CREATE: prog_fd, target_fd, attach_type; PROG_ATTACH: target_fd,
		 * attach_bpf_fd, attach_type — at the same words (asserted above). */
		r.ev->args[SE_BPF_ARG_ATTR_FD0] = attr[SE_ATTR_WORD(link_create.prog_fd)];
		r.ev->args[SE_BPF_ARG_ATTR_FD1] = attr[SE_ATTR_WORD(link_create.target_fd)];
		r.ev->args[SE_BPF_ARG_ATTACH_TYPE] = attr[SE_ATTR_WORD(link_create.attach_type)];
	}
	se_submit(&r);
	return 0;
}

/* mount(char *dev_name, char *dir_name, char *type, unsigned long flags, void *data) */
SEC("tracepoint/syscalls/sys_enter_mount")
int se_sys_enter_mount(struct se_sys_enter_ctx *ctx)
{
	se_enter_strs(SE_EV_MOUNT, SE_SC_MOUNT, (const void *)ctx->args[0], (const void *)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_mount")
int se_sys_exit_mount(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_entry_strs *e;
	struct se_rec r;
	bool tampered = false;

	if (!se_wanted(SE_EV_MOUNT))
		return 0;
	se_sys_args(a);
	e = se_exit_strs(SE_SC_MOUNT);
	if (e) {
		tampered |= se_check_tamper(e, 0, (void *)a[0], SE_EV_MOUNT, SE_SC_MOUNT);
		tampered |= se_check_tamper(e, 1, (void *)a[1], SE_EV_MOUNT, SE_SC_MOUNT);
	}
	if (!se_begin(&r, SE_EV_MOUNT)) {
		se_entry_done(NULL, e, false);
		return 0;
	}
	r.ev->ret = ctx->ret;
	r.ev->args[SE_MOUNT_ARG_FLAGS] = a[3];
	r.ev->args[SE_ARG_SYSCALL] = SE_SC_MOUNT;
	se_put_caller_str(&r, SE_MOUNT_STR_SOURCE, e, 0, (void *)a[0]);
	/* the target's base goes to SE_MOUNT_STR_TARGET_BASE (2 + slot) */
	se_put_caller_path(&r, SE_MOUNT_STR_TARGET, e, 1, (void *)a[1], SE_AT_FDCWD);
	se_put_str(&r, SE_MOUNT_STR_FSTYPE, (void *)a[2], 64, true, 0);
	se_entry_done(&r, e, tampered);
	se_submit(&r);
	return 0;
}

/* umount2(char *name, int flags): a path operation (SE_PATH_STR, its base SE_PATH_STR_BASE) */
SEC("tracepoint/syscalls/sys_enter_umount")
int se_sys_enter_umount(struct se_sys_enter_ctx *ctx)
{
	se_enter_strs(SE_EV_UMOUNT, SE_EV_UMOUNT, (const void *)ctx->args[0], NULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_umount")
int se_sys_exit_umount(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_entry_strs *e;
	struct se_rec r;
	bool tampered = false;

	if (!se_wanted(SE_EV_UMOUNT))
		return 0;
	se_sys_args(a);
	e = se_exit_strs(SE_EV_UMOUNT);
	if (e)
		tampered = se_check_tamper(e, 0, (void *)a[0], SE_EV_UMOUNT, 0);
	if (!se_begin(&r, SE_EV_UMOUNT)) {
		se_entry_done(NULL, e, false);
		return 0;
	}
	r.ev->ret = ctx->ret;
	r.ev->args[SE_MOUNT_ARG_FLAGS] = a[1];
	se_put_caller_path(&r, SE_PATH_STR, e, 0, (void *)a[0], SE_AT_FDCWD);
	se_entry_done(&r, e, tampered);
	se_submit(&r);
	return 0;
}

/* memfd_create(const char *uname, unsigned int flags) */
SEC("tracepoint/syscalls/sys_exit_memfd_create")
int se_sys_exit_memfd_create(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_MEMFD) || !se_begin(&r, SE_EV_MEMFD))
		return 0;
	se_sys_args(a);
	r.ev->ret = ctx->ret;
	r.ev->args[SE_MEMFD_ARG_FLAGS] = a[1];
	if (ctx->ret >= 0) {
		se_put_file_path(&r, SE_MEMFD_STR_PATH, se_fd_file(ctx->ret));
		r.ev->hdr.flags |= SE_F_PATH_FROM_FILE;
	}
	se_put_str(&r, SE_MEMFD_STR_NAME, (void *)a[0], 256, true, 0);
	se_submit(&r);
	return 0;
}

/* unshare(unsigned long unshare_flags) */
SEC("tracepoint/syscalls/sys_exit_unshare")
int se_sys_exit_unshare(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_UNSHARE) || !se_begin(&r, SE_EV_UNSHARE))
		return 0;
	se_sys_args(a);
	r.ev->ret = ctx->ret;
	r.ev->args[SE_UNSHARE_ARG_FLAGS] = a[0];
	se_submit(&r);
	return 0;
}

/* setns(int fd, int flags) */
SEC("tracepoint/syscalls/sys_exit_setns")
int se_sys_exit_setns(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	struct se_rec r;

	if (!se_wanted(SE_EV_SETNS) || !se_begin(&r, SE_EV_SETNS))
		return 0;
	se_sys_args(a);
	r.ev->ret = ctx->ret;
	r.ev->args[SE_SETNS_ARG_FD] = a[0];
	r.ev->args[SE_SETNS_ARG_NSTYPE] = a[1];
	{
		struct file *f = se_fd_file((int)a[0]);
		/* nsfs names its dentries on demand ("mnt:[4026531840]"); the inode
		 * number is the namespace id. */
		r.ev->args[SE_SETNS_ARG_INODE] = BPF_CORE_READ(f, f_inode, i_ino);
		se_put_file_path(&r, SE_SETNS_STR_PATH, f);
	}
	se_submit(&r);
	return 0;
}

/* capset(cap_user_header_t header, const cap_user_data_t data) */
SEC("tracepoint/syscalls/sys_exit_capset")
int se_sys_exit_capset(struct se_sys_exit_ctx *ctx)
{
	__u64 a[6];
	__u32 hdr[2] = {}, data[6] = {};
	struct se_rec r;

	if (!se_wanted(SE_EV_CAPSET) || !se_begin(&r, SE_EV_CAPSET))
		return 0;
	se_sys_args(a);
	bpf_probe_read_user(hdr, sizeof(hdr), (void *)a[0]);
	bpf_probe_read_user(data, sizeof(data), (void *)a[1]);
	r.ev->ret = ctx->ret;
	r.ev->args[SE_CAPSET_ARG_PID] = hdr[1];
	/* v2/v3: two {effective, permitted, inheritable} words, low then high */
	r.ev->args[SE_CAPSET_ARG_EFFECTIVE] = (__u64)data[0] | ((__u64)data[3] << 32);
	r.ev->args[SE_CAPSET_ARG_PERMITTED] = (__u64)data[1] | ((__u64)data[4] << 32);
	r.ev->args[SE_CAPSET_ARG_INHERITABLE] = (__u64)data[2] | ((__u64)data[5] << 32);
	se_submit(&r);
	return 0;
}

