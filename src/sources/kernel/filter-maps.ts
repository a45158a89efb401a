/**
 * The in-kernel filters: what the compiled rules want from the kernel, written
 * into the object's maps.
 *
 * Takes: a KernelFilter (rules/kernel-filter.ts derives it from the compiled
 * rules), kill rules the kernel can decide, and the flags the kernel source
 * itself sets. Gives: filter_cfg, path_prefix, name_of_interest,
 * name_len_of_interest, kill_exact and kill_prefix as bpf/lib/filter.bpf.h
 * reads them, updated in place on a rule reload: new keys in before old keys
 * out, so no event of interest slips through while the maps change.
 */
import { SensorError } from '../../errors.js';
import type { EventKind } from '../../model/event.js';
import { EventType, FilterFlags, Interest, KillKind, OFFSETOF, SIZEOF } from '../../decode/abi.generated.js';
import { TYPE_OF_KIND } from '../../decode/decode.js';
import type { NativeBpfObject } from './binding.js';

/** What the compiled rules (and telemetry settings) need from the kernel. */
export interface KernelFilter {
  /** Event families to emit; 'all' for everything. */
  kinds: ReadonlySet<EventKind> | 'all';
  /** Report every successful read-only open (otherwise only names/prefixes of interest). */
  openReads: boolean;
  /** Report every failed read-only open (otherwise only names/prefixes of interest, tested on the caller's string). */
  failedReads: boolean;
  /** Report file events on every path (no prefix filtering). */
  allPaths: boolean;
  /** Report thread creation. */
  threads: boolean;
  /** Path prefixes of interest for file events. */
  prefixes: readonly string[];
  /**
   * Check prefixes for successful read-only opens too: costs a path walk per
   * read-only open whose name is not of interest (directory prefixes on reads).
   */
  readPrefixes?: boolean;
  /** File names (leaf) of interest for read-only opens. */
  names: readonly string[];
  /**
   * The outcomes of read-only opens (Interest bits: 1 success, 2 failure)
   * each prefix and name is wanted for; an entry not listed is wanted for
   * both. Other file events match any entry.
   */
  interest?: { prefixes?: ReadonlyMap<string, number>; names?: ReadonlyMap<string, number> };
}

/** Everything reported: no in-kernel filtering (tests, benchmarks, `--events all` without rules). */
export const OPEN_FILTER: KernelFilter = {
  kinds: 'all',
  openReads: true,
  failedReads: true,
  allPaths: true,
  threads: false,
  prefixes: [],
  names: [],
};

/** A kill rule the kernel can decide: the same shape the rule engine's kernelKillRules() gives. */
export interface KernelKillSpec {
  ruleId: string;
  kind: 'exec' | 'open';
  executable?: { exact: readonly string[]; prefix: readonly string[] };
  path?: { exact: readonly string[]; prefix: readonly string[] };
  writeIntent?: boolean;
}

type KillEntry = { key: Buffer; map: 'kill_exact' | 'kill_prefix'; index: number };

/** The filter and kill maps of one loaded object, with the keys last written (to remove stale ones). */
export class FilterMaps {
  /** Keys (hex) and values of path_prefix and name_of_interest as last written. */
  private prevKeys = { prefixes: new Map<string, number>(), names: new Map<string, number>() };
  private prevLens = new Set<number>();
  private killKeys = new Map<string, KillEntry>();

  constructor(
    private readonly obj: NativeBpfObject,
    private readonly wakeupBytes: number,
  ) {}

  /** Kill rules are installed (the kernel's kill check runs only then: SE_FL_KILL_RULES). */
  get hasKillRules(): boolean {
    return this.killKeys.size > 0;
  }

