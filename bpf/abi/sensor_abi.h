/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */
/*
 * sensor_abi.h — the one ABI between the BPF programs, the native addon and the
 * TypeScript decoder. Nothing else is shared between bpf/ and native/.
 *
 * Every record that crosses the ring buffer has the same framing:
 *
 *   offset 0                                                          size
 *   +-------------------+--------------------+-----------------------+
 *   | se_event.hdr      | se_event.ret,      | string/blob data      |
 *   | (struct se_hdr:   | .args[SE_ARGS],    | referenced by str[i]  |
 *   | type abi size ...)| .str[SE_STR_SLOTS] |                       |
 *   +-------------------+--------------------+-----------------------+
 *   |<------ sizeof(struct se_event) ------->|<- variable, < 20 KiB ->|
 *
 *   - se_hdr.size is the number of meaningful bytes in the record; the kernel
 *     pads ring buffer records to 8 bytes.
 *   - str[i] = { off, len, flags }: off is relative to the record start; a
 *     descriptor with len == 0 and no SE_STR_PRESENT flag is absent.
 *   - the meaning of ret, args[] and str[] depends on se_hdr.type and is
 *     documented next to each type below and in docs/kernel.md.
 *
 * The addon hands records to JavaScript as frames: u32 length (LE) followed by
 * the record bytes, padded to 8 bytes.
 *
 * Rules: fixed-width types only, explicit zeroed padding, enums rather than
 * #define (enums reach BTF, which is where the TypeScript layout is generated
 * from), event type numbers are never reused, SE_ABI_VERSION is bumped on any
 * layout change.
 */
#ifndef SENSOR_ABI_H
#define SENSOR_ABI_H

#ifdef __BPF__
/* vmlinux.h provides __u8..__u64 in BPF builds. */
#else
#include <linux/types.h>
#endif

enum se_abi_consts {
	SE_ABI_VERSION = 3,
	SE_COMM_LEN = 16,
	SE_STR_SLOTS = 4,
	SE_ARGS = 6,
	/* Longest path the kernel side reports; longer paths are cut and flagged
	 * SE_STR_TRUNCATED (never silently). PATH_MAX-sized syscall strings fit. */
	SE_PATH_MAX = 4096,
	/* argv bytes (NUL-separated) captured at exec. */
	SE_ARGV_MAX = 4096,
	/* Strings start below SE_SCRATCH_SIZE (offsets are masked with it, which
	 * keeps the verifier satisfied) and one string is at most SE_PATH_MAX, so a
	 * record never exceeds SE_RECORD_MAX. Per-CPU map values are limited to
	 * 32 KiB by the kernel, which sets these sizes. */
	SE_SCRATCH_SIZE = 16384,
	SE_RECORD_MAX = 20480,
	/* xattr values captured (security.capability is 20-24 bytes, SELinux labels are short). */
	SE_XATTR_VALUE_MAX = 256,
	/* remote iovecs of process_vm_writev/readv whose lengths are summed. */
	SE_IOV_SCAN = 8,
	/* Environment variables captured at exec (struct se_exec_ext): bytes
	 * kept (NAME=value, NUL-separated), longest allow-listed name + NUL,
	 * bytes read per step of the scan, variables (and long-variable steps)
	 * scanned at most. */
	SE_ENV_MAX = 2048,
	SE_ENV_NAME_MAX = 32,
	SE_ENV_READ = 4096,
	SE_ENV_SCAN_MAX = 1024,
};

