/**
 * decode, the hooks of issue 17: extended attributes, file times, cross-process
 * memory copies, comm renames, sessions and process groups, module unloads.
 *
 * Takes: one record's family, its string slots and arguments (through the
 * accessors decodeRecord builds for every record) and the event decoded so
 * far. Gives: the family's facts on the event (`ebpf.xattr`, `ebpf.utimes`,
 * `ebpf.process_vm`, `ebpf.prctl`, `ebpf.process_group`, `ebpf.module`) and
 * its `file.*` where a file is named. Layouts come from abi.generated.ts.
 */
import type { EbpfFacts, EventKind, SensorEvent } from '../model/event.js';
import { OFFSETOF, RecordFlags, StrFlags } from './abi.generated.js';
import { capNames } from './syscall-tables.js';
import { ModuleUnloadArg, ModuleUnloadStr, PathStr, PrctlArg, PrctlStr, ProcessVmArg, SetpgidArg, UtimesArg, UtimesStr, XattrArg, XattrStr } from './slots.js';

/** What decodeRecord hands a family decoder about the record. */
export interface RecordView {
  /** String slot i as text (undefined: absent); `field` names it in ebpf.truncated when cut. */
  text(i: number, field: string): string | undefined;
  /** String slot i's raw bytes and flags (blobs). */
  bytes(i: number): { data: Buffer; flags: number } | undefined;
  arg(i: number): number;
  argI32(i: number): number;
  /** args[i] as an unsigned 64-bit hex string. */
  argHex(i: number): string;
  /** Record flags (enum se_record_flags). */
  flags: number;
  /** The base-relative path joined and normalized (decode's resolveCallerPath). */
  resolve(p: string, base: string | undefined): string;
  fileFromPath(path: string): NonNullable<SensorEvent['file']>;
}

export const HOOK_KINDS: ReadonlySet<EventKind> = new Set(['xattr', 'utimes', 'process_vm', 'prctl', 'setsid', 'setpgid']);

/** include/uapi/linux/capability.h: VFS_CAP_REVISION_* and the effective flag of magic_etc. */
const VFS_CAP_REVISION_MASK = 0xff000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;
const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;
const PR_NAMES: Readonly<Record<number, string>> = { 15: 'PR_SET_NAME' };

/** The file an attribute call acts on: slot 0 (from the fd, or the caller's path against slot 2's base). */
function target(ev: SensorEvent, facts: EbpfFacts, v: RecordView): void {
  const p = v.text(PathStr.path, 'file.path') ?? '';
  const fromFile = (v.flags & RecordFlags.SE_F_PATH_FROM_FILE) !== 0;
  const path = fromFile ? p : v.resolve(p, v.text(PathStr.base, 'ebpf.base'));
  ev.file = v.fileFromPath(path);
  if (!fromFile && p !== path) facts.requested = { path: p };
  facts.path_source = fromFile ? 'file' : p.startsWith('/') ? 'absolute' : 'dirfd';
}

/** Is a value text a person reads (a label, a tag)? Printable ASCII/UTF-8, a trailing NUL allowed. */
function asText(b: Buffer): string | undefined {
  const end = b.length > 0 && b[b.length - 1] === 0 ? b.length - 1 : b.length;
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 && c !== 0x09 && c !== 0x0a) return undefined;
    if (c === 0x7f) return undefined;
  }
  const s = b.toString('utf8', 0, end);
  return s.includes('\ufffd') ? undefined : s;
}

/** struct vfs_cap_data / vfs_ns_cap_data (security.capability). */
export function fileCapabilities(b: Buffer): NonNullable<NonNullable<EbpfFacts['xattr']>['capabilities']> | undefined {
  if (b.length < 12) return undefined;
  const magic = b.readUInt32LE(0);
  const revision = (magic & VFS_CAP_REVISION_MASK) >>> 24;
  if (revision < 1 || revision > 3) return undefined;
  const word = (i: number): number => (b.length >= 4 + i * 4 + 4 ? b.readUInt32LE(4 + i * 4) : 0);
  // data[0] = { permitted, inheritable } (low 32 capabilities), data[1] the high ones (revision 2, 3).
  const hi = revision >= 2;
  const caps: NonNullable<NonNullable<EbpfFacts['xattr']>['capabilities']> = {
    permitted: capNames(word(0), hi ? word(2) : 0),
    inheritable: capNames(word(1), hi ? word(3) : 0),
    effective: (magic & VFS_CAP_FLAGS_EFFECTIVE) !== 0,
    revision,
  };
  if (revision === 3 && b.length >= 24) caps.rootid = b.readUInt32LE(20);
  return caps;
}

