/**
 * The kernel source: loads bpf/.output/sensor.bpf.o through the native addon,
 * configures the in-kernel filters, attaches every program and hands ring
 * buffer chunks to the pipeline, one call per chunk.
 *
 * Takes: KernelSourceOptions (validated config) and KernelFilter (from the
 * compiled rules). Gives: FrameBatch per chunk; counters (kernel losses per
 * CPU, reader stalls) for telemetry.
 */
import { SensorError } from '../../errors.js';
import type { EventKind } from '../../model/event.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import type { Source, SourceBatch } from '../source.js';
import { loadBinding, type AttachResult, type NativeBpfObject, type RingStats } from './binding.js';
import { chooseObject, type ObjectChoice } from './features.js';
import { preflight, type PreflightResult } from './preflight.js';
import { unavailableHooks, type UnavailableHook } from './hooks-available.js';
import { tracepointPrototypes, type ArgKind } from './btf.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { SIZEOF, OFFSETOF, AbiConsts, FilterFlags, Counter, EventType, KillKind, Interest, Syscall } from '../../decode/abi.generated.js';
import { TYPE_OF_KIND } from '../../decode/decode.js';

export interface KernelSourceOptions {
  objectPath?: string;
  /** Ring buffer size in bytes (power of two, >= 1 MiB). */
  ringBytes: number;
  /** Size of each JS-owned chunk the reader fills. */
  chunkBytes: number;
  /** Number of chunks: reader-side buffering is chunkBytes * chunks. */
  chunks: number;
  /** The reader drains at least this often (ms) even without a wakeup. */
  pollMs: number;
  /** Wake the reader early when this many bytes are pending in the ring. */
  wakeupBytes: number;
  /** Extra processes never reported. */
  ignorePids?: number[];
  /** cgroup v2 paths (as in /proc/PID/cgroup's 0:: line) whose processes are never reported. */
  ignoreCgroups?: string[];
  /** Report the sensor's own activity too (default: never). */
  reportSelf?: boolean;
  /** Where cgroup v2 is mounted (default: found in /proc/self/mountinfo). Tests. */
  cgroupRoot?: string;
  /** Programs whose attach may fail without stopping the sensor (hooks absent on some kernels). */
  optionalPrograms?: string[];
  /** Provenance: a connect to loopback counts as connecting out (kernel.provenance.loopbackIsRemote). */
  provenanceLoopback?: boolean;
  /** Names of the environment variables captured at exec (process.env_vars); none when empty or absent. */
  envVars?: string[];
}

export const DEFAULT_KERNEL_OPTIONS: KernelSourceOptions = {
  ringBytes: 8 << 20,
  chunkBytes: 1 << 20,
  chunks: 16,
  pollMs: 10,
  wakeupBytes: 1 << 20,
};

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

/** A kill rule the kernel can decide: the same shape the rule engine's kernelKillRules() gives. */
export interface KernelKillSpec {
  ruleId: string;
  kind: 'exec' | 'open';
  executable?: { exact: readonly string[]; prefix: readonly string[] };
  path?: { exact: readonly string[]; prefix: readonly string[] };
  writeIntent?: boolean;
}

export const OPEN_FILTER: KernelFilter = {
  kinds: 'all',
  openReads: true,
  failedReads: true,
  allPaths: true,
  threads: false,
  prefixes: [],
  names: [],
};


export interface KernelCounters {
  emitted: number;
  lost: number;
  lostPerCpu: number[];
  filtered: number;
  truncated: number;
  entryMiss: number;
  entryFull: number;
  readFault: number;
  pathDepth: number;
  wakeups: number;
  tamper: number;
}

export class KernelSource implements Source {
  readonly name = 'kernel';
  private obj: NativeBpfObject | undefined;
  private chunks: Buffer[] = [];
  private readonly log: Logger;
  private readonly opts: KernelSourceOptions;
  private filter: KernelFilter;
  private attachResults: AttachResult[] = [];
  /** Keys (hex) and values of path_prefix and name_of_interest as last written. */
  private prevKeys = { prefixes: new Map<string, number>(), names: new Map<string, number>() };
  private prevLens = new Set<number>();
  private killKeys = new Map<string, { key: Buffer; map: 'kill_exact' | 'kill_prefix'; index: number }>();
  /** Ignored cgroups: path → cgroup id. */
  private readonly ignoredCgroups = new Map<string, bigint>();
  /** Programs not loaded because their hook does not exist on this kernel (e.g. init_module without CONFIG_MODULES). */
  unavailable: UnavailableHook[] = [];
  preflightResult: PreflightResult | undefined;
  /** The object loaded and why (load-time feature probe). */
  objectChoice: ObjectChoice | undefined;