/* Event types. Numbers are stable and never reused. */
enum se_event_type {
	SE_EV_NONE = 0,
	/* process */
	SE_EV_EXEC = 1,     /* followed by struct se_exec_ext (ABI 3+; its strings come after it);
	                       str: 0 filename (kernel copy; caller's on failure), 1 argv (NUL-sep), 2 cwd
	                       (dirfd's path for a failed execveat), 3 exe (resolved bprm->file, success only)
	                       args: 0 argc, 1 old pid (success) / dirfd (failure), 2 exe inode, 3 exe dev,
	                       4 stdio: enum se_fd_kind of fd 0 | fd 1 << 8 | fd 2 << 16, 5 syscall */
	SE_EV_FORK = 2,     /* args: 0 child pid, 1 child tid, 2 child start ns, 3 clone is thread (0/1) */
	SE_EV_EXIT = 3,     /* args: 0 status as wait(2) encodes it, 1 terminating signal (0 = none), 2 group dead */
	/* file. String slots of path operations: path i in slot i, the base
	 * directory (dirfd or cwd, kernel-resolved) of a relative path i in slot 2 + i. */
	SE_EV_OPEN = 10,    /* ret fd; args: 0 dirfd, 1 flags, 2 mode, 3 inode, 4 dev, 5 syscall
	                       str: 0 resolved path (struct file), 1 caller string, 2 base (failed relative opens) */
	SE_EV_UNLINK = 11,  /* args: 0 dirfd, 1 flags (AT_REMOVEDIR), 5 syscall; str: 0 path, 2 base */
	SE_EV_RENAME = 12,  /* args: 0 olddirfd, 1 newdirfd, 2 flags, 5 syscall; str: 0 old, 1 new, 2 old base, 3 new base */
	SE_EV_CHMOD = 13,   /* args: 0 dirfd/fd, 1 mode, 2 flags, 5 syscall; str: 0 path (from the fd for fchmod), 2 base */
	SE_EV_CHOWN = 14,   /* args: 0 dirfd/fd, 1 uid, 2 gid, 3 flags, 5 syscall; str: 0 path, 2 base */
	SE_EV_LINK = 15,    /* args: 0 olddirfd, 1 newdirfd, 2 flags, 5 syscall; str: 0 old, 1 new, 2 old base, 3 new base */
	SE_EV_SYMLINK = 16, /* args: 0 newdirfd, 5 syscall; str: 0 target (verbatim), 1 linkpath, 3 linkpath base */
	SE_EV_TRUNCATE = 17,/* args: 0 dirfd/fd, 1 length, 5 syscall; str: 0 path (from the fd for ftruncate), 2 base */
	SE_EV_MKDIR = 18,   /* args: 0 dirfd, 1 mode, 5 syscall; str: 0 path, 2 base */
	SE_EV_XATTR = 19,   /* setxattr/removexattr families: args: 0 dirfd/fd, 1 value size (set), 2 flags
	                       (XATTR_CREATE/REPLACE), 3 AT_* flags (the *at variants), 5 syscall;
	                       str: 0 path (from the fd for f*: SE_F_PATH_FROM_FILE), 1 attribute name, 2 base,
	                       3 value (set: its first SE_XATTR_VALUE_MAX bytes, SE_STR_BLOB) */
	SE_EV_UTIMES = 20,  /* utimensat/futimesat/utimes/utime: args: 0 dirfd/fd, 1 AT_* flags, 2 times were NULL
	                       (both "now"), 5 syscall; str: 0 path (from the fd when the path is NULL), 1 the times
	                       asked for (struct se_utimes, SE_STR_BLOB; absent when NULL), 2 base */
	/* privilege and kernel */
	SE_EV_SETUID = 30,  /* args: 0..2 requested ids (u32, -1 = unchanged / not an argument), 5 syscall */
	SE_EV_SETGID = 31,  /* args: 0..2 requested ids, 5 syscall */
	SE_EV_PTRACE = 32,  /* args: 0 request, 1 target pid, 2 addr, 3 data */
	SE_EV_MODULE = 33,  /* args: 0 fd (finit) or len (init), 1 flags, 5 syscall; str: 0 module file path, 1 param string,
	                       2 module name (delete_module) */
	SE_EV_BPF = 34,     /* args: 0 cmd, 1 prog/map type, 2 insn count / max entries (link/attach: 1, 2 the attr's
	                       first two fds), 3 attach type; str: 0 object name */
	SE_EV_MOUNT = 35,   /* args: 0 flags, 5 syscall; str: 0 source (verbatim), 1 target, 2 fstype, 3 target base */
	SE_EV_UMOUNT = 36,  /* args: 0 flags; str: 0 target, 2 base */
	SE_EV_MEMFD = 37,   /* ret fd; args: 0 flags; str: 0 resolved path, 1 name */
	SE_EV_UNSHARE = 38, /* args: 0 flags */
	SE_EV_SETNS = 39,   /* args: 0 fd, 1 nstype; str: 0 namespace file path */
	SE_EV_CAPSET = 40,  /* args: 0 target pid, 1 effective, 2 permitted, 3 inheritable (low | high << 32) */
	SE_EV_PROC_VM_WRITE = 41, /* process_vm_writev (and process_vm_readv: args 5): ret bytes copied;
	                       args: 0 target pid, 1 local iov count, 2 remote iov count, 3 first remote address,
	                       4 bytes the remote iovecs ask for (the first SE_IOV_SCAN), 5 syscall */
	SE_EV_PRCTL = 42,   /* prctl(PR_SET_NAME) by a thread group leader: args: 0 option, 5 syscall;
	                       str: 0 new name (caller string), 1 comm before the call */
	SE_EV_SETSID = 43,  /* ret the new session id; the header's sid/pgid are those after the call */
	SE_EV_SETPGID = 44, /* args: 0 pid (0: self), 1 pgid (0: the pid) as asked; ret 0 or -errno */
	/* network; str 0 = remote address blob, 1 = local address blob (struct se_sockaddr) */
	SE_EV_CONNECT = 50, /* args: 0 fd, 1 sock type, 2 protocol */
	SE_EV_ACCEPT = 51,  /* ret fd; args: 0 listening fd, 1 sock type, 2 protocol, 3 flags, 5 syscall */
	SE_EV_BIND = 52,    /* args: 0 fd, 1 sock type, 2 protocol */
	SE_EV_LISTEN = 53,  /* args: 0 fd, 1 backlog, 2 sock type, 3 protocol */
	/* io_uring (operations submitted through a ring are the families above,
	 * flagged SE_F_IO_URING with their opcode) */
	SE_EV_IO_URING_SETUP = 60, /* ret fd; args: 0 sq entries, 1 cq entries, 2 setup flags (IORING_SETUP_*) */
	/* sensor */
	SE_EV_TAMPER = 90,  /* argument changed between entry and exit: args: 0 event type, 1 str slot, 5 syscall;
	                       str: 0 string at entry, 1 string at exit */
	SE_EV_TYPE_MAX = 127,
};

