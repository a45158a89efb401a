/**
 * decode, argument and string slots: what each family's args[i] and str[i] hold.
 *
 * Takes: nothing. Gives: names for the slot numbers decoders read, as the
 * per-family comments of `enum se_event_type` in bpf/abi/sensor_abi.h set
 * them (the BPF programs write the same slots), and the kernel uapi
 * constants decoders compare arguments with. Keep in step with the header
 * when a family's layout changes.
 */

/** args[5]: enum se_syscall, in every family that has several syscalls. */
export const ARG_SYSCALL = 5;

/** SE_EV_EXEC. */
export const ExecArg = { argc: 0, inode: 2, stdio: 4 } as const;
export const ExecStr = { filename: 0, argv: 1, cwd: 2, exe: 3 } as const;
/** SE_EV_FORK. */
export const ForkArg = { childPid: 0, childTid: 1, childStartNs: 2 } as const;
/** SE_EV_EXIT. */
export const ExitArg = { status: 0, signal: 1 } as const;

/** SE_EV_OPEN. */
export const OpenArg = { dirfd: 0, flags: 1, mode: 2, inode: 3 } as const;
export const OpenStr = { resolved: 0, caller: 1, base: 2 } as const;
/** Path operations: path i in slot i, the base directory of a relative path i in slot 2 + i. */
export const PathStr = { path: 0, second: 1, base: 2, secondBase: 3 } as const;
/** SE_EV_UNLINK, SE_EV_CHMOD, SE_EV_CHOWN, SE_EV_MKDIR (args 1 and 2 after the dirfd). */
export const UnlinkArg = { flags: 1 } as const;
export const ChmodArg = { mode: 1 } as const;
export const ChownArg = { uid: 1, gid: 2 } as const;
export const MkdirArg = { mode: 1 } as const;

/** SE_EV_SETUID/SETGID: args 0..2 the ids asked for. */
export const IdsArg = { first: 0, second: 1, third: 2 } as const;
/** SE_EV_PTRACE. */
export const PtraceArg = { request: 0, targetPid: 1 } as const;
/** SE_EV_MODULE. */
export const ModuleArg = { fd: 0 } as const;
export const ModuleStr = { path: 0, params: 1 } as const;
/** SE_EV_BPF. */
export const BpfArg = { cmd: 0, type: 1, count: 2 } as const;
export const BpfStr = { name: 0 } as const;
/** SE_EV_MOUNT / SE_EV_UMOUNT. */
export const MountArg = { flags: 0 } as const;
export const MountStr = { source: 0, target: 1, fstype: 2, targetBase: 3 } as const;
/** SE_EV_MEMFD. */
export const MemfdArg = { flags: 0 } as const;
export const MemfdStr = { path: 0, name: 1 } as const;
/** SE_EV_UNSHARE (flags in 0) and SE_EV_SETNS. */
export const UnshareArg = { flags: 0 } as const;
export const SetnsArg = { fd: 0, nstype: 1, inode: 2 } as const;
export const SetnsStr = { path: 0 } as const;
/** SE_EV_CAPSET. */
export const CapsetArg = { targetPid: 0, effective: 1, permitted: 2, inheritable: 3 } as const;

/** SE_EV_CONNECT/ACCEPT/BIND: socket type and protocol; SE_EV_LISTEN has the backlog first. */
export const SockArg = { type: 1, protocol: 2 } as const;
export const ListenArg = { backlog: 1, type: 2, protocol: 3 } as const;
export const SockStr = { remote: 0, local: 1 } as const;

/** SE_EV_IO_URING_SETUP. */
export const IoUringSetupArg = { sqEntries: 0, cqEntries: 1, flags: 2 } as const;
/** SE_EV_TAMPER. */
export const TamperArg = { eventType: 0, strSlot: 1 } as const;
export const TamperStr = { atEntry: 0, atExit: 1 } as const;

/** include/uapi/asm-generic/fcntl.h. */
export const O_CREAT = 0o100;
/** include/uapi/linux/fcntl.h: unlinkat(2) removes a directory. */
export const AT_REMOVEDIR = 0x200;
/** include/uapi/linux/bpf.h, enum bpf_cmd. */
export const BPF_MAP_CREATE = 0;
export const BPF_PROG_LOAD = 5;
/** include/linux/net.h, enum sock_type. */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;

/** SE_EV_XATTR (str 0 the path and 2 its base: PathStr). */
export const XattrArg = { valueSize: 1, flags: 2 } as const;
export const XattrStr = { name: 1, value: 3 } as const;
/** SE_EV_UTIMES. */
export const UtimesArg = { atFlags: 1, timesNull: 2 } as const;
export const UtimesStr = { times: 1 } as const;
/** SE_EV_PROC_VM_WRITE. */
export const ProcessVmArg = { targetPid: 0, localIovCount: 1, remoteIovCount: 2, remoteAddress: 3, requestedBytes: 4 } as const;
/** SE_EV_PRCTL. */
export const PrctlArg = { option: 0 } as const;
export const PrctlStr = { name: 0, previousName: 1 } as const;
/** SE_EV_SETPGID. */
export const SetpgidArg = { pid: 0, pgid: 1 } as const;
/** SE_EV_MODULE, delete_module: args 1 flags; str 2 the module name. */
export const ModuleUnloadArg = { flags: 1 } as const;
export const ModuleUnloadStr = { name: 2 } as const;
