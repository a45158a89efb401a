/**
 * decode, argument and string slots: what each family's args[i] and str[i] hold.
 *
 * Takes: `enum se_arg_slot` and `enum se_str_slot` of bpf/abi/sensor_abi.h, as
 * scripts/gen-abi.mjs carries them into abi.generated.ts (the BPF programs
 * write the same names). Gives: per-family names for the slots decoders read,
 * so no decoder holds a slot number. A slot changes in the header only.
 */
import { ArgSlot as A, StrSlot as S } from './abi.generated.js';

/** args[SE_ARG_SYSCALL]: enum se_syscall, in every family that has several syscalls. */
export const ARG_SYSCALL = A.SE_ARG_SYSCALL;

/** SE_EV_EXEC. */
export const ExecArg = { argc: A.SE_EXEC_ARG_ARGC, inode: A.SE_EXEC_ARG_INODE, stdio: A.SE_EXEC_ARG_STDIO } as const;
export const ExecStr = { filename: S.SE_EXEC_STR_FILENAME, argv: S.SE_EXEC_STR_ARGV, cwd: S.SE_EXEC_STR_CWD, exe: S.SE_EXEC_STR_EXE } as const;
/** SE_EV_FORK. */
export const ForkArg = { childPid: A.SE_FORK_ARG_CHILD_PID, childTid: A.SE_FORK_ARG_CHILD_TID, childStartNs: A.SE_FORK_ARG_CHILD_START_NS } as const;
/** SE_EV_EXIT. */
export const ExitArg = { status: A.SE_EXIT_ARG_STATUS, signal: A.SE_EXIT_ARG_SIGNAL } as const;

/** SE_EV_OPEN. */
export const OpenArg = { dirfd: A.SE_OPEN_ARG_DIRFD, flags: A.SE_OPEN_ARG_FLAGS, mode: A.SE_OPEN_ARG_MODE, inode: A.SE_OPEN_ARG_INODE } as const;
export const OpenStr = { resolved: S.SE_OPEN_STR_RESOLVED, caller: S.SE_OPEN_STR_CALLER, base: S.SE_OPEN_STR_BASE } as const;
/** Path operations: path i in slot i, the base directory of a relative path i in slot 2 + i. */
export const PathStr = { path: S.SE_PATH_STR, second: S.SE_PATH_STR_SECOND, base: S.SE_PATH_STR_BASE, secondBase: S.SE_PATH_STR_SECOND_BASE } as const;
/** SE_EV_UNLINK, SE_EV_CHMOD, SE_EV_CHOWN, SE_EV_MKDIR (after the dirfd). */
export const UnlinkArg = { flags: A.SE_UNLINK_ARG_FLAGS } as const;
export const ChmodArg = { mode: A.SE_CHMOD_ARG_MODE } as const;
export const ChownArg = { uid: A.SE_CHOWN_ARG_UID, gid: A.SE_CHOWN_ARG_GID } as const;
export const MkdirArg = { mode: A.SE_MKDIR_ARG_MODE } as const;

/** SE_EV_SETUID/SETGID: the ids asked for. */
export const IdsArg = { first: A.SE_IDS_ARG_FIRST, second: A.SE_IDS_ARG_SECOND, third: A.SE_IDS_ARG_THIRD } as const;
/** SE_EV_PTRACE. */
export const PtraceArg = { request: A.SE_PTRACE_ARG_REQUEST, targetPid: A.SE_PTRACE_ARG_PID } as const;
/** SE_EV_MODULE. */
export const ModuleArg = { fd: A.SE_MODULE_ARG_FD } as const;
export const ModuleStr = { path: S.SE_MODULE_STR_PATH, params: S.SE_MODULE_STR_PARAMS } as const;
/** SE_EV_BPF. */
export const BpfArg = { cmd: A.SE_BPF_ARG_CMD, type: A.SE_BPF_ARG_TYPE, count: A.SE_BPF_ARG_COUNT } as const;
export const BpfStr = { name: S.SE_BPF_STR_NAME } as const;
/** SE_EV_MOUNT / SE_EV_UMOUNT. */
export const MountArg = { flags: A.SE_MOUNT_ARG_FLAGS } as const;
export const MountStr = { source: S.SE_MOUNT_STR_SOURCE, target: S.SE_MOUNT_STR_TARGET, fstype: S.SE_MOUNT_STR_FSTYPE, targetBase: S.SE_MOUNT_STR_TARGET_BASE } as const;
/** SE_EV_MEMFD. */
export const MemfdArg = { flags: A.SE_MEMFD_ARG_FLAGS } as const;
export const MemfdStr = { path: S.SE_MEMFD_STR_PATH, name: S.SE_MEMFD_STR_NAME } as const;
/** SE_EV_UNSHARE and SE_EV_SETNS. */
export const UnshareArg = { flags: A.SE_UNSHARE_ARG_FLAGS } as const;
export const SetnsArg = { fd: A.SE_SETNS_ARG_FD, nstype: A.SE_SETNS_ARG_NSTYPE, inode: A.SE_SETNS_ARG_INODE } as const;
export const SetnsStr = { path: S.SE_SETNS_STR_PATH } as const;
/** SE_EV_CAPSET. */
export const CapsetArg = {
  targetPid: A.SE_CAPSET_ARG_PID,
  effective: A.SE_CAPSET_ARG_EFFECTIVE,
  permitted: A.SE_CAPSET_ARG_PERMITTED,
  inheritable: A.SE_CAPSET_ARG_INHERITABLE,
} as const;