/* Which syscall produced an event (args[SE_ARG_SYSCALL] of families with several). */
enum se_syscall {
	SE_SC_NONE = 0,
	SE_SC_OPEN = 1, SE_SC_OPENAT = 2, SE_SC_OPENAT2 = 3, SE_SC_CREAT = 4,
	SE_SC_UNLINK = 10, SE_SC_UNLINKAT = 11, SE_SC_RMDIR = 12,
	SE_SC_RENAME = 20, SE_SC_RENAMEAT = 21, SE_SC_RENAMEAT2 = 22,
	SE_SC_CHMOD = 30, SE_SC_FCHMOD = 31, SE_SC_FCHMODAT = 32, SE_SC_FCHMODAT2 = 33,
	SE_SC_CHOWN = 40, SE_SC_FCHOWN = 41, SE_SC_LCHOWN = 42, SE_SC_FCHOWNAT = 43,
	SE_SC_LINK = 50, SE_SC_LINKAT = 51, SE_SC_SYMLINK = 52, SE_SC_SYMLINKAT = 53,
	SE_SC_TRUNCATE = 60, SE_SC_FTRUNCATE = 61,
	SE_SC_MKDIR = 65, SE_SC_MKDIRAT = 66,
	SE_SC_SETUID = 70, SE_SC_SETREUID = 71, SE_SC_SETRESUID = 72, SE_SC_SETFSUID = 73,
	SE_SC_SETGID = 75, SE_SC_SETREGID = 76, SE_SC_SETRESGID = 77, SE_SC_SETFSGID = 78,
	SE_SC_INIT_MODULE = 80, SE_SC_FINIT_MODULE = 81,
	SE_SC_MOUNT = 85, SE_SC_MOVE_MOUNT = 86, SE_SC_FSMOUNT = 87,
	SE_SC_ACCEPT = 90, SE_SC_ACCEPT4 = 91,
	SE_SC_EXECVE = 95, SE_SC_EXECVEAT = 96,
	/* A write submitted through an io_uring ring (IORING_OP_WRITE, _WRITE_FIXED / _WRITEV):
	 * an SE_EV_OPEN record of the written file (ret: bytes written or -errno; args 1: f_flags). */
	SE_SC_WRITE = 130, SE_SC_WRITEV = 131,
	/* 100..129: the hooks of issue 17 (xattr, times, injection, names, sessions, module unload) */
	SE_SC_DELETE_MODULE = 100,
	SE_SC_SETXATTR = 101, SE_SC_LSETXATTR = 102, SE_SC_FSETXATTR = 103, SE_SC_SETXATTRAT = 104,
	SE_SC_REMOVEXATTR = 105, SE_SC_LREMOVEXATTR = 106, SE_SC_FREMOVEXATTR = 107, SE_SC_REMOVEXATTRAT = 108,
	SE_SC_UTIMENSAT = 110, SE_SC_FUTIMESAT = 111, SE_SC_UTIMES = 112, SE_SC_UTIME = 113,
	SE_SC_PROCESS_VM_WRITEV = 115, SE_SC_PROCESS_VM_READV = 116,
	SE_SC_PRCTL = 118,
	SE_SC_SETSID = 120, SE_SC_SETPGID = 121,
};

