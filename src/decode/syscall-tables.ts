/**
 * Linux (x86_64 and arm64) constants the decoder turns into names:
 * errno, open flags, ptrace requests, bpf commands, namespace flags,
 * socket families and types. Values from include/uapi; they are ABI and
 * do not change. The same on both architectures except four open flags
 * (openFlagTable); syscall numbers, which differ, are not decoded here (the
 * records carry enum se_syscall, not the number).
 */

export const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 4: 'EINTR', 5: 'EIO', 6: 'ENXIO', 7: 'E2BIG', 8: 'ENOEXEC', 9: 'EBADF',
  10: 'ECHILD', 11: 'EAGAIN', 12: 'ENOMEM', 13: 'EACCES', 14: 'EFAULT', 15: 'ENOTBLK', 16: 'EBUSY', 17: 'EEXIST',
  18: 'EXDEV', 19: 'ENODEV', 20: 'ENOTDIR', 21: 'EISDIR', 22: 'EINVAL', 23: 'ENFILE', 24: 'EMFILE', 25: 'ENOTTY',
  26: 'ETXTBSY', 27: 'EFBIG', 28: 'ENOSPC', 29: 'ESPIPE', 30: 'EROFS', 31: 'EMLINK', 32: 'EPIPE', 33: 'EDOM',
  34: 'ERANGE', 35: 'EDEADLK', 36: 'ENAMETOOLONG', 37: 'ENOLCK', 38: 'ENOSYS', 39: 'ENOTEMPTY', 40: 'ELOOP',
  61: 'ENODATA', 62: 'ETIME', 71: 'EPROTO', 75: 'EOVERFLOW', 84: 'EILSEQ', 88: 'ENOTSOCK', 89: 'EDESTADDRREQ',
  90: 'EMSGSIZE', 91: 'EPROTOTYPE', 92: 'ENOPROTOOPT', 93: 'EPROTONOSUPPORT', 94: 'ESOCKTNOSUPPORT',
  95: 'EOPNOTSUPP', 97: 'EAFNOSUPPORT', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 100: 'ENETDOWN', 101: 'ENETUNREACH',
  103: 'ECONNABORTED', 104: 'ECONNRESET', 105: 'ENOBUFS', 106: 'EISCONN', 107: 'ENOTCONN', 110: 'ETIMEDOUT',
  111: 'ECONNREFUSED', 113: 'EHOSTUNREACH', 114: 'EALREADY', 115: 'EINPROGRESS', 116: 'ESTALE', 122: 'EDQUOT',
  125: 'ECANCELED', 126: 'ENOKEY', 129: 'EKEYREJECTED', 512: 'ERESTARTSYS', 513: 'ERESTARTNOINTR',
  514: 'ERESTARTNOHAND', 516: 'ERESTART_RESTARTBLOCK', 524: 'ENOTSUPP',
};

export const O_ACCMODE = 0o3;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_PATH = 0o10000000;
const O_TMPFILE_BIT = 0o20000000;
/** include/uapi/linux/fcntl.h: unlinkat(2) removes a directory. */
export const AT_REMOVEDIR = 0x200;

/**
 * The open flags that differ per architecture: arm64 moves O_DIRECTORY,
 * O_NOFOLLOW, O_DIRECT and O_LARGEFILE (arch/arm64/include/uapi/asm/fcntl.h),
 * and O_TMPFILE includes O_DIRECTORY. Keys are process.arch names.
 */
const ARCH_OPEN_BITS: Record<'x64' | 'arm64', { O_DIRECTORY: number; O_NOFOLLOW: number; O_DIRECT: number; O_LARGEFILE: number }> = {
  x64: { O_DIRECTORY: 0o200000, O_NOFOLLOW: 0o400000, O_DIRECT: 0o40000, O_LARGEFILE: 0o100000 },
  arm64: { O_DIRECTORY: 0o40000, O_NOFOLLOW: 0o100000, O_DIRECT: 0o200000, O_LARGEFILE: 0o400000 },
};

export type OpenIntent = 'read' | 'write' | 'create' | 'truncate' | 'append';

/** Open-flag decoding for one architecture. */
export interface OpenFlagTable {
  readonly O_TMPFILE: number;
  names(flags: number): string[];
  /** What an open asks for, derived from its flags. */
  intent(flags: number): OpenIntent[];
}