  constructor(opts: Partial<KernelSourceOptions> = {}, filter: KernelFilter = OPEN_FILTER) {
    this.opts = { ...DEFAULT_KERNEL_OPTIONS, ...opts };
    this.filter = filter;
    this.log = componentLogger('kernel');
    validateOptions(this.opts);
  }

  /**
   * Loads the native addon now, so that a sensor without one stops
   * (ESENSOR_BUILD_MISSING) before it starts anything else.
   */
  static checkNative(): void {
    loadBinding();
  }

  /**
   * Wall-clock ns minus boot-clock ns, read now (the addon reads both clocks
   * back to back): what turns the records' boot-clock stamps into wall time.
   */
  bootToRealtimeNs(): bigint {
    const c = loadBinding().clocks();
    return c.realtime - c.boottime;
  }

  async start(onBatch: (batch: SourceBatch) => void): Promise<void> {
    this.preflightResult = preflight();
    for (const m of this.preflightResult.mounted) this.log.info({ mounted: m }, 'mounted %s', m);
    const b = loadBinding();
    // An explicit object (tests, benchmarks) is loaded as given; otherwise the
    // kernel's BTF picks between the shipped objects (features.ts).
    const choice = this.opts.objectPath
      ? undefined
      : chooseObject((names) => b.kernelFuncs(names));
    const path = this.opts.objectPath ?? choice!.path;
    this.objectChoice = choice ?? { path, variant: 'full', missing: [] };
    if (choice?.variant === 'compat') {
      this.log.info({ object: path, missing: choice.missing }, 'kernel lacks %s: loading the compat object', choice.missing.join(', '));
    }
    if (!existsSync(path)) {
      throw new SensorError('ESENSOR_BUILD_MISSING', `BPF object not built: ${path} is missing (run: npm run setup)`);
    }
    const obj = new b.BpfObject(path);
    this.obj = obj;
    try {
      this.unavailable = unavailableHooks(obj.programs(), this.preflightResult.tracefs!, kernelTracepointPrototypes());
      for (const u of this.unavailable) obj.setAutoload(u.program, false);
      // Syscalls without their own tracepoint are seen on the generic
      // sys_exit instead, restricted by syscall number (the program is not
      // loaded at all when every hooked syscall has its tracepoint).
      const raw = rawSyscallFallback(this.unavailable);
      if (raw.length === 0) obj.setAutoload(RAW_SYS_EXIT_PROGRAM, false);
      for (const u of this.unavailable) {
        const via = raw.find((x) => x.program === u.program);
        if (via) this.log.info({ program: u.program, tracepoint: u.tracepoint, nr: via.nr }, 'no tracepoint %s on this kernel: syscall %d seen through raw sys_exit', u.tracepoint, via.nr);
        else if (u.reason === 'prototype') this.log.warn({ program: u.program, tracepoint: u.tracepoint }, 'tracepoint %s takes other arguments on this kernel: %s not loaded', u.tracepoint, u.program);
        else this.log.warn({ program: u.program, tracepoint: u.tracepoint }, 'no tracepoint %s on this kernel: %s not loaded', u.tracepoint, u.program);
      }
      if (!this.opts.reportSelf) obj.setGlobal('se_sensor_tgid', process.pid);
      // In-kernel kill rules never signal the sensor or its parent (bpf/lib/filter.bpf.h), reported or not.
      obj.setGlobal('se_kill_protect_self', process.pid);
      obj.setGlobal('se_kill_protect_parent', process.ppid);
      obj.setMapSize('events', this.opts.ringBytes);
      const t0 = performance.now();
      obj.load();
      const loadMs = performance.now() - t0;
      for (const x of raw) {
        const k = Buffer.alloc(4);
        const v = Buffer.alloc(4);
        k.writeUInt32LE(x.nr);
        v.writeUInt32LE(x.sc);
        obj.mapUpdate('raw_syscalls', k, v);
      }
      for (const pid of this.opts.ignorePids ?? []) this.ignorePid(pid);
      for (const path of this.opts.ignoreCgroups ?? []) this.ignoreCgroup(path);
      for (const name of this.opts.envVars ?? []) obj.mapUpdate('env_allow', envKey(name), Buffer.from([1]));
      this.applyFilter(this.filter);
      this.attachResults = obj.attach();
      const failed = this.attachResults.filter((r) => !r.attached);
      const optional = new Set(this.opts.optionalPrograms ?? []);
      const fatal = failed.filter((r) => !optional.has(r.name));
      for (const f of failed) {
        this.log.warn({ program: f.name, section: f.section, err: f.error }, 'program %s did not attach', f.name);
      }
      if (fatal.length) {
        throw new SensorError(
          'ESENSOR_BPF_ATTACH',
          `cannot attach ${fatal.map((f) => `${f.name} (${f.section}): ${f.error}`).join('; ')}`,
          { object: fatal[0]!.name, ...(fatal[0]!.errno !== undefined ? { errno: fatal[0]!.errno } : {}) },
        );
      }
      // Not zero-filled: pages count in RSS only once the reader has written them (the reader hands over only `used` bytes).
      this.chunks = Array.from({ length: this.opts.chunks }, () => Buffer.allocUnsafeSlow(this.opts.chunkBytes));
      const chunks = this.chunks;
      obj.startRing(['events'], chunks, this.opts.pollMs, (i, used, records) => {
        onBatch({ kind: 'frames', chunk: chunks[i]!, used, records });
      });
      this.log.info(
        {
          programs: this.attachResults.filter((r) => r.attached).length,
          loadMs: Math.round(loadMs),
          object: this.objectChoice.variant,
          ringBytes: this.opts.ringBytes,
        },
        'kernel programs attached',
      );
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Detach every program but keep the object, maps and reader (benchmarks: a baseline in the same process). */
  detachPrograms(): number {
    return this.requireObj().detach();
  }

  /** Attach again after detachPrograms(). */
  reattachPrograms(): void {
    const failed = this.requireObj()
      .attach()
      .filter((r) => !r.attached && !(this.opts.optionalPrograms ?? []).includes(r.name));
    if (failed.length) {
      throw new SensorError('ESENSOR_BPF_ATTACH', `cannot re-attach ${failed.map((f) => `${f.name}: ${f.error}`).join('; ')}`);
    }
  }

  /** Programs and their attach status (for status output and tests). */
  attached(): AttachResult[] {
    return this.attachResults.slice();
  }

  /** Update the in-kernel filters in place (rule reload). */
  applyFilter(filter: KernelFilter): void {
    const obj = this.requireObj();
    this.filter = filter;
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
    let flags = 0;
    if (filter.openReads) flags |= FilterFlags.SE_FL_OPEN_READS;
    if (filter.failedReads) flags |= FilterFlags.SE_FL_FAILED_READS;
    if (filter.allPaths) flags |= FilterFlags.SE_FL_ALL_PATHS;
    if (filter.threads) flags |= FilterFlags.SE_FL_THREADS;
    if (filter.readPrefixes) flags |= FilterFlags.SE_FL_READ_PREFIXES;
    if (this.killKeys.size > 0) flags |= FilterFlags.SE_FL_KILL_RULES;
    if (this.ignoredCgroups.size > 0) flags |= FilterFlags.SE_FL_IGNORE_CGROUPS;
    if (this.opts.provenanceLoopback) flags |= FilterFlags.SE_FL_PROV_LOOPBACK;
    if (this.opts.envVars?.length) flags |= FilterFlags.SE_FL_ENV_VARS;
    cfg.writeBigUInt64LE(lo, OFFSETOF.se_filter_cfg.kinds);
    cfg.writeBigUInt64LE(hi, OFFSETOF.se_filter_cfg.kinds_hi);
    cfg.writeUInt32LE(flags, OFFSETOF.se_filter_cfg.flags);
    cfg.writeUInt32LE(this.opts.wakeupBytes, OFFSETOF.se_filter_cfg.wakeup_bytes);
    // Add new keys before removing old ones so that no event of interest
    // slips through while the maps change.
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
   * Install the kill rules the kernel decides itself (bpf_send_signal before
   * the syscall returns to user space). Replaces the previous set; returns the
   * rule id of each index the kernel reports in a killed record.
   */
  setKillRules(rules: readonly KernelKillSpec[]): string[] {
    const obj = this.requireObj();
    const next = new Map<string, { key: Buffer; map: 'kill_exact' | 'kill_prefix'; index: number }>();
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
    // The kill check runs only while kill rules exist (filter_cfg flag).
    this.applyFilter(this.filter);
    return ids;
  }

  /** Never report this process (a sink's helper, for example). */
  ignorePid(pid: number): void {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(pid);
    this.requireObj().mapUpdate('ignore_tgid', k, Buffer.from([1]));
  }

  unignorePid(pid: number): void {
    const k = Buffer.alloc(4);
    k.writeUInt32LE(pid);
    this.requireObj().mapDelete('ignore_tgid', k);
  }

  /**
   * Never report processes of this cgroup v2 (path as in /proc/PID/cgroup's
   * 0:: line). The kernel compares bpf_get_current_cgroup_id(), the cgroup
   * directory's inode number. Returns false, with a warning, when the cgroup
   * does not exist (a service not started yet).
   */
  ignoreCgroup(path: string): boolean {
    const id = cgroupId(path, this.opts.cgroupRoot);
    if (id === undefined) {
      this.log.warn({ field: 'kernel.ignore.cgroups', cgroup: path }, 'kernel.ignore.cgroups: no cgroup %s: not ignored', path);
      return false;
    }
    const k = Buffer.alloc(8);
    k.writeBigUInt64LE(id);
    this.requireObj().mapUpdate('ignore_cgroup', k, Buffer.from([1]));
    this.ignoredCgroups.set(path, id);
    this.applyFilter(this.filter);
    return true;
  }

  unignoreCgroup(path: string): void {
    const id = this.ignoredCgroups.get(path);
    if (id === undefined) return;
    this.ignoredCgroups.delete(path);
    this.applyFilter(this.filter);
    const k = Buffer.alloc(8);
    k.writeBigUInt64LE(id);
    this.requireObj().mapDelete('ignore_cgroup', k);
  }

  /** Per-CPU kernel counters, summed (lost also per CPU). */
  counters(): KernelCounters {
    const obj = this.requireObj();
    const read = (c: number): number[] => {
      const k = Buffer.alloc(4);
      k.writeUInt32LE(c);
      const v = obj.mapLookup('counters', k);
      const out: number[] = [];
      if (v) for (let o = 0; o + 8 <= v.length; o += 8) out.push(Number(v.readBigUInt64LE(o)));
      return out;
    };
    const sum = (c: number): number => read(c).reduce((a, b) => a + b, 0);
    return {
      emitted: sum(Counter.SE_CNT_EMITTED),
      lost: sum(Counter.SE_CNT_LOST),
      lostPerCpu: read(Counter.SE_CNT_LOST),
      filtered: sum(Counter.SE_CNT_FILTERED),
      truncated: sum(Counter.SE_CNT_TRUNCATED),
      entryMiss: sum(Counter.SE_CNT_ENTRY_MISS),
      entryFull: sum(Counter.SE_CNT_ENTRY_FULL),
      readFault: sum(Counter.SE_CNT_READ_FAULT),
      pathDepth: sum(Counter.SE_CNT_PATH_DEPTH),
      wakeups: sum(Counter.SE_CNT_WAKEUPS),
      tamper: sum(Counter.SE_CNT_TAMPER),
    };
  }

  ringStats(): RingStats {
    return this.requireObj().ringStats();
  }

  /** Let the process exit while the reader runs (tests, one-shot tools). */
  unref(): void {
    this.obj?.refRing(false);
  }

  async stop(): Promise<void> {
    this.close();
  }

  private close(): void {
    if (!this.obj) return;
    const obj = this.obj;
    this.obj = undefined;
    try {
      obj.stopRing();
    } catch {
      // already stopped
    }
    obj.close();
    this.log.info('kernel programs detached');
  }

  private requireObj(): NativeBpfObject {
    if (!this.obj) throw new SensorError('ESENSOR_BPF_CLOSED', 'kernel source is not running');
    return this.obj;
  }
}

/** The generic sys_exit program (bpf/programs/priv.bpf.c) for syscalls without a tracepoint. */
const RAW_SYS_EXIT_PROGRAM = 'se_raw_sys_exit';

/** Syscall numbers (per architecture) of the hooks the raw sys_exit program can stand in for. */
const RAW_FALLBACK: Readonly<Record<string, { sc: number; nr: Partial<Record<string, number>> }>> = {
  se_sys_exit_init_module: { sc: Syscall.SE_SC_INIT_MODULE, nr: { x64: 175, arm64: 105 } },
  se_sys_exit_finit_module: { sc: Syscall.SE_SC_FINIT_MODULE, nr: { x64: 313, arm64: 273 } },
  se_sys_exit_delete_module: { sc: Syscall.SE_SC_DELETE_MODULE, nr: { x64: 176, arm64: 106 } },
};

/** The unavailable programs the raw sys_exit program reports instead: syscall number and enum se_syscall. */
export function rawSyscallFallback(unavailable: ReadonlyArray<{ program: string }>, arch: string = process.arch): Array<{ program: string; nr: number; sc: number }> {
  const out: Array<{ program: string; nr: number; sc: number }> = [];
  for (const u of unavailable) {
    const f = RAW_FALLBACK[u.program];
    const nr = f?.nr[arch];
    if (f && nr !== undefined) out.push({ program: u.program, nr, sc: f.sc });
  }
  return out;
}

/** Key of the env_allow map: the name, NUL-padded (struct se_env_key). */
function envKey(name: string): Buffer {
  const k = Buffer.alloc(SIZEOF.se_env_key);
  k.write(name, 'latin1');
  return k;
}

const ENV_NAME = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${AbiConsts.SE_ENV_NAME_MAX - 2}}$`);

function validateOptions(o: KernelSourceOptions): void {
  for (const name of o.envVars ?? []) {
    if (!ENV_NAME.test(name)) {
      throw new SensorError('ESENSOR_CONFIG', `kernel.envVars: ${JSON.stringify(name)} is not an environment variable name of at most ${AbiConsts.SE_ENV_NAME_MAX - 1} characters`, {
        field: 'kernel.envVars',
      });
    }
  }
  const pow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(o.ringBytes) || o.ringBytes < 1 << 20) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.ringBytes must be a power of two >= 1048576, got ${o.ringBytes}`, {
      field: 'kernel.ringBytes',
    });
  }
  if (!Number.isInteger(o.chunkBytes) || o.chunkBytes < 65536) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.chunkBytes must be >= 65536, got ${o.chunkBytes}`, { field: 'kernel.chunkBytes' });
  }
  if (!Number.isInteger(o.chunks) || o.chunks < 2 || o.chunks > 256) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.chunks must be 2..256, got ${o.chunks}`, { field: 'kernel.chunks' });
  }
  if (!Number.isInteger(o.pollMs) || o.pollMs < 1 || o.pollMs > 1000) {
    throw new SensorError('ESENSOR_CONFIG', `kernel.pollMs must be 1..1000, got ${o.pollMs}`, { field: 'kernel.pollMs' });
  }
}

/** Where cgroup v2 is mounted (the unified hierarchy), from /proc/self/mountinfo. */
export function cgroup2Root(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const sep = line.indexOf(' - ');
      if (sep < 0 || !line.slice(sep + 3).startsWith('cgroup2 ')) continue;
      return line.split(' ')[4]!.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    }
  } catch {
    /* no /proc */
  }
  return undefined;
}

/** The cgroup v2 id of a cgroup path (its directory's inode number), undefined when it does not exist. */
export function cgroupId(path: string, root = cgroup2Root()): bigint | undefined {
  if (root === undefined) return undefined;
  try {
    const st = statSync(`${root.replace(/\/$/, '')}${path === '/' ? '' : path}`, { bigint: true });
    return st.isDirectory() ? st.ino : undefined;
  } catch {
    return undefined;
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

/** The running kernel's BTF tracepoint prototypes; undefined when its BTF cannot be read (libbpf then decides). */
function kernelTracepointPrototypes(): Map<string, ArgKind[]> | undefined {
  try {
    return tracepointPrototypes();
  } catch {
    return undefined;
  }
}
