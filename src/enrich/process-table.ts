/**
 * The process table: what the sensor knows about every live process, built
 * from exec/fork/exit events and seeded from /proc at start-up so processes
 * older than the sensor are known too. Bounded: live entries are capped
 * (least recently seen evicted first) and exited entries are kept only for a
 * short grace period, so millions of short-lived processes cannot grow it.
 */
import { hash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { EntryType } from '../model/event.js';
import { assignEntryLeader, type LeaderSlot } from './session.js';

export interface ProcEntry {
  pid: number;
  /**
   * Start time in clock ticks (1/100 s) since boot: the precision /proc gives
   * for processes seeded at start-up, so the kernel's ns start_boottime is
   * reduced to it too and both ways of meeting a process agree on its id.
   */
  startTicks: number;
  entityId: string;
  name: string;
  executable?: string;
  args?: string[];
  cwd?: string;
  ppid: number;
  parentStartTicks?: number;
  cgroupId?: string;
  exited?: boolean;
  /** Session View context: effective ids, session and process group, controlling tty (major << 20 | minor). */
  uid?: string;
  gid?: string;
  sid?: number;
  pgid?: number;
  tty?: number;
  /** ISO-8601 start (known for processes met through events). */
  start?: string;
  /** The session's entry leader (pid and start ticks) and how the session was entered. */
  entryPid?: number;
  entryStartTicks?: number;
  entryType?: EntryType;
  /** @internal When the entry was last looked up or written (a counter): what eviction goes by. */
  used?: number;
  /** @internal This process's shared session/group leader object (enrich/session.ts), and its entry leader object. */
  leaderSlot?: LeaderSlot;
  entryLeaderSlot?: LeaderSlot;
}

/**
 * A table entry with every field present, in one order (the optional ones
 * undefined until known): every entry has the same V8 hidden class whichever
 * way it was made (fork, exec, met acting, seeded from /proc) and whatever
 * was added later (exited, leaders, uid on setuid). Built with only the
 * fields each way knows, entries had dozens of classes; the functions that
 * read them (enrich, fillSession's leaders, markExited, expire) were
 * deoptimized again and again in steady-state storms (`--trace-deopt`:
 * "wrong map", issue-14) and recompiled on Node's background threads.
 */
export function newEntry(pid: number, startTicks: number, name: string, ppid: number): Omit<ProcEntry, 'entityId'> & { entityId?: string } {
  return {
    pid,
    startTicks,
    entityId: undefined,
    name,
    executable: undefined,
    args: undefined,
    cwd: undefined,
    ppid,
    parentStartTicks: undefined,
    cgroupId: undefined,
    exited: undefined,
    uid: undefined,
    gid: undefined,
    sid: undefined,
    pgid: undefined,
    tty: undefined,
    start: undefined,
    entryPid: undefined,
    entryStartTicks: undefined,
    entryType: undefined,
    used: undefined,
    leaderSlot: undefined,
    entryLeaderSlot: undefined,
  };
}

/**
 * The entry class's fields, each made mutable and of any type once, at load,
 * before any code that reads an entry is optimized. V8 keeps per field of a
 * hidden class whether it was ever rewritten (a "const" field) and what it
 * has held (small integers only, one class of object); optimized code that
 * reads or builds entries relies on both, so the first entry whose field
 * broke that history threw away all of it at once, in a warm sensor: the
 * first comm rename (prctl rewrites `name`, never rewritten before), the
 * first exec in a fork storm (`cgroupId`), and so on, each a wave of
 * "dependency-change" deopts of enrich, forkEntry, taskContext, fillSession
 * and the leaders' checks, recompiled on Node's TurboFan threads
 * (`--log-deopt`, issue-14). Generalized here, no later store can change the
 * class's fields, so no such wave can come.
 */
function generalizeEntryClass(): void {
  const e = newEntry(0, 0, '', 0) as unknown as Record<string, unknown>;
  for (const k of Object.keys(e)) {
    e[k] = 0;
    e[k] = '';
    e[k] = undefined;
  }
}
generalizeEntryClass();

export interface ProcessTableOptions {
  /** Host identity mixed into entity ids (machine id). */
  hostId: string;
  maxEntries: number;
  /**
   * Exited processes stay resolvable for late events this long, on the
   * events' clock (their @timestamp), not the wall clock: the live sensor and
   * a replay of its events at any speed keep the same entries.
   */
  exitGraceMs: number;
  procRoot?: string;
}

export const DEFAULT_TABLE_OPTIONS: Omit<ProcessTableOptions, 'hostId'> = { maxEntries: 65536, exitGraceMs: 10_000 };

/** ns since boot → clock ticks (USER_HZ is 100 on every Linux architecture we run on). */
export function ticksOf(bootNs: string | bigint): number {
  // Decimal strings below 2^53 (104 days of uptime in ns) divide exactly as doubles, without a
  // BigInt per event; the quotient is corrected for the division's rounding.
  if (typeof bootNs === 'string' && bootNs.length <= 15 && /^\d+$/.test(bootNs)) {
    const n = Number(bootNs);
    let q = Math.floor(n / 10_000_000);
    if (q * 10_000_000 > n) q--;
    else if ((q + 1) * 10_000_000 <= n) q++;
    return q;
  }
  return Number(BigInt(bootNs) / 10_000_000n);
}

/**
 * Stable across pid reuse: pid plus start tick, hashed with the host id. A pid
 * cannot be reused within the tick its previous holder started in.
 */
export function entityId(hostId: string, pid: number, startTicks: number): string {
  // One-shot hash (Node >= 20.12): no Hash object and digest Buffer per new process (issue-14).
  return hash('sha256', `${hostId}:${pid}:${startTicks}`, 'base64url').slice(0, 22);
}

export class ProcessTable {
  private readonly live = new Map<number, ProcEntry>();
  /** Exited processes in exit order; a queue read from `exitHead` (Array.shift is O(n)). */
  private exited: Array<{ pid: number; start: number; at: number }> = [];
  private exitHead = 0;
  /** Latest exit time seen (ms since the epoch): the clock of the exit grace. */
  private clock = -Infinity;
  /** Recency counter (ProcEntry.used). */
  private tick = 0;
  private readonly opts: ProcessTableOptions;
  evictions = 0;

  constructor(opts: ProcessTableOptions) {
    this.opts = opts;
    // What a storm rewrites only now and then (the exit queue's head at the first expiry, the
    // queue at its first compaction, the clock at the first exit, the eviction count) is
    // rewritten once here: V8 treats a field never rewritten as constant, and its first rewrite
    // deoptimized the code compiled against it (expire, and enrich with it inlined) in a warm
    // sensor (`--log-deopt`: "dependency-change", issue-14).
    this.exitHead = 1;
    this.exitHead = 0;
    this.exited = [];
    this.clock = 0;
    this.clock = -Infinity;
    this.evictions = 1;
    this.evictions = 0;
  }

  get size(): number {
    return this.live.size;
  }

  /** Exits waiting for their grace period (bounded like the table). */
  get pendingExits(): number {
    return this.exited.length - this.exitHead;
  }

  /** Look up a live (or recently exited) process by pid and start time. */
  get(pid: number, startTicks?: number): ProcEntry | undefined {
    const e = this.live.get(pid);
    if (!e) return undefined;
    if (startTicks !== undefined && e.startTicks !== startTicks) return undefined;
    // A stamp, not a re-insertion: deleting and re-adding a key of a large Map
    // on every lookup made V8 rehash it over and over (20 µs a lookup in a
    // fork storm, issue-14).
    e.used = ++this.tick;
    return e;
  }

  /** Look up without marking as recently used (leaders and parents read per event). */
  peek(pid: number, startTicks?: number): ProcEntry | undefined {
    const e = this.live.get(pid);
    if (!e || (startTicks !== undefined && e.startTicks !== startTicks)) return undefined;
    return e;
  }

  entityIdOf(pid: number, startTicks: number): string {
    const e = this.live.get(pid);
    if (e && e.startTicks === startTicks) return e.entityId;
    return entityId(this.opts.hostId, pid, startTicks);
  }

  /** Insert or replace; takes `entry` itself (callers pass a fresh object), completing it. */
  upsert(entry: Omit<ProcEntry, 'entityId'> & { entityId?: string }): ProcEntry {
    const full = entry as ProcEntry;
    full.entityId ??= entityId(this.opts.hostId, entry.pid, entry.startTicks);
    full.used = ++this.tick;
    this.live.set(entry.pid, full);
    if (this.live.size > this.opts.maxEntries) this.evict();
    return full;
  }

  /** Drop the least recently used eighth of the table (at least down to maxEntries) at once: amortized O(log n) per insert. */
  private evict(): void {
    const keep = Math.max(0, this.opts.maxEntries - Math.max(1, this.opts.maxEntries >> 3));
    const byUse = [...this.live.values()].sort((a, b) => (a.used ?? 0) - (b.used ?? 0));
    for (let i = 0; i < byUse.length - keep; i++) {
      this.live.delete(byUse[i]!.pid);
      this.evictions++;
    }
  }

  /**
   * The process exited at `atMs` (the exit event's time, ms since the epoch).
   * The table's clock is the latest such time: events from several CPUs
   * arrive slightly out of order and a wall clock may be set back, so it
   * never moves backwards and the exit queue stays in order.
   */
  markExited(pid: number, startTicks: number, atMs: number): void {
    if (atMs > this.clock) this.clock = atMs;
    const e = this.live.get(pid);
    if (!e || e.startTicks !== startTicks) return;
    e.exited = true;
    this.exited.push({ pid, start: startTicks, at: this.clock });
    this.expire();
  }

  /** The event clock: the latest exit time seen (ms since the epoch). */
  get now(): number {
    return this.clock;
  }

  /** Drop exited entries past their grace period (by default on the event clock). */
  expire(now = this.clock): void {
    while (this.exitHead < this.exited.length && now - this.exited[this.exitHead]!.at > this.opts.exitGraceMs) {
      const x = this.exited[this.exitHead++]!;
      const e = this.live.get(x.pid);
      if (e && e.exited && e.startTicks === x.start) this.live.delete(x.pid);
    }
    if (this.exitHead > 4096 && this.exitHead * 2 > this.exited.length) {
      this.exited = this.exited.slice(this.exitHead);
      this.exitHead = 0;
    }
    // An exit whose entry was evicted meanwhile must not pin the queue's memory.
    if (this.exited.length - this.exitHead > this.opts.maxEntries) {
      this.exitHead = this.exited.length - this.opts.maxEntries;
    }
  }

  /** Seed from /proc: every process alive now. Returns how many were read. */
  seedFromProc(): number {
    const root = this.opts.procRoot ?? '/proc';
    let n = 0;
    let dirs: string[];
    try {
      dirs = readdirSync(root);
    } catch {
      return 0;
    }
    for (const d of dirs) {
      if (!/^\d+$/.test(d)) continue;
      const e = readProc(root, Number(d));
      if (e) {
        this.upsert(e);
        n++;
      }
    }
    // Parents' start times are known now that every process is read.
    for (const e of this.live.values()) {
      const p = this.live.get(e.ppid);
      if (p) e.parentStartTicks = p.startTicks;
    }
    // Entry leaders need every ancestor: parents first.
    const done = new Set<number>();
    const visit = (e: ProcEntry, depth: number): void => {
      if (done.has(e.pid)) return;
      const p = e.ppid !== e.pid ? this.live.get(e.ppid) : undefined;
      if (p && depth < 4096) visit(p, depth + 1);
      done.add(e.pid);
      assignEntryLeader(e, p);
    };
    for (const e of this.live.values()) visit(e, 0);
    return n;
  }
}

/**
 * One /proc/<pid> entry. Start time is field 22 of stat: task->start_boottime
 * in clock ticks, the same clock the BPF side reads in ns.
 */
export function readProc(root: string, pid: number): Omit<ProcEntry, 'entityId'> | undefined {
  try {
    const stat = readFileSync(`${root}/${pid}/stat`, 'latin1');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const ppid = Number(fields[1]);
    const startTicks = Number(fields[19]);
    const entry = newEntry(pid, startTicks, name, ppid);
    entry.pgid = Number(fields[2]);
    entry.sid = Number(fields[3]);
    // stat's tty_nr: minor in bits 0-7 and 20-31, major in bits 8-19; the kernel record's is major << 20 | minor.
    const ttyNr = Number(fields[4]);
    if (ttyNr) entry.tty = ((((ttyNr >>> 8) & 0xfff) << 20) | ((ttyNr & 0xff) | ((ttyNr >>> 12) & 0xfff00))) >>> 0;
    try {
      const status = readFileSync(`${root}/${pid}/status`, 'latin1');
      const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
      const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status);
      if (uid) entry.uid = uid[1]!;
      if (gid) entry.gid = gid[1]!;
    } catch {
      // raced with exit
    }
    try {
      entry.executable = readlinkSync(`${root}/${pid}/exe`);
    } catch {
      // kernel threads and zombies have no exe
    }
    try {
      entry.cwd = readlinkSync(`${root}/${pid}/cwd`);
    } catch {
      // raced with exit
    }
    try {
      const cmd = readFileSync(`${root}/${pid}/cmdline`);
      if (cmd.length) {
        const parts = cmd.toString('utf8').split('\0');
        if (parts[parts.length - 1] === '') parts.pop();
        entry.args = parts;
      }
    } catch {
      // raced with exit
    }
    return entry;
  } catch {
    return undefined;
  }
}
