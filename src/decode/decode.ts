/**
 * decode: kernel record frames → canonical events.
 *
 * Takes: a chunk of frames from the kernel source (u32 length | record |
 * pad to 8), laid out as bpf/abi/sensor_abi.h says — offsets come from the
 * generated abi.generated.ts, never typed by hand.
 * Gives: SensorEvent objects with the kernel's facts (process context from
 * the record header, paths resolved in the kernel, results and errno). The
 * process table, user names, entity ids and container ids are added by enrich.
 */
import { posix } from 'node:path';
import { SensorError } from '../errors.js';
import type { EventKind, FileInfo, SensorEvent, Endpoint, NetworkInfo, EbpfFacts, FdKind } from '../model/event.js';
import { decodeRaw } from '../model/raw-text.js';
import { endpointAction } from '../model/actions.js';
import { OFFSETOF, SIZEOF, EventType, Syscall, RecordFlags, StrFlags, AbiConsts, FdKind as FdKinds } from './abi.generated.js';
import { ioUringOperation, ioUringSetup } from './io-uring.js';
import { decodeProvenance } from './provenance.js';
import { decodeHook, type RecordView } from './hooks.js';
import { execEnv } from './exec-env.js';
import {
  ERRNO_NAMES,
  openFlagNames,
  openIntent,
  PTRACE_REQUESTS,
  BPF_CMDS,
  namespaceFlagNames,
  AF_INET,
  AF_INET6,
  AF_UNIX,
  SOCK_TYPES,
  IPPROTO,
  capNames,
  MOUNT_FLAGS,
} from './syscall-tables.js';

const H = OFFSETOF.se_hdr;
const T = H.task;
const TK = OFFSETOF.se_task;
const E = OFFSETOF.se_event;
const S = OFFSETOF.se_str;
const STR_SIZE = SIZEOF.se_str;
const FIXED = SIZEOF.se_event;

/** Namespace flag → the name nsfs gives its files (/proc/PID/ns/NAME). */
const NS_FILE_NAME: Record<string, string> = {
  CLONE_NEWNS: 'mnt',
  CLONE_NEWUTS: 'uts',
  CLONE_NEWIPC: 'ipc',
  CLONE_NEWUSER: 'user',
  CLONE_NEWPID: 'pid',
  CLONE_NEWNET: 'net',
  CLONE_NEWCGROUP: 'cgroup',
  CLONE_NEWTIME: 'time',
};

/** Kernel record type number → event family. */
export const KIND_OF_TYPE: Readonly<Record<number, EventKind>> = {
  [EventType.SE_EV_EXEC]: 'exec',
  [EventType.SE_EV_FORK]: 'fork',
  [EventType.SE_EV_EXIT]: 'exit',
  [EventType.SE_EV_OPEN]: 'open',
  [EventType.SE_EV_UNLINK]: 'unlink',
  [EventType.SE_EV_RENAME]: 'rename',
  [EventType.SE_EV_CHMOD]: 'chmod',
  [EventType.SE_EV_CHOWN]: 'chown',
  [EventType.SE_EV_LINK]: 'link',
  [EventType.SE_EV_SYMLINK]: 'symlink',
  [EventType.SE_EV_TRUNCATE]: 'truncate',
  [EventType.SE_EV_MKDIR]: 'mkdir',
  [EventType.SE_EV_XATTR]: 'xattr',
  [EventType.SE_EV_UTIMES]: 'utimes',
  [EventType.SE_EV_SETUID]: 'setuid',
  [EventType.SE_EV_SETGID]: 'setgid',
  [EventType.SE_EV_PTRACE]: 'ptrace',
  [EventType.SE_EV_MODULE]: 'module_load',
  [EventType.SE_EV_BPF]: 'bpf',
  [EventType.SE_EV_MOUNT]: 'mount',
  [EventType.SE_EV_UMOUNT]: 'umount',
  [EventType.SE_EV_MEMFD]: 'memfd_create',
  [EventType.SE_EV_UNSHARE]: 'unshare',
  [EventType.SE_EV_SETNS]: 'setns',
  [EventType.SE_EV_CAPSET]: 'capset',
  [EventType.SE_EV_PROC_VM_WRITE]: 'process_vm',
  [EventType.SE_EV_PRCTL]: 'prctl',
  [EventType.SE_EV_SETSID]: 'setsid',
  [EventType.SE_EV_SETPGID]: 'setpgid',
  [EventType.SE_EV_CONNECT]: 'connect',
  [EventType.SE_EV_ACCEPT]: 'accept',
  [EventType.SE_EV_BIND]: 'bind',
  [EventType.SE_EV_LISTEN]: 'listen',
  [EventType.SE_EV_IO_URING_SETUP]: 'io_uring_setup',
  [EventType.SE_EV_TAMPER]: 'tamper',
};