/*
 * Argument and string slots: which se_event.args[i] and .str[i] hold each
 * family's facts (the comments of enum se_event_type above, as names). The
 * programs write these slots and the decoder reads them by the same names
 * (scripts/gen-abi.mjs carries them into src/decode/abi.generated.ts, which
 * src/decode/slots.ts reads), so a slot is defined here and nowhere else.
 * Several names share a number: a slot's meaning depends on the family.
 */
enum se_arg_slot {
	SE_ARG_SYSCALL = 5,             /* enum se_syscall, in every family that has several */
	/* SE_EV_EXEC */
	SE_EXEC_ARG_ARGC = 0, SE_EXEC_ARG_OLD_PID = 1, SE_EXEC_ARG_DIRFD = 1, SE_EXEC_ARG_INODE = 2,
	SE_EXEC_ARG_DEV = 3, SE_EXEC_ARG_STDIO = 4,
	/* SE_EV_FORK, SE_EV_EXIT */
	SE_FORK_ARG_CHILD_PID = 0, SE_FORK_ARG_CHILD_TID = 1, SE_FORK_ARG_CHILD_START_NS = 2, SE_FORK_ARG_THREAD = 3,
	SE_EXIT_ARG_STATUS = 0, SE_EXIT_ARG_SIGNAL = 1, SE_EXIT_ARG_GROUP_DEAD = 2,
	/* SE_EV_OPEN */
	SE_OPEN_ARG_DIRFD = 0, SE_OPEN_ARG_FLAGS = 1, SE_OPEN_ARG_MODE = 2, SE_OPEN_ARG_INODE = 3, SE_OPEN_ARG_DEV = 4,
	/* path operations: the dirfd (or fd) first */
	SE_PATH_ARG_DIRFD = 0,
	SE_UNLINK_ARG_FLAGS = 1,
	SE_CHMOD_ARG_MODE = 1,
	SE_CHOWN_ARG_UID = 1, SE_CHOWN_ARG_GID = 2,
	SE_MKDIR_ARG_MODE = 1,
	SE_XATTR_ARG_VALUE_SIZE = 1, SE_XATTR_ARG_FLAGS = 2, SE_XATTR_ARG_AT_FLAGS = 3,
	SE_UTIMES_ARG_AT_FLAGS = 1, SE_UTIMES_ARG_TIMES_NULL = 2,
	/* privilege and kernel */
	SE_IDS_ARG_FIRST = 0, SE_IDS_ARG_SECOND = 1, SE_IDS_ARG_THIRD = 2,
	SE_PTRACE_ARG_REQUEST = 0, SE_PTRACE_ARG_PID = 1, SE_PTRACE_ARG_ADDR = 2, SE_PTRACE_ARG_DATA = 3,
	SE_MODULE_ARG_FD = 0, SE_MODULE_ARG_LEN = 0, SE_MODULE_ARG_FLAGS = 1,
	SE_BPF_ARG_CMD = 0, SE_BPF_ARG_TYPE = 1, SE_BPF_ARG_COUNT = 2, SE_BPF_ARG_ATTACH_TYPE = 3,
	SE_BPF_ARG_ATTR_FD0 = 1, SE_BPF_ARG_ATTR_FD1 = 2, /* BPF_LINK_CREATE, BPF_PROG_ATTACH: the attr's first two fds */
	SE_MOUNT_ARG_FLAGS = 0,
	SE_MEMFD_ARG_FLAGS = 0,
	SE_UNSHARE_ARG_FLAGS = 0,
	SE_SETNS_ARG_FD = 0, SE_SETNS_ARG_NSTYPE = 1, SE_SETNS_ARG_INODE = 2,
	SE_CAPSET_ARG_PID = 0, SE_CAPSET_ARG_EFFECTIVE = 1, SE_CAPSET_ARG_PERMITTED = 2, SE_CAPSET_ARG_INHERITABLE = 3,
	SE_PVM_ARG_PID = 0, SE_PVM_ARG_LOCAL_IOVS = 1, SE_PVM_ARG_REMOTE_IOVS = 2, SE_PVM_ARG_REMOTE_ADDR = 3,
	SE_PVM_ARG_BYTES = 4,
	SE_PRCTL_ARG_OPTION = 0,
	SE_SETPGID_ARG_PID = 0, SE_SETPGID_ARG_PGID = 1,
	/* network: SE_EV_CONNECT/ACCEPT/BIND; SE_EV_LISTEN has the backlog first */
	SE_SOCK_ARG_FD = 0, SE_SOCK_ARG_TYPE = 1, SE_SOCK_ARG_PROTOCOL = 2, SE_ACCEPT_ARG_FLAGS = 3,
	SE_LISTEN_ARG_BACKLOG = 1, SE_LISTEN_ARG_TYPE = 2, SE_LISTEN_ARG_PROTOCOL = 3,
	/* SE_EV_IO_URING_SETUP, SE_EV_TAMPER */
	SE_IOU_SETUP_ARG_SQ_ENTRIES = 0, SE_IOU_SETUP_ARG_CQ_ENTRIES = 1, SE_IOU_SETUP_ARG_FLAGS = 2,
	SE_TAMPER_ARG_TYPE = 0, SE_TAMPER_ARG_STR_SLOT = 1,
};