/** The open-flag table of an architecture (process.arch name; anything but arm64 is x86-64's). */
export function openFlagTable(arch: string): OpenFlagTable {
  const a = ARCH_OPEN_BITS[arch === 'arm64' ? 'arm64' : 'x64'];
  const tmpfile = O_TMPFILE_BIT | a.O_DIRECTORY;
  const bits: Array<[number, string]> = (
    [
      [0o100, 'O_CREAT'], [0o200, 'O_EXCL'], [0o400, 'O_NOCTTY'], [0o1000, 'O_TRUNC'], [0o2000, 'O_APPEND'],
      [0o4000, 'O_NONBLOCK'], [0o10000, 'O_DSYNC'], [0o20000, 'O_ASYNC'], [a.O_DIRECT, 'O_DIRECT'],
      [a.O_LARGEFILE, 'O_LARGEFILE'], [a.O_DIRECTORY, 'O_DIRECTORY'], [a.O_NOFOLLOW, 'O_NOFOLLOW'], [0o1000000, 'O_NOATIME'],
      [0o2000000, 'O_CLOEXEC'], [0o4000000, 'O_SYNC'], [0o10000000, 'O_PATH'], [O_TMPFILE_BIT, 'O_TMPFILE'],
    ] as Array<[number, string]>
  ).sort((x, y) => x[0] - y[0]);
  return {
    O_TMPFILE: tmpfile,
    names(flags: number): string[] {
      const acc = flags & O_ACCMODE;
      const names = [acc === O_WRONLY ? 'O_WRONLY' : acc === O_RDWR ? 'O_RDWR' : 'O_RDONLY'];
      for (const [bit, name] of bits) {
        if (name === 'O_TMPFILE') {
          if ((flags & tmpfile) === tmpfile) names.push(name);
        } else if (name === 'O_DIRECTORY' && (flags & tmpfile) === tmpfile) {
          continue;
        } else if (flags & bit) names.push(name);
      }
      return names;
    },
    intent(flags: number): OpenIntent[] {
      const acc = flags & O_ACCMODE;
      const out: OpenIntent[] = [];
      if (flags & O_PATH) return out;
      if (acc === O_RDONLY_VALUE || acc === O_RDWR) out.push('read');
      if (acc === O_WRONLY || acc === O_RDWR) out.push('write');
      if (flags & O_CREAT || (flags & tmpfile) === tmpfile) out.push('create');
      if (flags & O_TRUNC && acc !== O_RDONLY_VALUE) out.push('truncate');
      if (flags & O_APPEND) out.push('append');
      return out;
    },
  };
}
const O_RDONLY_VALUE = 0;

/** This machine's table: the live sensor decodes its own kernel's records. */
const HOST_OPEN_FLAGS = openFlagTable(process.arch);
export const O_TMPFILE = HOST_OPEN_FLAGS.O_TMPFILE;

/**
 * The names and intent of each flags value met, shared by every open with
 * that value: a host opens with a handful of flag sets, and two new arrays
 * per open event were a fifth of what decoding an open allocated (issue-14
 * point 6). Frozen, since one array stands in many events.
 */
const flagNamesCache = new Map<number, string[]>();
const intentCache = new Map<number, OpenIntent[]>();
const FLAG_CACHE_MAX = 1024;

function cachedBy<T>(cache: Map<number, T[]>, flags: number, make: (flags: number) => T[]): T[] {
  let v = cache.get(flags);
  if (v === undefined) {
    v = Object.freeze(make(flags)) as T[];
    if (cache.size >= FLAG_CACHE_MAX) cache.clear();
    cache.set(flags, v);
  }
  return v;
}

/** The names of an open's flags (this machine's architecture): a shared, frozen array. */
export function openFlagNames(flags: number): string[] {
  return cachedBy(flagNamesCache, flags, HOST_OPEN_FLAGS.names);
}

/** What an open asks for, derived from its flags (this machine's architecture): a shared, frozen array. */
export function openIntent(flags: number): OpenIntent[] {
  return cachedBy(intentCache, flags, HOST_OPEN_FLAGS.intent);
}

export const PTRACE_REQUESTS: Record<number, string> = {
  0: 'PTRACE_TRACEME', 1: 'PTRACE_PEEKTEXT', 2: 'PTRACE_PEEKDATA', 3: 'PTRACE_PEEKUSER', 4: 'PTRACE_POKETEXT',
  5: 'PTRACE_POKEDATA', 6: 'PTRACE_POKEUSER', 7: 'PTRACE_CONT', 8: 'PTRACE_KILL', 9: 'PTRACE_SINGLESTEP',
  12: 'PTRACE_GETREGS', 13: 'PTRACE_SETREGS', 16: 'PTRACE_ATTACH', 17: 'PTRACE_DETACH', 24: 'PTRACE_SYSCALL',
  0x4200: 'PTRACE_SETOPTIONS', 0x4201: 'PTRACE_GETEVENTMSG', 0x4202: 'PTRACE_GETSIGINFO', 0x4203: 'PTRACE_SETSIGINFO',
  0x4204: 'PTRACE_GETREGSET', 0x4205: 'PTRACE_SETREGSET', 0x4206: 'PTRACE_SEIZE', 0x4207: 'PTRACE_INTERRUPT',
  0x4208: 'PTRACE_LISTEN',
};

/** enum bpf_cmd (include/uapi/linux/bpf.h): the commands the decoder reads more of. */
export const BPF_MAP_CREATE = 0;
export const BPF_PROG_LOAD = 5;