/** Kernel type number for each family (the inverse of KIND_OF_TYPE). */
export const TYPE_OF_KIND: Readonly<Partial<Record<EventKind, number>>> = Object.fromEntries(
  Object.entries(KIND_OF_TYPE).map(([t, k]) => [k, Number(t)]),
);

/** enum se_syscall → syscall name. */
export const SYSCALL_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Syscall)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => [v, k.replace(/^SE_SC_/, '').toLowerCase()]),
);

/** Default syscall name per family when the record does not say. */
const DEFAULT_ACTION: Partial<Record<EventKind, string>> = {
  exec: 'execve',
  fork: 'fork',
  exit: 'exit',
  ptrace: 'ptrace',
  bpf: 'bpf',
  umount: 'umount2',
  memfd_create: 'memfd_create',
  unshare: 'unshare',
  setns: 'setns',
  capset: 'capset',
  connect: 'connect',
  bind: 'bind',
  listen: 'listen',
  io_uring_setup: 'io_uring_setup',
  tamper: 'argument-tampering',
};

const FD_KIND_NAMES: Readonly<Record<number, FdKind>> = {
  [FdKinds.SE_FD_NONE]: 'none',
  [FdKinds.SE_FD_FILE]: 'file',
  [FdKinds.SE_FD_DIR]: 'dir',
  [FdKinds.SE_FD_CHAR]: 'char',
  [FdKinds.SE_FD_FIFO]: 'fifo',
  [FdKinds.SE_FD_SOCK_INET]: 'socket_inet',
  [FdKinds.SE_FD_SOCK_UNIX]: 'socket_unix',
  [FdKinds.SE_FD_SOCK_OTHER]: 'socket_other',
  [FdKinds.SE_FD_OTHER]: 'other',
};

function fdKind(v: number): FdKind {
  return FD_KIND_NAMES[v & 0xff] ?? 'other';
}

export interface DecodeContext {
  /** In-kernel kill rules in force: index → rule id (set by the pipeline from the loaded rules). */
  killRules?: readonly string[];
  /** Wall-clock ns minus boot-clock ns (see native clocks()). */
  bootToRealtimeNs: bigint;
  /** First 8 hex digits of the host boot id: makes event ids unique across reboots. */
  bootIdPrefix: string;
  /** Next event.sequence. */
  sequence: number;
}

interface StrSlot {
  off: number;
  len: number;
  flags: number;
}

function readStr(rec: Buffer, base: number, slot: number, recLen: number): StrSlot | undefined {
  const o = base + E.str + slot * STR_SIZE;
  const flags = rec.readUInt16LE(o + S.flags);
  if (!(flags & StrFlags.SE_STR_PRESENT)) return undefined;
  const off = rec.readUInt16LE(o + S.off);
  const len = rec.readUInt16LE(o + S.len);
  if (off + len > recLen) {
    throw new SensorError('ESENSOR_DECODE', `string slot ${slot} [${off}, ${off + len}) exceeds record of ${recLen} bytes`);
  }
  return { off, len, flags };
}

function strText(rec: Buffer, base: number, s: StrSlot | undefined): string | undefined {
  if (!s || s.len === 0) return s && s.flags & StrFlags.SE_STR_FAULT ? undefined : s ? '' : undefined;
  return decodeRaw(rec, base + s.off, base + s.off + s.len);
}

/** ns since the epoch → ISO-8601 with 9 fractional digits. */
export function isoFromNs(ns: bigint): string {
  const sec = Number(ns / 1000000000n);
  const nsec = Number(ns % 1000000000n);
  return isoFromSecNs(sec, nsec);
}

let isoSec = -1;
let isoPrefix = '';

/** Seconds + nanoseconds since the epoch → ISO-8601 with 9 fractional digits (the seconds prefix is cached). */
export function isoFromSecNs(sec: number, nsec: number): string {
  if (sec !== isoSec) {
    isoSec = sec;
    isoPrefix = new Date(sec * 1000).toISOString().slice(0, 19);
  }
  return `${isoPrefix}.${String(nsec + 1000000000).slice(1)}Z`;
}

/**
 * Turns boot-clock ns (u64 in a record) into wall-clock ISO strings without
 * BigInt arithmetic on the hot path: boot ns fit a double exactly for 104
 * days of uptime; beyond that the exact BigInt path is taken.
 */
class WallClock {
  private readonly offSec: number;
  private readonly offNsec: number;
  private readonly starts = new Map<number, string>();

  constructor(readonly bootToRealtimeNs: bigint) {
    this.offSec = Number(bootToRealtimeNs / 1000000000n);
    this.offNsec = Number(bootToRealtimeNs % 1000000000n);
  }