enum se_str_slot {
	/* path operations: path i in slot i, the base directory of a relative path i in slot 2 + i */
	SE_PATH_STR = 0, SE_PATH_STR_SECOND = 1, SE_PATH_STR_BASE = 2, SE_PATH_STR_SECOND_BASE = 3,
	SE_EXEC_STR_FILENAME = 0, SE_EXEC_STR_ARGV = 1, SE_EXEC_STR_CWD = 2, SE_EXEC_STR_EXE = 3,
	SE_OPEN_STR_RESOLVED = 0, SE_OPEN_STR_CALLER = 1, SE_OPEN_STR_BASE = 2,
	SE_XATTR_STR_NAME = 1, SE_XATTR_STR_VALUE = 3,
	SE_UTIMES_STR_TIMES = 1,
	SE_MODULE_STR_PATH = 0, SE_MODULE_STR_PARAMS = 1, SE_MODULE_STR_NAME = 2,
	SE_BPF_STR_NAME = 0,
	SE_MOUNT_STR_SOURCE = 0, SE_MOUNT_STR_TARGET = 1, SE_MOUNT_STR_FSTYPE = 2, SE_MOUNT_STR_TARGET_BASE = 3,
	SE_MEMFD_STR_PATH = 0, SE_MEMFD_STR_NAME = 1,
	SE_SETNS_STR_PATH = 0,
	SE_PRCTL_STR_NAME = 0, SE_PRCTL_STR_PREVIOUS = 1,
	SE_SOCK_STR_REMOTE = 0, SE_SOCK_STR_LOCAL = 1,
	SE_TAMPER_STR_ENTRY = 0, SE_TAMPER_STR_EXIT = 1,
};