function timeOf(sec: bigint, nsec: bigint): string {
  if (nsec === BigInt(UTIME_NOW)) return 'now';
  if (nsec === BigInt(UTIME_OMIT)) return 'omit';
  const ms = sec * 1000n + nsec / 1000000n;
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return `${sec}.${nsec.toString().padStart(9, '0')}`;
  // ISO-8601 with the nanoseconds the caller gave.
  return `${d.toISOString().slice(0, 19)}.${(((nsec % 1000000000n) + 1000000000n) % 1000000000n).toString().padStart(9, '0')}Z`;
}

/** Decode the facts of a family in HOOK_KINDS (and delete_module's module name). */
export function decodeHook(kind: EventKind, ev: SensorEvent, facts: EbpfFacts, v: RecordView): void {
  switch (kind) {
    case 'xattr': {
      target(ev, facts, v);
      const name = v.text(XattrStr.name, 'ebpf.xattr.name') ?? '';
      const x: NonNullable<EbpfFacts['xattr']> = { name };
      const dot = name.indexOf('.');
      if (dot > 0) x.namespace = name.slice(0, dot);
      if (!/removexattr/.test(facts.syscall)) {
        x.value_size = v.arg(XattrArg.valueSize);
        if (v.arg(XattrArg.flags)) x.flags = v.arg(XattrArg.flags);
        const val = v.bytes(XattrStr.value);
        if (val && !(val.flags & StrFlags.SE_STR_FAULT)) {
          if (val.flags & StrFlags.SE_STR_TRUNCATED) (facts.truncated ??= []).push('ebpf.xattr.value');
          const caps = name === 'security.capability' ? fileCapabilities(val.data) : undefined;
          if (caps) x.capabilities = caps;
          const t = caps ? undefined : asText(val.data);
          if (t !== undefined) x.value = t;
          else x.value_hex = val.data.toString('hex');
        }
      }
      facts.xattr = x;
      break;
    }
    case 'utimes': {
      target(ev, facts, v);
      const now = v.arg(UtimesArg.timesNull) !== 0;
      const u: NonNullable<EbpfFacts['utimes']> = { atime: 'now', mtime: 'now', now };
      const t = v.bytes(UtimesStr.times);
      const U = OFFSETOF.se_utimes;
      if (!now && t && t.data.length >= 32) {
        u.atime = timeOf(t.data.readBigInt64LE(U.atime_sec), t.data.readBigInt64LE(U.atime_nsec));
        u.mtime = timeOf(t.data.readBigInt64LE(U.mtime_sec), t.data.readBigInt64LE(U.mtime_nsec));
      }
      if (v.arg(UtimesArg.atFlags)) u.flags = v.arg(UtimesArg.atFlags);
      facts.utimes = u;
      break;
    }
    case 'process_vm': {
      const pv: NonNullable<EbpfFacts['process_vm']> = {
        direction: facts.syscall === 'process_vm_readv' ? 'read' : 'write',
        target: { pid: v.argI32(ProcessVmArg.targetPid) },
        requested_bytes: v.arg(ProcessVmArg.requestedBytes),
        local_iov_count: v.arg(ProcessVmArg.localIovCount),
        remote_iov_count: v.arg(ProcessVmArg.remoteIovCount),
        remote_address: v.argHex(ProcessVmArg.remoteAddress),
      };
      if (facts.ret !== undefined && facts.ret >= 0) pv.bytes = facts.ret;
      facts.process_vm = pv;
      break;
    }
    case 'prctl': {
      const option = v.arg(PrctlArg.option);
      facts.prctl = { option, option_name: PR_NAMES[option] ?? `PR_${option}` };
      const name = v.text(PrctlStr.name, 'ebpf.prctl.name');
      const prev = v.text(PrctlStr.previousName, 'ebpf.prctl.previous_name');
      if (name !== undefined) facts.prctl.name = name;
      if (prev !== undefined) facts.prctl.previous_name = prev;
      break;
    }
    case 'setpgid':
      facts.process_group = { pid: v.argI32(SetpgidArg.pid), pgid: v.argI32(SetpgidArg.pgid) };
      break;
    case 'setsid':
      break;
    case 'module_load': {
      // delete_module: the name asked for in slot 2.
      const name = v.text(ModuleUnloadStr.name, 'ebpf.module.name');
      facts.module = { ...(facts.module ?? {}), flags: v.arg(ModuleUnloadArg.flags) };
      if (name !== undefined) facts.module.name = name;
      break;
    }
    default:
      break;
  }
}
