/**
 * decode: kernel record frames → canonical events.
 *
 * Takes: a chunk of frames from the kernel source (u32 length | record |
 * pad to 8), laid out as bpf/abi/sensor_abi.h says — offsets come from the
 * generated abi.generated.ts, never typed by hand.
 * Gives: SensorEvent objects with the kernel's facts (process context from
 * the record header, paths resolved in the kernel, results and errno). The
 * process table, user names, entity ids and container ids are added by enrich.
 *
 * This file reads the record header (the acting task, the result) and hands
 * the rest to the decoder of the record's family, one file per BPF program
 * as bpf/programs/ has them: process.ts, open.ts, file-ops.ts, priv.ts,
 * net.ts, io-uring.ts and hooks.ts (attrs and proc_ctl); record.ts reads
 * slots (named in slots.ts), wall-clock.ts turns boot times into ISO times.
 */
import { SensorError } from '../errors.js';
import type { EventKind, SensorEvent, EbpfFacts } from '../model/event.js';
import { endpointAction } from '../model/actions.js';
import { OFFSETOF, SIZEOF, EventType, Syscall, RecordFlags, AbiConsts } from './abi.generated.js';
import { ioUringOperation, ioUringSetup } from './io-uring.js';
import { decodeHook } from './hooks.js';
import { ERRNO_NAMES, capNames } from './syscall-tables.js';
import { arg, argNum, hookView, trimNul, u64String, RecordCursor, CommStrings, repeatingU64, type FamilyRecord } from './record.js';
import { wallClock } from './wall-clock.js';
import { decodeExec, decodeExit, decodeFork } from './process.js';
import { decodeOpen } from './open.js';
import { decodePathOp, decodeRenameLink, decodeSymlink } from './file-ops.js';
import { decodeBpf, decodeCapset, decodeIds, decodeMemfd, decodeModule, decodeMount, decodeNamespaces, decodePtrace, decodeUmount } from './priv.js';
import { decodeSocket } from './net.js';
import { ARG_SYSCALL, IoUringSetupArg, TamperArg, TamperStr } from './slots.js';

export { isoFromNs, isoFromSecNs } from './wall-clock.js';
export { fileFromPath, resolveCallerPath } from './record.js';

const H = OFFSETOF.se_hdr;
const T = H.task;
const TK = OFFSETOF.se_task;
const E = OFFSETOF.se_event;
const FIXED = SIZEOF.se_event;

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

const EINPROGRESS = 115;

/** ZEROS[n]: n zeros (the event id's timestamp padded to 16 hex digits without a padStart string). */
const ZEROS = Array.from({ length: 17 }, (_, n) => '0'.repeat(n));

/** The one record view decodeRecord reuses (record.ts RecordCursor). */
const CURSOR = new RecordCursor(AbiConsts.SE_STR_SLOTS);
const COMM = new CommStrings();

/**
 * A fork record's process.thread and process.parent until decodeFork
 * (process.ts) sets the child's thread and the forking task as the parent —
 * always, before anything reads them: the header's thread, its capabilities
 * and its parent were three objects a fork that nothing read (issue-14
 * point 6). Frozen: one object stands in every fork until replaced.
 */
const FORK_THREAD: SensorEvent['process']['thread'] = Object.freeze({ id: 0 });
const FORK_PARENT: SensorEvent['process']['parent'] = Object.freeze({ pid: 0 });

const suffixes = new Map<number, string>();

/**
 * The end of an event id: the thread id (8 hex digits) and the record type
 * (2), written once per thread and type — a thread's events repeat them
 * (issue-14).
 */
export function idSuffix(tid: number, type: number): string {
  const k = tid * 65536 + type; // exact: tid < 2^32, type < 2^16
  let s = suffixes.get(k);
  if (s === undefined) {
    s = `${tid.toString(16).padStart(8, '0')}${type.toString(16).padStart(2, '0')}`;
    if (suffixes.size >= 8192) suffixes.clear();
    suffixes.set(k, s);
  }
  return s;
}

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

type FamilyDecoder = (r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts) => void;

const FAMILY_OF_KIND: Readonly<Partial<Record<EventKind, FamilyDecoder>>> = {
  exec: decodeExec,
  fork: decodeFork,
  exit: decodeExit,
  open: decodeOpen,
  unlink: decodePathOp,
  truncate: decodePathOp,
  mkdir: decodePathOp,
  chmod: decodePathOp,
  chown: decodePathOp,
  umount: decodeUmount,
  rename: decodeRenameLink,
  link: decodeRenameLink,
  symlink: decodeSymlink,
  setuid: decodeIds,
  setgid: decodeIds,
  ptrace: decodePtrace,
  module_load: decodeModule,
  bpf: decodeBpf,
  mount: decodeMount,
  memfd_create: decodeMemfd,
  unshare: decodeNamespaces,
  setns: decodeNamespaces,
  io_uring_setup: (r, _ev, facts) => {
    facts.io_uring = ioUringSetup(arg(r, IoUringSetupArg.sqEntries), arg(r, IoUringSetupArg.cqEntries), arg(r, IoUringSetupArg.flags));
  },
  capset: decodeCapset,
  connect: decodeSocket,
  accept: decodeSocket,
  bind: decodeSocket,
  listen: decodeSocket,
  tamper: decodeTamper,
  xattr: decodeHookFamily,
  utimes: decodeHookFamily,
  process_vm: decodeHookFamily,
  prctl: decodeHookFamily,
  setsid: decodeHookFamily,
  setpgid: decodeHookFamily,
};