/* se_hdr.flags */
enum se_record_flags {
	SE_F_NONE = 0,
	SE_F_ARGV_TRUNCATED = 1 << 0,   /* argv longer than SE_ARGV_MAX */
	SE_F_ENTRY_LOST = 1 << 1,       /* entry state missing (map full or sensor started mid-syscall) */
	SE_F_TAMPERED = 1 << 2,         /* a caller string changed between entry and exit */
	SE_F_PATH_FROM_FILE = 1 << 3,   /* str 0 resolved from struct file (kernel truth) */
	SE_F_CONTAINER_ROOT = 1 << 4,   /* the task's root differs from init's root (chroot/container) */
	SE_F_THREAD = 1 << 5,           /* the acting task is not the thread group leader (io_uring's SQPOLL and
	                                   io-wq threads are reported as their process's leader: the ring owner) */
	SE_F_KILLED = 1 << 6,           /* the kernel sent SIGKILL for an in-kernel kill rule (see below) */
	SE_F_IO_URING = 1 << 7,         /* submitted through an io_uring ring; bits 8..15: the IORING_OP_* opcode */
	SE_F_IOU_OP_SHIFT = 8,
	/* bits 16..31: index + 1 of the kill rule that matched (0 = none) */
	SE_F_KILL_RULE_SHIFT = 16,
};

/* In-kernel kill rules (maps "kill_exact", "kill_prefix"): what a rule that the
 * kernel can decide matches. The key's first byte is the kind. */
enum se_kill_kind {
	SE_KILL_EXEC = 1,       /* process.executable */
	SE_KILL_OPEN = 2,       /* file.path of any open */
	SE_KILL_OPEN_WRITE = 3, /* file.path of an open with write intent */
};

struct se_kill_key {
	__u32 prefixlen;        /* bits of data[] (LPM); the whole key for the exact map */
	__u8 data[256];         /* kind byte, then the path (NUL-padded) */
};

/* What a file descriptor is (exec's stdio). A shell whose stdin or stdout is
 * an internet socket is a reverse shell. */
enum se_fd_kind {
	SE_FD_NONE = 0,
	SE_FD_FILE = 1,
	SE_FD_DIR = 2,
	SE_FD_CHAR = 3,         /* ttys, /dev/null */
	SE_FD_FIFO = 4,
	SE_FD_SOCK_INET = 5,    /* AF_INET / AF_INET6 */
	SE_FD_SOCK_UNIX = 6,
	SE_FD_SOCK_OTHER = 7,
	SE_FD_OTHER = 8,
};

/* se_str.flags */
enum se_str_flags {
	SE_STR_PRESENT = 1 << 0,
	SE_STR_TRUNCATED = 1 << 1,      /* longer than the capture limit; the bytes kept are the tail for
	                                   resolved paths (leaf side) and the head for caller strings */
	SE_STR_FAULT = 1 << 2,          /* user memory could not be read */
	SE_STR_RELATIVE = 1 << 3,       /* caller string is relative; base holds the dirfd/cwd path */
	SE_STR_DELETED = 1 << 4,        /* resolved file is unlinked (d_unlinked) */
	SE_STR_BLOB = 1 << 5,           /* binary blob (sockaddr), not text */
	SE_STR_ENTRY_COPY = 1 << 6,     /* copied at syscall entry */
};

struct se_str {
	__u16 off;
	__u16 len;
	__u16 flags;
	__u16 _pad;
};

/* Process context captured in the kernel with every record. */
struct se_task {
	__u64 start_ns;         /* thread group leader start_boottime (ns since boot) */
	__u64 parent_start_ns;  /* real parent's group leader start_boottime */
	__u64 cgroup_id;        /* cgroup v2 id (bpf_get_current_cgroup_id) */
	__u32 pid;              /* tgid */
	__u32 tid;
	__u32 ppid;             /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 suid;
	__u32 sgid;
	__u32 fsuid;
	__u32 fsgid;
	__u32 loginuid;         /* audit login uid, 4294967295 when unset */
	__u32 sessionid;        /* audit session id */
	__u32 mntns;            /* mount namespace inode number */
	__u32 pidns;            /* pid namespace inode number */
	__u32 tty;              /* controlling tty: major << 20 | minor, 0 when none */
	__u32 sid;              /* session id (the session leader's tgid, initial pid namespace) */
	__u32 pgid;             /* process group id (the group leader's tgid, initial pid namespace) */
	__u64 cap_effective;    /* effective capability set (bit n = capability n) */
	__u64 cap_permitted;    /* permitted capability set */
	char comm[SE_COMM_LEN];
};

struct se_hdr {
	__u16 type;             /* enum se_event_type */
	__u16 abi;              /* SE_ABI_VERSION */
	__u32 size;             /* meaningful bytes in the record */
	__u64 ts_ns;            /* bpf_ktime_get_boot_ns() */
	__u32 cpu;
	__u32 flags;            /* enum se_record_flags */
	struct se_task task;
};