  /** Write `filter`; `sourceFlags` are the FilterFlags the kernel source sets itself (cgroups, provenance, env vars, kill rules). */
  apply(filter: KernelFilter, sourceFlags: number): void {
    const obj = this.obj;
    const cfg = Buffer.alloc(SIZEOF.se_filter_cfg);
    let lo = 0n;
    let hi = 0n;
    const setType = (t: number): void => {
      if (t < 64) lo |= 1n << BigInt(t);
      else hi |= 1n << BigInt(t - 64);
    };
    if (filter.kinds === 'all') {
      lo = 0xffffffffffffffffn;
      hi = 0xffffffffffffffffn;
    } else {
      for (const k of filter.kinds) {
        const t = TYPE_OF_KIND[k];
        if (t !== undefined) setType(t);
      }
      // Argument tampering is always reported: it is an attack on the sensor.
      setType(EventType.SE_EV_TAMPER);
    }
    let flags = sourceFlags;
    if (filter.openReads) flags |= FilterFlags.SE_FL_OPEN_READS;
    if (filter.failedReads) flags |= FilterFlags.SE_FL_FAILED_READS;
    if (filter.allPaths) flags |= FilterFlags.SE_FL_ALL_PATHS;
    if (filter.threads) flags |= FilterFlags.SE_FL_THREADS;
    if (filter.readPrefixes) flags |= FilterFlags.SE_FL_READ_PREFIXES;
    cfg.writeBigUInt64LE(lo, OFFSETOF.se_filter_cfg.kinds);
    cfg.writeBigUInt64LE(hi, OFFSETOF.se_filter_cfg.kinds_hi);
    cfg.writeUInt32LE(flags, OFFSETOF.se_filter_cfg.flags);
    cfg.writeUInt32LE(this.wakeupBytes, OFFSETOF.se_filter_cfg.wakeup_bytes);
    // Values: the outcomes of read-only opens each entry is wanted for
    // (enum se_interest); keys that coincide once cut to the key size merge.
    const keyed = (entries: readonly string[], wants: ReadonlyMap<string, number> | undefined, key: (s: string) => Buffer): Map<string, number> => {
      const m = new Map<string, number>();
      for (const e of entries) {
        const k = key(e).toString('hex');
        m.set(k, (m.get(k) ?? 0) | (wants?.get(e) ?? Interest.SE_INTEREST_ANY));
      }
      return m;
    };
    const prefixes = keyed(filter.prefixes, filter.interest?.prefixes, prefixKey);
    const names = keyed(filter.names, filter.interest?.names, nameKey);
    for (const [k, v] of prefixes) if (this.prevKeys.prefixes.get(k) !== v) obj.mapUpdate('path_prefix', Buffer.from(k, 'hex'), Buffer.from([v]));
    for (const [k, v] of names) if (this.prevKeys.names.get(k) !== v) obj.mapUpdate('name_of_interest', Buffer.from(k, 'hex'), Buffer.from([v]));
    // Name lengths: the cheap first test before hashing a name.
    const lens = new Set(filter.names.map((n) => Buffer.byteLength(n)).filter((l) => l > 0 && l < SIZEOF.se_name_key));
    const lenKey = (l: number): Buffer => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(l);
      return k;
    };
    for (const l of lens) obj.mapUpdate('name_len_of_interest', lenKey(l), Buffer.from([1]));
    obj.mapUpdate('filter_cfg', Buffer.alloc(4), cfg);
    for (const k of this.prevKeys.prefixes.keys()) if (!prefixes.has(k)) obj.mapDelete('path_prefix', Buffer.from(k, 'hex'));
    for (const k of this.prevKeys.names.keys()) if (!names.has(k)) obj.mapDelete('name_of_interest', Buffer.from(k, 'hex'));
    for (const l of this.prevLens) if (!lens.has(l)) obj.mapUpdate('name_len_of_interest', lenKey(l), Buffer.from([0]));
    this.prevKeys = { prefixes, names };
    this.prevLens = lens;
  }

  /**
   * Write the kill rules (replacing the previous set) and return the rule id
   * of each index the kernel reports in a killed record. The caller applies
   * the filter again: SE_FL_KILL_RULES follows hasKillRules.
   */
  setKillRules(rules: readonly KernelKillSpec[]): string[] {
    const obj = this.obj;
    const next = new Map<string, KillEntry>();
    const ids = rules.map((r) => r.ruleId);
    rules.forEach((r, index) => {
      const kind = r.kind === 'exec' ? KillKind.SE_KILL_EXEC : r.writeIntent ? KillKind.SE_KILL_OPEN_WRITE : KillKind.SE_KILL_OPEN;
      const m = r.kind === 'exec' ? r.executable : r.path;
      for (const p of m?.exact ?? []) next.set(`e${kind}:${p}`, { key: killKey(kind, p, true), map: 'kill_exact', index });
      for (const p of m?.prefix ?? []) next.set(`p${kind}:${p}`, { key: killKey(kind, p, false), map: 'kill_prefix', index });
    });
    // New and changed entries first, then stale ones out: no moment without the rules that stay.
    for (const e of next.values()) {
      const v = Buffer.alloc(4);
      v.writeUInt32LE(e.index);
      obj.mapUpdate(e.map, e.key, v);
    }
    for (const [k, e] of this.killKeys) if (!next.has(k)) obj.mapDelete(e.map, e.key);
    this.killKeys = next;
    return ids;
  }
}

/**
 * LPM key of a path prefix (byte prefix of the walked path). A prefix longer
 * than the key holds is cut to what it holds: a shorter prefix lets more
 * through, never less, and the rule checks the whole path.
 */
export function prefixKey(prefix: string): Buffer {
  const k = Buffer.alloc(SIZEOF.se_prefix_key);
  const room = SIZEOF.se_prefix_key - OFFSETOF.se_prefix_key.data;
  const bytes = Buffer.from(prefix, 'utf8').subarray(0, room);
  k.writeUInt32LE(bytes.length * 8, OFFSETOF.se_prefix_key.prefixlen);
  bytes.copy(k, OFFSETOF.se_prefix_key.data);
  return k;
}

/** Key of the env_allow map: the name, NUL-padded (struct se_env_key). */
export function envKey(name: string): Buffer {
  const k = Buffer.alloc(SIZEOF.se_env_key);
  k.write(name, 'latin1');
  return k;
}

/** Key of kill_exact (whole key compared) or kill_prefix (LPM over kind byte + path). */
function killKey(kind: number, path: string, exact: boolean): Buffer {
  const bytes = Buffer.from(path, 'utf8');
  const dataLen = SIZEOF.se_kill_key - OFFSETOF.se_kill_key.data;
  if (bytes.length > dataLen - 1) {
    throw new SensorError('ESENSOR_CONFIG', `kill rule path longer than ${dataLen - 1} bytes: ${path.slice(0, 64)}…`);
  }
  const k = Buffer.alloc(SIZEOF.se_kill_key);
  k.writeUInt32LE(exact ? dataLen * 8 : (bytes.length + 1) * 8, OFFSETOF.se_kill_key.prefixlen);
  k[OFFSETOF.se_kill_key.data] = kind;
  bytes.copy(k, OFFSETOF.se_kill_key.data + 1);
  return k;
}

function nameKey(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  const k = Buffer.alloc(SIZEOF.se_name_key);
  bytes.copy(k, 0, 0, Math.min(bytes.length, SIZEOF.se_name_key - 1));
  return k;
}