/**
 * Record type number → its family's decoder (a no-op for families with
 * nothing past the header). decodeRecord calls it from one call site, not
 * from a switch's cases: TurboFan compiles decodeRecord with the decoders
 * called so far inlined, and a case reached for the first time (a kind the
 * host had not produced since the last compile) deoptimized the whole
 * function — about 100 ms of recompiling on a background thread each time,
 * seen again and again in steady-state storms (`--trace-deopt`:
 * "Insufficient type feedback for call", issue-14). One call site goes
 * megamorphic after a few kinds and stays so: a new kind costs nothing.
 */
const FAMILY_DECODERS: readonly FamilyDecoder[] = (() => {
  const none: FamilyDecoder = () => {};
  const out: FamilyDecoder[] = [];
  for (const [type, kind] of Object.entries(KIND_OF_TYPE)) out[Number(type)] = FAMILY_OF_KIND[kind] ?? none;
  return out;
})();

function decodeHookFamily(r: FamilyRecord, ev: SensorEvent, facts: EbpfFacts): void {
  decodeHook(r.kind, ev, facts, hookView(r));
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
  const comm = COMM.of(rec, t + TK.comm, commEnd);
  const tty = rec.readUInt32LE(t + TK.tty);
  const retLo = rec.readUInt32LE(base + E.ret);
  const retHi = rec.readInt32LE(base + E.ret + 4);
  const ret = retHi * 4294967296 + retLo;
  const cpu = rec.readUInt32LE(base + H.cpu);
  const loginuid = rec.readUInt32LE(t + TK.loginuid);
  const bootNs = u64String(rec, base + H.ts_ns);
  const idTs = tsHi < 0x200000 ? (tsHi * 4294967296 + tsLo).toString(16) : rec.readBigUInt64LE(base + H.ts_ns).toString(16);

  const sc = argNum(rec, base, ARG_SYSCALL);
  const action = (sc && SYSCALL_NAMES[sc]) || DEFAULT_ACTION[kind] || kind;
  const facts: EbpfFacts = {
    kind,
    syscall: action,
    boot_ns: bootNs,
    cpu,
    process: {
      loginuid: String(loginuid),
      sessionid: rec.readUInt32LE(t + TK.sessionid),
      cgroup_id: repeatingU64.of(rec, t + TK.cgroup_id),
      mntns: rec.readUInt32LE(t + TK.mntns),
      pidns: rec.readUInt32LE(t + TK.pidns),
      fsuid: String(rec.readUInt32LE(t + TK.fsuid)),
      fsgid: String(rec.readUInt32LE(t + TK.fsgid)),
      comm,
      start_boot_ns: repeatingU64.of(rec, t + TK.start_ns),
      parent_start_boot_ns: repeatingU64.of(rec, t + TK.parent_start_ns),
      sid: rec.readUInt32LE(t + TK.sid),
      pgid: rec.readUInt32LE(t + TK.pgid),
    },
    // In the literal (errnoFacts sets it again): added after, it took the object's first out-of-line property store.
    ret,
  };
  if (hflags & RecordFlags.SE_F_THREAD) facts.process!.is_thread = true;
  const outcome = errnoFacts(ret, facts);
  const startIso = clock.startIso(startHi, startLo);
  const isFork = type === EventType.SE_EV_FORK;
  const ev: SensorEvent = {
    '@timestamp': clock.iso(tsHi, tsLo),
    event: {
      id: `${ctx.bootIdPrefix}${ZEROS[16 - idTs.length] ?? ''}${idTs}${idSuffix(tid, type)}`,
      sequence: ctx.sequence++,
      action,
      outcome,
    },
    process: {
      pid,
      entity_id: '',
      name: comm,
      thread: isFork
        ? FORK_THREAD
        : {
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
      parent: isFork ? FORK_PARENT : { pid: ppid, start: clock.startIso(pstartHi, pstartLo) },
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
  const r = CURSOR;
  r.reset(rec, base, recLen);
  r.kind = kind;
  r.action = action;
  r.sc = sc;
  r.outcome = outcome;
  r.hflags = hflags;
  r.clock = clock;

  FAMILY_DECODERS[type]!(r, ev, facts);
  const truncated = r.truncated;
  if (truncated.length) {
    // The cursor's list is reused: the event gets a copy (decoder-found ones first, as before).
    facts.truncated = facts.truncated ? [...truncated, ...facts.truncated] : truncated.slice();
  }
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

/** A string argument that changed between syscall entry and exit (SE_EV_TAMPER). */
function decodeTamper(r: FamilyRecord, _ev: SensorEvent, facts: EbpfFacts): void {
  const atEntry = r.text(TamperStr.atEntry, 'ebpf.tampering.at_entry') ?? '';
  const atExit = r.text(TamperStr.atExit, 'ebpf.tampering.at_exit') ?? '';
  const ofType = arg(r, TamperArg.eventType);
  const slot = arg(r, TamperArg.strSlot);
  facts.tampering = {
    field: `${KIND_OF_TYPE[ofType] ?? ofType}.str${slot}`,
    at_entry: atEntry,
    at_exit: atExit,
    syscall: (r.sc && SYSCALL_NAMES[r.sc]) || String(KIND_OF_TYPE[ofType] ?? ofType),
  };
  facts.syscall = facts.tampering.syscall;
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