struct se_event {
	struct se_hdr hdr;
	__s64 ret;              /* syscall result; negative errno on failure */
	__u64 args[SE_ARGS];
	struct se_str str[SE_STR_SLOTS];
	/* variable data follows */
};

/* Key of the "env_allow" hash: an environment variable's name, NUL-padded. */
struct se_env_key {
	__u8 name[SE_ENV_NAME_MAX];
};

/* Socket address blob carried in a SE_STR_BLOB string. */
struct se_sockaddr {
	__u16 family;           /* AF_INET, AF_INET6, AF_UNIX */
	__u16 port;             /* host byte order */
	__u32 _pad;
	__u8 addr[16];          /* IPv4 in the first 4 bytes */
	/* AF_UNIX: the path follows (up to 108 bytes, abstract names start with NUL) */
};

/*
 * Provenance of the executed file (struct se_exec_ext): the process that last
 * opened it for writing (or wrote to it through an io_uring ring), as the
 * kernel's LRU map "prov_file" (keyed by the file's dev + inode) remembered it.
 */
enum se_prov_flags {
	SE_PROV_KNOWN = 1 << 0,         /* a writer is known (otherwise every prov_* field is 0) */
	SE_PROV_CONNECTED = 1 << 1,     /* the writer had connected out before writing */
	SE_PROV_CONNECTED_PARENT = 1 << 2, /* an ancestor had connected out before forking it (inherited) */
	SE_PROV_CREATE = 1 << 3,        /* the write opened with O_CREAT or O_TRUNC (created or replaced the content) */
	SE_PROV_IO_URING = 1 << 4,      /* the write went through an io_uring ring */
	SE_PROV_EXE_UNKNOWN = 1 << 5,   /* the writer's executable is no longer known (prov_exe absent) */
};

/* Exec records (SE_EV_EXEC) carry this right after struct se_event; their
 * strings follow it. Fields are only ever added at its end. */
struct se_exec_ext {
	__u64 prov_write_ns;    /* boot ns of the writer's last write; 0: no writer known */
	__u64 prov_start_ns;    /* the writer's leader start_boottime (its entity with prov_pid) */
	__u32 prov_pid;         /* the writer's tgid */
	__u32 prov_uid;         /* the writer's euid */
	__u32 prov_flags;       /* enum se_prov_flags */
	__u32 _pad0;
	char prov_comm[SE_COMM_LEN];
	struct se_str prov_exe; /* the writer's executable (path tail), offset in this record */
	struct se_str env;      /* success, SE_FL_ENV_VARS: the new image's environment variables whose names
	                           are in env_allow, as NAME=value strings, NUL-separated, in environment order;
	                           SE_STR_TRUNCATED when one did not fit in SE_ENV_MAX or the scan stopped early */
	__u32 env_count;        /* variables in the new image's environment (all of them; 0 when not scanned) */
	__u32 _pad1;
};

/* The times a utimes-family call asked for (a SE_STR_BLOB string of SE_EV_UTIMES),
 * microseconds of utimes/futimesat made nanoseconds; tv_nsec may be UTIME_NOW
 * ((1 << 30) - 1) or UTIME_OMIT ((1 << 30) - 2) as the caller wrote it. */
struct se_utimes {
	__s64 atime_sec;
	__s64 atime_nsec;
	__s64 mtime_sec;
	__s64 mtime_nsec;
};

/* Per-CPU counters (map "counters"); every failure path is counted. */
enum se_counter {
	SE_CNT_EMITTED = 0,         /* records submitted */
	SE_CNT_LOST = 1,            /* ring buffer full: record could not be submitted */
	SE_CNT_FILTERED = 2,        /* dropped by an in-kernel filter */
	SE_CNT_TRUNCATED = 3,       /* a string was cut at a capture limit */
	SE_CNT_ENTRY_MISS = 4,      /* sys_exit without entry state */
	SE_CNT_ENTRY_FULL = 5,      /* entry state map full */
	SE_CNT_READ_FAULT = 6,      /* user memory read failed */
	SE_CNT_PATH_DEPTH = 7,      /* path walk hit its depth bound */
	SE_CNT_WAKEUPS = 8,         /* forced reader wakeups */
	SE_CNT_TAMPER = 9,          /* argument tampering detected */
	SE_CNT_MAX = 16,
};