export const BPF_CMDS: Record<number, string> = {
  0: 'BPF_MAP_CREATE', 1: 'BPF_MAP_LOOKUP_ELEM', 2: 'BPF_MAP_UPDATE_ELEM', 3: 'BPF_MAP_DELETE_ELEM',
  4: 'BPF_MAP_GET_NEXT_KEY', 5: 'BPF_PROG_LOAD', 6: 'BPF_OBJ_PIN', 7: 'BPF_OBJ_GET', 8: 'BPF_PROG_ATTACH',
  9: 'BPF_PROG_DETACH', 10: 'BPF_PROG_TEST_RUN', 11: 'BPF_PROG_GET_NEXT_ID', 12: 'BPF_MAP_GET_NEXT_ID',
  13: 'BPF_PROG_GET_FD_BY_ID', 14: 'BPF_MAP_GET_FD_BY_ID', 15: 'BPF_OBJ_GET_INFO_BY_FD', 16: 'BPF_PROG_QUERY',
  17: 'BPF_RAW_TRACEPOINT_OPEN', 18: 'BPF_BTF_LOAD', 19: 'BPF_BTF_GET_FD_BY_ID', 20: 'BPF_TASK_FD_QUERY',
  21: 'BPF_MAP_LOOKUP_AND_DELETE_ELEM', 22: 'BPF_MAP_FREEZE', 23: 'BPF_BTF_GET_NEXT_ID',
  24: 'BPF_MAP_LOOKUP_BATCH', 25: 'BPF_MAP_LOOKUP_AND_DELETE_BATCH', 26: 'BPF_MAP_UPDATE_BATCH',
  27: 'BPF_MAP_DELETE_BATCH', 28: 'BPF_LINK_CREATE', 29: 'BPF_LINK_UPDATE', 30: 'BPF_LINK_GET_FD_BY_ID',
  31: 'BPF_LINK_GET_NEXT_ID', 32: 'BPF_ENABLE_STATS', 33: 'BPF_ITER_CREATE', 34: 'BPF_LINK_DETACH',
  35: 'BPF_PROG_BIND_MAP', 36: 'BPF_TOKEN_CREATE',
};

export const NAMESPACE_FLAGS: Array<[number, string]> = [
  [0x00000080, 'CLONE_NEWTIME'], [0x00020000, 'CLONE_NEWNS'], [0x02000000, 'CLONE_NEWCGROUP'],
  [0x04000000, 'CLONE_NEWUTS'], [0x08000000, 'CLONE_NEWIPC'], [0x10000000, 'CLONE_NEWUSER'],
  [0x20000000, 'CLONE_NEWPID'], [0x40000000, 'CLONE_NEWNET'], [0x00000200, 'CLONE_FS'],
  [0x00000400, 'CLONE_FILES'], [0x00040000, 'CLONE_SYSVSEM'],
];

export function namespaceFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of NAMESPACE_FLAGS) if ((flags & bit) >>> 0 === bit) out.push(name);
  return out;
}

export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** enum sock_type (include/linux/net.h). */
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;

export const SOCK_TYPES: Record<number, string> = { 1: 'stream', 2: 'dgram', 3: 'raw', 5: 'seqpacket' };

export const IPPROTO: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 262: 'mptcp' };

export const MOUNT_FLAGS: Array<[number, string]> = [
  [1, 'MS_RDONLY'], [2, 'MS_NOSUID'], [4, 'MS_NODEV'], [8, 'MS_NOEXEC'], [16, 'MS_SYNCHRONOUS'], [32, 'MS_REMOUNT'],
  [4096, 'MS_BIND'], [8192, 'MS_MOVE'], [16384, 'MS_REC'], [1 << 18, 'MS_PRIVATE'], [1 << 17, 'MS_UNBINDABLE'],
  [1 << 19, 'MS_SLAVE'], [1 << 20, 'MS_SHARED'],
];

/** Capability numbers → names (include/uapi/linux/capability.h). */
export const CAP_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

const capCache = new Map<number | string, string[]>();

/**
 * A capability set (two 32-bit halves) → its names, in number order. Sets
 * repeat (root's full set, none), so each distinct set is named once; the
 * returned array is shared and must not be changed.
 */
export function capNames(lo: number, hi: number): string[] {
  // One number keys the set (exact: hi < 2^21 holds every capability Linux has, 41 today); no key string per call.
  const key = hi < 0x200000 ? hi * 4294967296 + lo : `${lo}:${hi}`;
  let names = capCache.get(key);
  if (names) return names;
  names = [];
  for (let i = 0; i < 64; i++) {
    const set = i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
    if (set) names.push(CAP_NAMES[i] ?? `CAP_${i}`);
  }
  // Shared by every event of the same sets, so frozen: the ECS serializer writes a frozen pair once.
  Object.freeze(names);
  if (capCache.size < 256) capCache.set(key, names);
  return names;
}
