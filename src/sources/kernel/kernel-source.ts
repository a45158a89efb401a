/**
 * The kernel source: loads bpf/.output/sensor.bpf.o through the native addon,
 * configures the in-kernel filters, attaches every program and hands ring
 * buffer chunks to the pipeline, one call per chunk.
 *
 * Takes: KernelSourceOptions (validated config) and KernelFilter (from the
 * compiled rules). Gives: FrameBatch per chunk; counters (kernel losses per
 * CPU, reader stalls) for telemetry; the boot-to-wall clock offset.
 *
 * Its helpers, one job each: kernel-options.ts (options, checks),
 * filter-maps.ts (the filter and kill maps), raw-syscalls.ts (the raw sys_exit
 * stand-in for syscalls without a tracepoint), cgroups.ts (ignored cgroups' ids),
 * features.ts (which object), preflight.ts (mounts, BTF), binding.ts (the addon).
 */
import { SensorError } from '../../errors.js';
import { componentLogger, type Logger } from '../../telemetry/logger.js';
import type { Source, SourceBatch } from '../source.js';
import { loadBinding, type AttachResult, type NativeBpfObject, type RingStats } from './binding.js';
import { chooseObject, type ObjectChoice } from './features.js';
import { preflight, type PreflightResult } from './preflight.js';
import { unavailableHooks, type UnavailableHook } from './hooks-available.js';
import { tracepointPrototypes, type ArgKind } from './btf.js';
import { existsSync } from 'node:fs';
import { Counter, FilterFlags } from '../../decode/abi.generated.js';
import { cgroupId } from './cgroups.js';
import { FilterMaps, OPEN_FILTER, envKey, type KernelFilter, type KernelKillSpec } from './filter-maps.js';
import { DEFAULT_KERNEL_OPTIONS, validateKernelOptions, type KernelSourceOptions } from './kernel-options.js';
import { RAW_SYS_EXIT_PROGRAM, rawSyscallFallback } from './raw-syscalls.js';

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
  /** The filter and kill maps of the loaded object. */
  private maps: FilterMaps | undefined;
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
    validateKernelOptions(this.opts);
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
    this.maps = new FilterMaps(obj, this.opts.wakeupBytes);
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
    const maps = this.requireMaps();
    this.filter = filter;
    let flags = 0;
    if (maps.hasKillRules) flags |= FilterFlags.SE_FL_KILL_RULES;
    if (this.ignoredCgroups.size > 0) flags |= FilterFlags.SE_FL_IGNORE_CGROUPS;
    if (this.opts.provenanceLoopback) flags |= FilterFlags.SE_FL_PROV_LOOPBACK;
    if (this.opts.envVars?.length) flags |= FilterFlags.SE_FL_ENV_VARS;
    maps.apply(filter, flags);
  }

  /**
   * Install the kill rules the kernel decides itself (bpf_send_signal before
   * the syscall returns to user space). Replaces the previous set; returns the
   * rule id of each index the kernel reports in a killed record.
   */
  setKillRules(rules: readonly KernelKillSpec[]): string[] {
    const ids = this.requireMaps().setKillRules(rules);
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
    this.maps = undefined;
    try {
      obj.stopRing();
    } catch {
      // already stopped
    }
    obj.close();
    this.log.info('kernel programs detached');
  }

  private requireMaps(): FilterMaps {
    if (!this.maps) throw new SensorError('ESENSOR_BPF_CLOSED', 'kernel source is not running');
    return this.maps;
  }

  private requireObj(): NativeBpfObject {
    if (!this.obj) throw new SensorError('ESENSOR_BPF_CLOSED', 'kernel source is not running');
    return this.obj;
  }
}

/** The running kernel's BTF tracepoint prototypes; undefined when its BTF cannot be read (libbpf then decides). */
function kernelTracepointPrototypes(): Map<string, ArgKind[]> | undefined {
  try {
    return tracepointPrototypes();
  } catch {
    return undefined;
  }
}