/** SE_EV_CONNECT/ACCEPT/BIND: socket type and protocol; SE_EV_LISTEN has the backlog first. */
export const SockArg = { type: A.SE_SOCK_ARG_TYPE, protocol: A.SE_SOCK_ARG_PROTOCOL } as const;
export const ListenArg = { backlog: A.SE_LISTEN_ARG_BACKLOG, type: A.SE_LISTEN_ARG_TYPE, protocol: A.SE_LISTEN_ARG_PROTOCOL } as const;
export const SockStr = { remote: S.SE_SOCK_STR_REMOTE, local: S.SE_SOCK_STR_LOCAL } as const;

/** SE_EV_IO_URING_SETUP. */
export const IoUringSetupArg = { sqEntries: A.SE_IOU_SETUP_ARG_SQ_ENTRIES, cqEntries: A.SE_IOU_SETUP_ARG_CQ_ENTRIES, flags: A.SE_IOU_SETUP_ARG_FLAGS } as const;
/** SE_EV_TAMPER. */
export const TamperArg = { eventType: A.SE_TAMPER_ARG_TYPE, strSlot: A.SE_TAMPER_ARG_STR_SLOT } as const;
export const TamperStr = { atEntry: S.SE_TAMPER_STR_ENTRY, atExit: S.SE_TAMPER_STR_EXIT } as const;

/** SE_EV_XATTR (str: the path and its base as PathStr). */
export const XattrArg = { valueSize: A.SE_XATTR_ARG_VALUE_SIZE, flags: A.SE_XATTR_ARG_FLAGS } as const;
export const XattrStr = { name: S.SE_XATTR_STR_NAME, value: S.SE_XATTR_STR_VALUE } as const;
/** SE_EV_UTIMES. */
export const UtimesArg = { atFlags: A.SE_UTIMES_ARG_AT_FLAGS, timesNull: A.SE_UTIMES_ARG_TIMES_NULL } as const;
export const UtimesStr = { times: S.SE_UTIMES_STR_TIMES } as const;
/** SE_EV_PROC_VM_WRITE. */
export const ProcessVmArg = {
  targetPid: A.SE_PVM_ARG_PID,
  localIovCount: A.SE_PVM_ARG_LOCAL_IOVS,
  remoteIovCount: A.SE_PVM_ARG_REMOTE_IOVS,
  remoteAddress: A.SE_PVM_ARG_REMOTE_ADDR,
  requestedBytes: A.SE_PVM_ARG_BYTES,
} as const;
/** SE_EV_PRCTL. */
export const PrctlArg = { option: A.SE_PRCTL_ARG_OPTION } as const;
export const PrctlStr = { name: S.SE_PRCTL_STR_NAME, previousName: S.SE_PRCTL_STR_PREVIOUS } as const;
/** SE_EV_SETPGID. */
export const SetpgidArg = { pid: A.SE_SETPGID_ARG_PID, pgid: A.SE_SETPGID_ARG_PGID } as const;
/** SE_EV_MODULE, delete_module: the flags and the module name. */
export const ModuleUnloadArg = { flags: A.SE_MODULE_ARG_FLAGS } as const;
export const ModuleUnloadStr = { name: S.SE_MODULE_STR_NAME } as const;