  iso(hi: number, lo: number): string {
    if (hi >= 0x200000) return isoFromNs((BigInt(hi) << 32n) + BigInt(lo) + this.bootToRealtimeNs);
    const boot = hi * 4294967296 + lo;
    const bootSec = Math.floor(boot / 1e9);
    let nsec = boot - bootSec * 1e9 + this.offNsec;
    let sec = bootSec + this.offSec;
    if (nsec >= 1e9) {
      nsec -= 1e9;
      sec += 1;
    }
    return isoFromSecNs(sec, nsec);
  }

  /** Process start times repeat across a process's events: cached. */
  startIso(hi: number, lo: number): string {
    const key = hi * 4294967296 + lo;
    let s = this.starts.get(key);
    if (s === undefined) {
      if (this.starts.size >= 8192) this.starts.clear();
      s = this.iso(hi, lo);
      this.starts.set(key, s);
    }
    return s;
  }
}

const clocks = new WeakMap<DecodeContext, WallClock>();

function wallClock(ctx: DecodeContext): WallClock {
  let c = clocks.get(ctx);
  if (!c || c.bootToRealtimeNs !== ctx.bootToRealtimeNs) {
    c = new WallClock(ctx.bootToRealtimeNs);
    clocks.set(ctx, c);
  }
  return c;
}

/** u64 at rec[o] as a decimal string (exact). */
function u64String(rec: Buffer, o: number): string {
  const lo = rec.readUInt32LE(o);
  const hi = rec.readUInt32LE(o + 4);
  if (hi < 0x200000) return String(hi * 4294967296 + lo);
  return rec.readBigUInt64LE(o).toString();
}

/** Join a caller's path with the directory it is relative to, and normalize. */
export function resolveCallerPath(p: string, base: string | undefined): string {
  let full = p;
  if (!p.startsWith('/') && base !== undefined) full = base === '/' ? `/${p}` : `${base}/${p}`;
  if (!full.startsWith('/')) return full;
  let n = posix.normalize(full);
  if (n.length > 1 && n.endsWith('/')) n = n.slice(0, -1);
  return n;
}

export function fileFromPath(path: string): FileInfo {
  const slash = path.lastIndexOf('/');
  const name = slash >= 0 ? path.slice(slash + 1) : path;
  const f: FileInfo = { path, name, directory: slash > 0 ? path.slice(0, slash) : '/' };
  const dot = name.lastIndexOf('.');
  if (dot > 0 && dot < name.length - 1) f.extension = name.slice(dot + 1);
  return f;
}

const EINPROGRESS = 115;