/* Config map "filter_cfg" (one entry) written by user space from the compiled rules. */
enum se_filter_flags {
	SE_FL_OPEN_READS = 1 << 0,          /* report read-only opens (otherwise only names/prefixes of interest) */
	SE_FL_FAILED_READS = 1 << 1,        /* report every failed read-only open (otherwise only names/prefixes of interest) */
	SE_FL_ALL_PATHS = 1 << 2,           /* disable path prefix filtering for file events */
	SE_FL_THREADS = 1 << 3,             /* report thread creation (clone with CLONE_THREAD) */
	SE_FL_READ_PREFIXES = 1 << 4,       /* check path prefixes for read-only opens too (costs a path walk) */
	SE_FL_KILL_RULES = 1 << 5,          /* in-kernel kill rules are installed (else the kill check is skipped) */
	SE_FL_IGNORE_CGROUPS = 1 << 6,      /* ignore_cgroup holds cgroups whose processes are never reported */
	SE_FL_PROV_LOOPBACK = 1 << 8,       /* provenance: a connect to a loopback address counts as connecting out */
	SE_FL_ENV_VARS = 1 << 7,            /* capture the environment variables named in env_allow at exec */
};

struct se_filter_cfg {
	__u64 kinds;            /* bit (type) set: event type wanted */
	__u64 kinds_hi;         /* types 64..127 */
	__u32 flags;            /* enum se_filter_flags */
	__u32 wakeup_bytes;     /* wake the reader when this much data is pending */
};

/* Key of the "path_prefix" LPM trie: prefixlen in bits over data. */
struct se_prefix_key {
	__u32 prefixlen;
	__u8 data[256];
};

/* Value of the "path_prefix" and "name_of_interest" maps: the outcomes of
 * read-only opens the entry is wanted for (other file events test any bit).
 * A prefix's value includes the bits of every shorter prefix covering it
 * (the LPM trie answers with the longest match only). */
enum se_interest {
	SE_INTEREST_OK = 1 << 0,        /* successful read-only opens */
	SE_INTEREST_FAILED = 1 << 1,    /* failed read-only opens */
	SE_INTEREST_ANY = 3,
};

/* Key of the "name_of_interest" hash: a file name (leaf), NUL-padded. */
struct se_name_key {
	__u8 name[64];
};

#ifndef __cplusplus
_Static_assert(sizeof(struct se_str) == 8, "se_str layout");
_Static_assert(sizeof(struct se_task) == 128, "se_task layout");
_Static_assert(sizeof(struct se_hdr) == 152, "se_hdr layout");
_Static_assert(sizeof(struct se_event) == 240, "se_event layout");
_Static_assert(sizeof(struct se_env_key) == 32, "se_env_key layout");
_Static_assert(sizeof(struct se_sockaddr) == 24, "se_sockaddr layout");
_Static_assert(sizeof(struct se_exec_ext) == 72, "se_exec_ext layout");
_Static_assert(sizeof(struct se_utimes) == 32, "se_utimes layout");
_Static_assert(sizeof(struct se_filter_cfg) == 24, "se_filter_cfg layout");
_Static_assert(sizeof(struct se_kill_key) == 260, "se_kill_key layout");
/* bpf/programs/net.bpf.c writes the protocol right after the socket type. */
_Static_assert(SE_SOCK_ARG_PROTOCOL == SE_SOCK_ARG_TYPE + 1 && SE_LISTEN_ARG_PROTOCOL == SE_LISTEN_ARG_TYPE + 1,
	       "socket type and protocol slots are adjacent");
/* A relative path's base is in slot 2 + the path's slot (syscall.bpf.h se_put_caller_path). */
_Static_assert(SE_PATH_STR_BASE == SE_PATH_STR + 2 && SE_PATH_STR_SECOND_BASE == SE_PATH_STR_SECOND + 2 &&
	       SE_MOUNT_STR_TARGET_BASE == SE_MOUNT_STR_TARGET + 2,
	       "base slots are 2 + the path slot");
#endif

#endif /* SENSOR_ABI_H */