function errnoFacts(ret: number, facts: EbpfFacts): 'success' | 'failure' | 'unknown' {
  facts.ret = ret;
  if (ret < 0 && ret >= -4095) {
    facts.errno = -ret;
    facts.error = ERRNO_NAMES[-ret] ?? `E${-ret}`;
    // A non-blocking connect still in progress has not failed (yet).
    return -ret === EINPROGRESS ? 'unknown' : 'failure';
  }
  return 'success';
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function argNum(rec: Buffer, base: number, i: number): number {
  // args are u64 in the record; every value we read as a number fits 53 bits
  // or is a 32-bit quantity the kernel widened.
  const lo = rec.readUInt32LE(base + E.args + i * 8);
  const hi = rec.readUInt32LE(base + E.args + i * 8 + 4);
  return hi * 0x100000000 + lo;
}

function argI32(rec: Buffer, base: number, i: number): number {
  return rec.readInt32LE(base + E.args + i * 8);
}

/** An endpoint the kernel has not filled (unbound, or reset after a failed connect). */
function emptyEndpoint(ep: Endpoint): boolean {
  return ep.address === undefined || ((ep.ip === '0.0.0.0' || ep.ip === '::') && !ep.port);
}

function sockaddr(rec: Buffer, base: number, s: StrSlot | undefined): { ep: Endpoint; family: string; path?: string } | undefined {
  if (!s || s.len < SIZEOF.se_sockaddr) return undefined;
  const o = base + s.off;
  const family = rec.readUInt16LE(o + OFFSETOF.se_sockaddr.family);
  const port = rec.readUInt16LE(o + OFFSETOF.se_sockaddr.port);
  const a = o + OFFSETOF.se_sockaddr.addr;
  if (family === AF_INET) {
    const ip = `${rec[a]}.${rec[a + 1]}.${rec[a + 2]}.${rec[a + 3]}`;
    return { ep: { ip, port, address: ip }, family: 'ipv4' };
  }
  if (family === AF_INET6) {
    const ip = ipv6(rec, a);
    return { ep: { ip, port, address: ip }, family: 'ipv6' };
  }
  if (family === AF_UNIX) {
    const start = o + SIZEOF.se_sockaddr;
    const end = base + s.off + s.len;
    let p: string;
    if (end > start && rec[start] === 0) p = `@${decodeRaw(rec, start + 1, trimNul(rec, start + 1, end))}`;
    else p = decodeRaw(rec, start, trimNul(rec, start, end));
    return { ep: p ? { address: p } : {}, family: 'unix', path: p };
  }
  return { ep: {}, family: `af_${family}` };
}

function trimNul(rec: Buffer, start: number, end: number): number {
  let e = start;
  while (e < end && rec[e] !== 0) e++;
  return e;
}

function ipv6(rec: Buffer, a: number): string {
  // IPv4-mapped addresses are shown as IPv4, as the SIEM expects.
  let mapped = true;
  for (let i = 0; i < 10; i++) if (rec[a + i] !== 0) mapped = false;
  if (mapped && rec[a + 10] === 0xff && rec[a + 11] === 0xff) {
    return `${rec[a + 12]}.${rec[a + 13]}.${rec[a + 14]}.${rec[a + 15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(rec.readUInt16BE(a + i * 2));
  // RFC 5952: compress the longest run of two or more zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLen).join(':');
  return `${left}::${right}`;
}

/**
 * Decode one record at rec[base, base+len). Throws ESENSOR_DECODE /
 * ESENSOR_ABI_MISMATCH on malformed input; the caller counts and skips it.
 */
export function decodeRecord(rec: Buffer, base: number, len: number, ctx: DecodeContext): SensorEvent {
  if (len < FIXED) throw new SensorError('ESENSOR_DECODE', `record of ${len} bytes is shorter than the ${FIXED}-byte header`);
  const type = rec.readUInt16LE(base + H.type);
  const abi = rec.readUInt16LE(base + H.abi);
  if (abi !== AbiConsts.SE_ABI_VERSION) {
    throw new SensorError('ESENSOR_ABI_MISMATCH', `record ABI ${abi}, this build decodes ABI ${AbiConsts.SE_ABI_VERSION}`);
  }
  const kind = KIND_OF_TYPE[type];
  if (kind === undefined) throw new SensorError('ESENSOR_DECODE', `unknown record type ${type}`);
  const size = rec.readUInt32LE(base + H.size);
  const recLen = Math.min(size, len);
  const hflags = rec.readUInt32LE(base + H.flags);
  const clock = wallClock(ctx);
  const tsLo = rec.readUInt32LE(base + H.ts_ns);
  const tsHi = rec.readUInt32LE(base + H.ts_ns + 4);
  const t = base + T;
  const pid = rec.readUInt32LE(t + TK.pid);
  const tid = rec.readUInt32LE(t + TK.tid);
  const ppid = rec.readUInt32LE(t + TK.ppid);
  const uid = rec.readUInt32LE(t + TK.uid);
  const gid = rec.readUInt32LE(t + TK.gid);
  const euid = rec.readUInt32LE(t + TK.euid);
  const egid = rec.readUInt32LE(t + TK.egid);
  const suid = rec.readUInt32LE(t + TK.suid);
  const sgid = rec.readUInt32LE(t + TK.sgid);
  const startLo = rec.readUInt32LE(t + TK.start_ns);
  const startHi = rec.readUInt32LE(t + TK.start_ns + 4);
  const pstartLo = rec.readUInt32LE(t + TK.parent_start_ns);
  const pstartHi = rec.readUInt32LE(t + TK.parent_start_ns + 4);
  const commEnd = trimNul(rec, t + TK.comm, t + TK.comm + 16);
  const comm = decodeRaw(rec, t + TK.comm, commEnd);
  const tty = rec.readUInt32LE(t + TK.tty);
  const retLo = rec.readUInt32LE(base + E.ret);
  const retHi = rec.readInt32LE(base + E.ret + 4);
  const ret = retHi * 4294967296 + retLo;
  const cpu = rec.readUInt32LE(base + H.cpu);
  const loginuid = rec.readUInt32LE(t + TK.loginuid);
  const bootNs = u64String(rec, base + H.ts_ns);
  const idTs = tsHi < 0x200000 ? (tsHi * 4294967296 + tsLo).toString(16) : rec.readBigUInt64LE(base + H.ts_ns).toString(16);

  const sc = argNum(rec, base, 5);
  const action = (sc && SYSCALL_NAMES[sc]) || DEFAULT_ACTION[kind] || kind;
  const facts: EbpfFacts = {
    kind,
    syscall: action,
    boot_ns: bootNs,
    cpu,
    process: {
      loginuid: String(loginuid),
      sessionid: rec.readUInt32LE(t + TK.sessionid),
      cgroup_id: u64String(rec, t + TK.cgroup_id),
      mntns: rec.readUInt32LE(t + TK.mntns),
      pidns: rec.readUInt32LE(t + TK.pidns),
      fsuid: String(rec.readUInt32LE(t + TK.fsuid)),
      fsgid: String(rec.readUInt32LE(t + TK.fsgid)),
      comm,
      start_boot_ns: u64String(rec, t + TK.start_ns),
      parent_start_boot_ns: u64String(rec, t + TK.parent_start_ns),
      sid: rec.readUInt32LE(t + TK.sid),
      pgid: rec.readUInt32LE(t + TK.pgid),
    },
  };
  if (hflags & RecordFlags.SE_F_THREAD) facts.process!.is_thread = true;
  const outcome = errnoFacts(ret, facts);
  const startIso = clock.startIso(startHi, startLo);
  const ev: SensorEvent = {
    '@timestamp': clock.iso(tsHi, tsLo),
    event: {
      id: `${ctx.bootIdPrefix}${idTs.padStart(16, '0')}${tid.toString(16).padStart(8, '0')}${type.toString(16).padStart(2, '0')}`,
      sequence: ctx.sequence++,
      action,
      outcome,
    },
    process: {
      pid,
      entity_id: '',
      name: comm,
      thread: {
        id: tid,
        capabilities: {
          effective: capNames(rec.readUInt32LE(t + TK.cap_effective), rec.readUInt32LE(t + TK.cap_effective + 4)),
          permitted: capNames(rec.readUInt32LE(t + TK.cap_permitted), rec.readUInt32LE(t + TK.cap_permitted + 4)),
        },
      },
      start: startIso,
      user: { id: String(euid) },
      group: { id: String(egid) },
      real_user: { id: String(uid) },
      real_group: { id: String(gid) },
      saved_user: { id: String(suid) },
      saved_group: { id: String(sgid) },
      parent: { pid: ppid, start: clock.startIso(pstartHi, pstartLo) },
    },
    user: { id: String(euid) },
    group: { id: String(egid) },
    ebpf: facts,
  };
  if (tty !== 0) {
    ev.process.tty = { char_device: { major: tty >>> 20, minor: tty & 0xfffff } };
    ev.process.interactive = true;
  } else {
    ev.process.interactive = false;
  }
  const truncated: string[] = [];
  const slots: Array<StrSlot | undefined> = [];
  for (let i = 0; i < AbiConsts.SE_STR_SLOTS; i++) slots.push(readStr(rec, base, i, recLen));
  const text = (i: number, field: string): string | undefined => {
    const s = slots[i];
    if (s && s.flags & StrFlags.SE_STR_TRUNCATED) truncated.push(field);
    return strText(rec, base, s);
  };

  switch (kind) {
    case 'exec': {
      const filename = text(0, 'ebpf.exec.filename') ?? '';
      const argvSlot = slots[1];
      const args: string[] = [];
      if (argvSlot && argvSlot.len > 0) {
        let s = base + argvSlot.off;
        const end = s + argvSlot.len;
        while (s < end) {
          const e = trimNul(rec, s, end);
          args.push(decodeRaw(rec, s, e));
          s = e + 1;
        }
      }
      if (argvSlot && argvSlot.flags & StrFlags.SE_STR_TRUNCATED) truncated.push('process.args');
      const cwd = text(2, 'process.working_directory');
      const exe = text(3, 'process.executable');
      const argc = argNum(rec, base, 0);
      facts.exec = { filename };
      if (hflags & RecordFlags.SE_F_ARGV_TRUNCATED) facts.exec.argv_truncated = true;
      if (outcome === 'failure') {
        // The image did not change: process.* stays the caller (filled by
        // enrich); the file it tried to run is the event's file.
        facts.exec.args = args;
        ev.file = fileFromPath(resolveCallerPath(filename, cwd));
        if (filename !== ev.file.path) facts.requested = { path: filename };
        break;
      }
      const stdio = argNum(rec, base, 4);
      facts.exec.stdio = { stdin: fdKind(stdio), stdout: fdKind(stdio >> 8), stderr: fdKind(stdio >> 16) };
      ev.process.args = args;
      ev.process.args_count = argc || args.length;
      ev.process.command_line = args.join(' ');
      const env = execEnv(rec, base, recLen);
      if (env) {
        if (env.vars.length) ev.process.env_vars = env.vars;
        if (env.truncated) truncated.push('process.env_vars');
      }
      if (cwd !== undefined) ev.process.working_directory = cwd;
      const executable = exe !== undefined && exe !== '' ? exe : resolveCallerPath(filename, cwd);
      ev.process.executable = executable;
      if (slots[3] && slots[3].flags & StrFlags.SE_STR_DELETED) facts.exec.deleted = true;
      ev.process.name = posix.basename(executable) || comm;
      ev.file = fileFromPath(executable);
      if (argNum(rec, base, 2)) ev.file.inode = String(argNum(rec, base, 2));
      const prov = decodeProvenance(rec, base, recLen, (hi, lo) => clock.iso(hi, lo));
      if (prov) facts.provenance = prov;
      break;
    }
    case 'fork': {
      const childPid = argNum(rec, base, 0);
      const childTid = argNum(rec, base, 1);
      const csLo = rec.readUInt32LE(base + E.args + 16);
      const csHi = rec.readUInt32LE(base + E.args + 20);
      ev.process.parent = { pid, name: comm, start: startIso };
      ev.process.pid = childPid;
      ev.process.thread = { id: childTid };
      ev.process.start = clock.startIso(csHi, csLo);
      facts.process!.parent_start_boot_ns = facts.process!.start_boot_ns!;
      facts.process!.start_boot_ns = u64String(rec, base + E.args + 16);
      break;
    }
    case 'exit': {
      const status = argNum(rec, base, 0);
      const sig = argNum(rec, base, 1);
      ev.process.exit_code = sig ? 128 + sig : (status >> 8) & 0xff;
      ev.process.end = ev['@timestamp'];
      facts.exit = { status };
      if (sig) facts.exit.signal = sig;
      break;
    }
    case 'open': {
      const flags = argNum(rec, base, 1);
      const mode = argNum(rec, base, 2);
      const resolved = text(0, 'file.path');
      const caller = text(1, 'ebpf.requested.path');
      const baseDir = text(2, 'ebpf.base');
      let path: string;
      if (resolved !== undefined && resolved !== '') {
        path = resolved;
        facts.path_source = 'file';
      } else {
        path = resolveCallerPath(caller ?? '', baseDir);
        facts.path_source = (caller ?? '').startsWith('/') ? 'absolute' : 'dirfd';
      }
      ev.file = fileFromPath(path);
      if (slots[0] && slots[0].flags & StrFlags.SE_STR_DELETED) facts.path_source = 'file';
      const ino = argNum(rec, base, 3);
      if (ino) ev.file.inode = String(ino);
      if (caller !== undefined && caller !== path) facts.requested = { path: caller };
      facts.open = { flags, flag_names: openFlagNames(flags), intent: openIntent(flags), dirfd: argI32(rec, base, 0) };
      if (flags & 0o100) facts.open.mode = octal(mode);
      break;
    }
    case 'unlink':
    case 'truncate':
    case 'mkdir':
    case 'chmod':
    case 'chown':
    case 'umount': {
      const p = text(0, 'file.path') ?? '';
      const b = text(2, 'ebpf.base');
      const path = hflags & RecordFlags.SE_F_PATH_FROM_FILE ? p : resolveCallerPath(p, b);
      ev.file = fileFromPath(path);
      if (!(hflags & RecordFlags.SE_F_PATH_FROM_FILE) && p !== path) facts.requested = { path: p };
      facts.path_source = hflags & RecordFlags.SE_F_PATH_FROM_FILE ? 'file' : p.startsWith('/') ? 'absolute' : 'dirfd';
      if (kind === 'chmod') {
        const m = argNum(rec, base, 1);
        facts.chmod = { mode: octal(m) };
        ev.file.mode = octal(m);
      } else if (kind === 'chown') {
        const u = argI32(rec, base, 1);
        const g = argI32(rec, base, 2);
        facts.chown = { uid: u, gid: g };
        if (u !== -1) ev.file.uid = String(u >>> 0);
        if (g !== -1) ev.file.gid = String(g >>> 0);
      } else if (kind === 'mkdir') {
        ev.file.type = 'dir';
        ev.file.mode = octal(argNum(rec, base, 1));
      } else if (kind === 'umount') {
        facts.mount = { target: path, flags: argNum(rec, base, 0) };
      } else if (kind === 'unlink' && (argNum(rec, base, 1) & 0x200 || action === 'rmdir')) {
        ev.file.type = 'dir';
      }
      break;
    }
    case 'rename':
    case 'link': {
      const oldP = text(0, 'ebpf.source_file.path') ?? '';
      const newP = text(1, 'file.path') ?? '';
      const oldPath = resolveCallerPath(oldP, text(2, 'ebpf.base'));
      const newPath = resolveCallerPath(newP, text(3, 'ebpf.base'));
      ev.file = fileFromPath(newPath);
      const src = fileFromPath(oldPath);
      facts.source_file = { path: src.path, name: src.name!, directory: src.directory! };
      if (src.extension !== undefined) facts.source_file.extension = src.extension;
      if (kind === 'link') ev.file.target_path = oldPath;
      break;
    }
    case 'symlink': {
      const target = text(0, 'file.target_path') ?? '';
      const lp = text(1, 'file.path') ?? '';
      const path = resolveCallerPath(lp, text(3, 'ebpf.base'));
      ev.file = fileFromPath(path);
      ev.file.type = 'symlink';
      ev.file.target_path = target;
      break;
    }
    case 'setuid':
    case 'setgid': {
      const req = [argI32(rec, base, 0), argI32(rec, base, 1), argI32(rec, base, 2)];
      const n = /res/.test(action) ? 3 : /re/.test(action) ? 2 : 1;
      facts.ids = { requested: req.slice(0, n) };
      break;
    }
    case 'ptrace': {
      const request = argNum(rec, base, 0);
      facts.ptrace = {
        request,
        request_name: PTRACE_REQUESTS[request] ?? `PTRACE_${request}`,
        target_pid: argI32(rec, base, 1),
      };
      break;
    }
    case 'module_load': {
      const path = text(0, 'file.path');
      const params = text(1, 'ebpf.module.params');
      facts.module = {};
      if (params) facts.module.params = params;
      if (action === 'finit_module') facts.module.fd = argI32(rec, base, 0);
      if (action === 'delete_module') decodeHook(kind, ev, facts, hookView(rec, base, slots, text, hflags));
      if (path) {
        ev.file = fileFromPath(path);
        facts.module.name = (ev.file.name ?? '').replace(/\.ko(\.(xz|gz|zst))?$/, '');
      }
      break;
    }
    case 'bpf': {
      const cmd = argNum(rec, base, 0);
      const name = text(0, 'ebpf.bpf.name');
      facts.bpf = { cmd, cmd_name: BPF_CMDS[cmd] ?? `BPF_${cmd}` };
      if (cmd === 5) {
        facts.bpf.prog_type = argNum(rec, base, 1);
        facts.bpf.insn_cnt = argNum(rec, base, 2);
      } else if (cmd === 0) {
        facts.bpf.map_type = argNum(rec, base, 1);
      }
      const clean = name?.replace(/\0.*$/s, '');
      if (clean) facts.bpf.name = clean;
      break;
    }
    case 'mount': {
      const source = text(0, 'ebpf.mount.source');
      const target = text(1, 'ebpf.mount.target') ?? '';
      const fstype = text(2, 'ebpf.mount.fstype');
      const path = resolveCallerPath(target, text(3, 'ebpf.base'));
      const flags = argNum(rec, base, 0);
      facts.mount = { target: path, flags };
      const names = MOUNT_FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
      if (names.length) facts.mount.flag_names = names;
      if (source !== undefined) facts.mount.source = source;
      if (fstype !== undefined) facts.mount.fstype = fstype;
      ev.file = fileFromPath(path);
      ev.file.type = 'dir';
      break;
    }
    case 'memfd_create': {
      const path = text(0, 'file.path');
      const name = text(1, 'ebpf.memfd.name') ?? '';
      facts.memfd = { name, flags: argNum(rec, base, 0) };
      ev.file = fileFromPath(path && path !== '' ? path : `/memfd:${name}`);
      break;
    }
    case 'unshare':
    case 'setns': {
      const flags = argNum(rec, base, kind === 'setns' ? 1 : 0);
      facts.namespaces = { flags, names: namespaceFlagNames(flags) };
      if (kind === 'setns') {
        facts.namespaces.fd = argI32(rec, base, 0);
        const p = text(0, 'ebpf.namespaces.path');
        const ino = argNum(rec, base, 2);
        if (p && p !== '/') facts.namespaces.path = p;
        else if (ino) facts.namespaces.path = `${NS_FILE_NAME[facts.namespaces.names[0] ?? ''] ?? 'ns'}:[${ino}]`;
      }
      break;
    }
    case 'io_uring_setup':
      facts.io_uring = ioUringSetup(argNum(rec, base, 0), argNum(rec, base, 1), argNum(rec, base, 2));
      break;
    case 'capset': {
      const hex = (i: number): string => `0x${rec.readBigUInt64LE(base + E.args + i * 8).toString(16).padStart(16, '0')}`;
      facts.capabilities = { target_pid: argI32(rec, base, 0), effective: hex(1), permitted: hex(2), inheritable: hex(3) };
      break;
    }
    case 'connect':
    case 'accept':
    case 'bind':
    case 'listen': {
      const remote = sockaddr(rec, base, slots[0]);
      const local = sockaddr(rec, base, slots[1]);
      const stype = kind === 'listen' ? argNum(rec, base, 2) : argNum(rec, base, 1);
      const proto = kind === 'listen' ? argNum(rec, base, 3) : argNum(rec, base, 2);
      const family = remote?.family ?? local?.family ?? 'unknown';
      const net: NetworkInfo = {};
      if (family === 'ipv4' || family === 'ipv6') {
        net.type = family;
        const tname = IPPROTO[proto] ?? (stype === 1 ? 'tcp' : stype === 2 ? 'udp' : undefined);
        if (tname) net.transport = tname;
        if (proto) net.iana_number = String(proto);
      } else if (family === 'unix') {
        net.type = 'unix';
      }
      net.direction = kind === 'connect' ? 'egress' : kind === 'accept' ? 'ingress' : 'listening';
      ev.network = net;
      facts.socket = { family };
      if (SOCK_TYPES[stype]) facts.socket.type = SOCK_TYPES[stype]!;
      if (proto) facts.socket.protocol = proto;
      if (kind === 'listen') facts.socket.backlog = argNum(rec, base, 1);
      const unixPath = remote?.path ?? local?.path;
      if (unixPath) facts.socket.path = unixPath;
      // connect: we are the source; accept: the peer is the source.
      const set = (which: 'source' | 'destination', ep: { ep: Endpoint } | undefined): void => {
        if (ep && !emptyEndpoint(ep.ep)) ev[which] = ep.ep;
      };
      if (kind === 'connect') {
        set('destination', remote);
        set('source', local);
      } else if (kind === 'accept') {
        set('source', remote);
        set('destination', local);
      } else {
        set('source', local ?? remote);
      }
      break;
    }
    case 'tamper': {
      const atEntry = text(0, 'ebpf.tampering.at_entry') ?? '';
      const atExit = text(1, 'ebpf.tampering.at_exit') ?? '';
      const ofType = argNum(rec, base, 0);
      const slot = argNum(rec, base, 1);
      facts.tampering = {
        field: `${KIND_OF_TYPE[ofType] ?? ofType}.str${slot}`,
        at_entry: atEntry,
        at_exit: atExit,
        syscall: (sc && SYSCALL_NAMES[sc]) || String(KIND_OF_TYPE[ofType] ?? ofType),
      };
      facts.syscall = facts.tampering.syscall;
      break;
    }
    case 'xattr':
    case 'utimes':
    case 'process_vm':
    case 'prctl':
    case 'setsid':
    case 'setpgid':
      decodeHook(kind, ev, facts, hookView(rec, base, slots, text, hflags));
      break;
    case 'loss':
      break;
  }
  if (facts.truncated) truncated.push(...facts.truncated);
  if (truncated.length) facts.truncated = truncated;
  const iou = ioUringOperation(hflags);
  if (iou) facts.io_uring = iou;
  if (hflags & RecordFlags.SE_F_ENTRY_LOST) facts.entry_lost = true;
  if (hflags & RecordFlags.SE_F_KILLED) {
    const idx = (hflags >>> RecordFlags.SE_F_KILL_RULE_SHIFT) - 1;
    facts.kernel_kill = { rule: ctx.killRules?.[idx] ?? `#${idx}` };
  }
  if (hflags & RecordFlags.SE_F_TAMPERED) {
    // The record whose argument changed under the syscall also has its own
    // tamper event; mark it here too so a rule on either finds it.
    facts.tampering ??= { field: 'argument', at_entry: '', at_exit: '', syscall: action };
  }
  // The syscall stays in ebpf.syscall; event.action speaks Elastic's endpoint vocabulary.
  ev.event.action = endpointAction(ev);
  return ev;
}

/** The record as the family decoders of hooks.ts read it. */
function hookView(rec: Buffer, base: number, slots: ReadonlyArray<StrSlot | undefined>, text: (i: number, field: string) => string | undefined, flags: number): RecordView {
  return {
    text,
    bytes: (i) => {
      const s = slots[i];
      return s ? { data: rec.subarray(base + s.off, base + s.off + s.len), flags: s.flags } : undefined;
    },
    arg: (i) => argNum(rec, base, i),
    argI32: (i) => argI32(rec, base, i),
    argHex: (i) => `0x${rec.readBigUInt64LE(base + E.args + i * 8).toString(16)}`,
    flags,
    resolve: resolveCallerPath,
    fileFromPath,
  };
}

export interface DecodeStats {
  records: number;
  errors: number;
  lastError?: string;
}

/**
 * Decode the frames in chunk[from, used), at most `max` of them (default:
 * all). Malformed records are counted in `stats` and skipped: one bad record
 * never loses the batch. Returns the offset of the next frame (`used` once
 * the chunk is done), so a chunk can be decoded in slices.
 */
export function decodeChunk(chunk: Buffer, used: number, ctx: DecodeContext, out: SensorEvent[], stats: DecodeStats, from = 0, max = Infinity): number {
  let off = from;
  let n = 0;
  while (off + 4 <= used && n < max) {
    const len = chunk.readUInt32LE(off);
    if (len === 0 || off + 4 + len > used) {
      stats.errors++;
      stats.lastError = `frame at ${off} claims ${len} bytes past the chunk end ${used}`;
      return used;
    }
    try {
      out.push(decodeRecord(chunk, off + 4, len, ctx));
      stats.records++;
    } catch (e) {
      stats.errors++;
      stats.lastError = e instanceof Error ? e.message : String(e);
    }
    n++;
    off += (4 + len + 7) & ~7;
  }
  return off + 4 <= used ? off : used;
}
