/**
 * pipeline/replay-facts: what replay's fast path knows of a process without
 * building its events.
 *
 * Takes: a capture block's context definitions (read by position, not
 * parsed) and the host's process table. Gives: each context's process
 * facts (CtxInfo), whether enrich() would leave an event of it unchanged,
 * and the table effect of an event that is skipped, the one enrich() has
 * (shared with enrich.ts: actingEntry, metEntry; for forks,
 * forkEffect with enrich.ts forkEntry). Change counters per pid
 * (Epochs) tell how long a fact learned from the table holds.
 */
import type { EventKind } from '../model/event.js';
import { actingEntry, forkEntry, metEntry } from '../enrich/enrich.js';
import { entityId, ticksOf, type ProcessTable } from '../enrich/process-table.js';
import type { CaptureBlock } from '../sources/replay/replay-source.js';

const EXEC = 'exec';
const FORK = 'fork';
const EXIT = 'exit';

/** What the fast path needs from a context definition, computed once per block. */
export interface CtxInfo {
  ok: boolean;
  /** The facts past the core ones (executable … stable) have been read. */
  full: boolean;
  pid: number;
  ticks: number | undefined;
  ppid: number;
  parentTicks: number | undefined;
  name: string;
  parentName: string | undefined;
  executable: string | undefined;
  args: string[] | undefined;
  cwd: string | undefined;
  cgroupId: string | undefined;
  parentEntityId: string | undefined;
  /** enrich() fills nothing in events of this context (the name check aside). */
  stable: boolean;
  /** The table holds this process (pid, start), as of this epoch of its pid (-1: not known). */
  present: number;
  /** nameStable() held for non-exec events as of this epoch of the pid (-1: not known). */
  named: number;
  /** What a fork of this context writes into the child's new table entry; null: not known exactly (it is built). */
  task: TaskFacts | null;
}

/** The acting task's facts a fork puts into the child's table entry, beyond CtxInfo's (enrich.ts taskContext). */
export interface TaskFacts {
  uid: unknown;
  gid: unknown;
  sid: unknown;
  pgid: unknown;
  tty: number;
  start: unknown;
}

/**
 * The entity ids upsert() would compute (sha256 of host, pid and start), kept
 * for a while: a new process is upserted at its fork and again at its exec,
 * and the hash is most of the cost.
 */
export class EntityIds {
  private readonly memo = new Map<string, string>();
  constructor(private readonly hostId: string) {}
  of(pid: number, ticks: number): string {
    const key = `${pid}:${ticks}`;
    let id = this.memo.get(key);
    if (id === undefined) {
      if (this.memo.size >= 4096) this.memo.clear();
      id = entityId(this.hostId, pid, ticks);
      this.memo.set(key, id);
    }
    return id;
  }
}

/** Change counters per pid (see HostState.epochs in replay-fast.ts). */
export class Epochs {
  private readonly small = new Uint32Array(1 << 16);
  private readonly large = new Map<number, number>();
  get(pid: number): number {
    return pid >= 0 && pid < 65536 ? this.small[pid]! : (this.large.get(pid) ?? 0);
  }
  bump(pid: number): void {
    if (pid >= 0 && pid < 65536) this.small[pid]!++;
    else this.large.set(pid, (this.large.get(pid) ?? 0) + 1);
  }
}

function base(exe: string): string {
  return exe.slice(exe.lastIndexOf('/') + 1);
}

/**
 * Context leaves every table effect needs, in this order (see contextInfo);
 * from 'process.user.id' on, what a fork writes into the child's new entry
 * (TaskFacts: read with the others, one pass for both).
 */
const CORE_PATHS = [
  'process.pid',
  'process.parent.pid',
  'process.name',
  'process.parent.name',
  'ebpf.process.start_boot_ns',
  'ebpf.process.parent_start_boot_ns',
  'process.user.id',
  'process.group.id',
  'ebpf.process.sid',
  'ebpf.process.pgid',
  'process.start',
  'process.tty.char_device.major',
  'process.tty.char_device.minor',
] as const;
/** Leaves the rest needs: exec's table effect, and whether enrich() would fill anything in. */
const FULL_PATHS = ['process.entity_id', 'process.parent.entity_id', 'process.executable', 'process.args', 'process.working_directory', 'ebpf.process.cgroup_id'] as const;
const OBJECT_PATHS = ['process.user.id', 'process.group.id', 'user.id', 'group.id'];
const TTY = 'process.tty';

interface CoreIndex {
  /** Value positions to read, ascending, and the CORE_PATHS slot of each. */
  want: number[];
  slot: number[];
  /** enrich() reads the tty from process.tty.char_device (true), finds none (false), or would throw on it (null: TaskFacts unknown). */
  tty: boolean | null;
}

/** Per template (its leaf map): where the core leaves sit, sorted for one pass over the values. */
const coreIndex = new WeakMap<ReadonlyMap<string, number>, CoreIndex | null>();

function coreOf(leaves: ReadonlyMap<string, number>): CoreIndex | null {
  let ci = coreIndex.get(leaves);
  if (ci !== undefined) return ci;
  ci = null;
  // The objects downstream code walks through must be there (ids are always set in them).
  if (OBJECT_PATHS.every((p) => leaves.has(p)) && leaves.has('process.pid') && leaves.has('process.parent.pid')) {
    const pairs = CORE_PATHS.map((p, slot) => [leaves.get(p), slot] as const).filter((x): x is readonly [number, number] => x[0] !== undefined);
    pairs.sort((a, b) => a[0] - b[0]);
    let ttyLeaves = 0;
    for (const p of leaves.keys()) if (p === TTY || p.startsWith(`${TTY}.`)) ttyLeaves++;
    const cd = (leaves.has(CORE_PATHS[11]) ? 1 : 0) + (leaves.has(CORE_PATHS[12]) ? 1 : 0);
    // Any other leaf under process.tty (or process.tty itself a value) has enrich() read through a non-object.
    ci = { want: pairs.map((x) => x[0]), slot: pairs.map((x) => x[1]), tty: ttyLeaves !== cd ? null : cd > 0 };
  }
  coreIndex.set(leaves, ci);
  return ci;
}

/**
 * What the fast path needs of a context: the core facts every table effect
 * uses, read by position without parsing the rest. The other facts
 * (completeFacts) are read only for the contexts that need them.
 */
export function contextInfo(b: CaptureBlock, c: number): CtxInfo {
  const bad: CtxInfo = {
    ok: false,
    full: false,
    pid: 0,
    ticks: undefined,
    ppid: 0,
    parentTicks: undefined,
    name: '',
    parentName: undefined,
    executable: undefined,
    args: undefined,
    cwd: undefined,
    cgroupId: undefined,
    parentEntityId: undefined,
    stable: false,
    present: -1,
    named: -1,
    task: null,
  };
  const leaves = b.contextLeaves(c);
  const core = leaves && coreOf(leaves);
  if (!core) return bad;
  const got = b.contextAt(c, core.want);
  if (!got) return bad;
  const v: unknown[] = new Array(CORE_PATHS.length);
  for (let k = 0; k < got.length; k++) v[core.slot[k]!] = got[k];
  const [pid, ppid, name, parentName, start, pstart] = v;
  if (typeof pid !== 'number' || typeof ppid !== 'number') return bad;
  // Wrong types go the full path, which reports the record (a capture is input, not trusted).
  if (typeof name !== 'string' || (parentName !== undefined && typeof parentName !== 'string')) return bad;
  let ticks: number | undefined;
  let parentTicks: number | undefined;
  try {
    ticks = start !== undefined ? ticksOf(start as string) : undefined;
    parentTicks = pstart !== undefined ? ticksOf(pstart as string) : undefined;
  } catch {
    return bad; // not a number: the full path reports it
  }
  // As enrich() takes them from the built event, whatever their type (taskContext stores them as they are).
  const task: TaskFacts | null =
    core.tty === null ? null : { uid: v[6], gid: v[7], sid: v[8], pgid: v[9], start: v[10], tty: core.tty ? (((v[11] as number) << 20) | (v[12] as number)) >>> 0 : 0 };
  return { ...bad, ok: true, pid, ppid, ticks, parentTicks, name: name as string, parentName: parentName as string | undefined, task };
}

/** The rest of a context's facts, once: what exec's table effect needs, and whether enrich() would fill anything in. */
export function completeFacts(ci: CtxInfo, b: CaptureBlock, c: number): CtxInfo {
  if (ci.full) return ci;
  ci.full = true;
  const leaves = b.contextLeaves(c)!;
  const idx = FULL_PATHS.map((p) => leaves.get(p));
  const want = idx.filter((x): x is number => x !== undefined).sort((x, y) => x - y);
  const got = b.contextAt(c, want);
  if (!got) {
    ci.ok = false;
    return ci;
  }
  const get = (k: number): unknown => (idx[k] === undefined ? undefined : got[want.indexOf(idx[k]!)]);
  const entityId = get(0);
  ci.parentEntityId = get(1) as string | undefined;
  ci.executable = get(2) as string | undefined;
  ci.args = get(3) as string[] | undefined;
  ci.cwd = get(4) as string | undefined;
  ci.cgroupId = get(5) as string | undefined;
  const str = (x: unknown): boolean => x === undefined || typeof x === 'string';
  if (!str(entityId) || !str(ci.parentEntityId) || !str(ci.executable) || !str(ci.cwd) || !str(ci.cgroupId) || (ci.args !== undefined && !(Array.isArray(ci.args) && ci.args.every((a) => typeof a === 'string')))) {
    ci.ok = false;
    return ci;
  }
  ci.stable =
    typeof entityId === 'string' &&
    entityId !== '' &&
    ci.executable !== undefined &&
    ci.args !== undefined &&
    ci.cwd !== undefined &&
    (!!ci.parentEntityId || ci.parentTicks === undefined);
  return ci;
}

/**
 * Would enrich() leave process.name as the context has it? It renames the
 * process after the executable it knows for that pid (not for exec events),
 * so the answer depends on the process table now.
 */
export function nameStable(kind: EventKind, ci: CtxInfo, table: ProcessTable, epochs: Epochs): boolean {
  if (kind === EXEC) return true;
  let exe: string | undefined;
  if (kind === FORK) {
    if (ci.ticks === undefined) return true;
    exe = (ci.parentTicks !== undefined ? table.get(ci.ppid, ci.parentTicks) : table.get(ci.ppid))?.executable;
    const b = exe ? base(exe) : '';
    return !b || b === ci.name;
  }
  const epoch = epochs.get(ci.pid);
  if (ci.named === epoch) return true;
  const e = ci.ticks !== undefined ? table.get(ci.pid, ci.ticks) : table.get(ci.pid);
  exe = e?.executable;
  const b = exe ? base(exe) : '';
  const ok = !b || b === ci.name;
  // An entry that has exited may be dropped by the next expire() without a bump: do not remember it.
  if (ok && e && !e.exited) ci.named = epoch;
  return ok;
}

/**
 * What enrich() does to the process table for an event of this context and
 * kind, one the fast path may skip: never exec, fork, or a kind that changes
 * a process's ids, session or name (shapeStateOf sends those down the full
 * path). The acting process is looked up and added when the table does not
 * know it (actingEntry, metEntry: the code enrich() runs), and marked exited
 * at an exit. A lookup that would only refresh recency is left out: replay's
 * table never evicts. Checked against enrich() by
 * test/unit/replay-fast-path.test.ts.
 */
export function tableEffect(t: ProcessTable, kind: EventKind, c: CtxInfo, epochs: Epochs, ids: EntityIds, exitMs: number): void {
  if (kind === EXEC || kind === FORK) throw new Error(`replay fast path: a ${kind} event must be built, not skipped`);
  const ticks = c.ticks;
  // Known present since the pid's last change: the lookup would only refresh recency.
  if (kind !== EXIT && c.present === epochs.get(c.pid)) return;
  const entry = actingEntry(t, c.pid, ticks);
  if (!entry && ticks !== undefined) {
    epochs.bump(c.pid);
    t.upsert(metEntry(c.pid, ticks, c.name, c.ppid, c.parentTicks, ids.of(c.pid, ticks)));
    c.present = epochs.get(c.pid);
  } else if (entry && !entry.exited && ticks !== undefined) c.present = epochs.get(c.pid);
  if (kind === EXIT && ticks !== undefined) {
    epochs.bump(c.pid);
    t.markExited(c.pid, ticks, exitMs);
  }
}

/**
 * What enrich() does to the process table for a fork that no rule can
 * match (replay-fast.ts skips building it): the child's entry, built by
 * enrich.ts's forkEntry (the code enrich() runs) from the context's facts
 * and the parent's entry, with the entity id upsert() would compute (ids).
 * False when the facts cannot be read exactly: the fork is then built.
 * Lookups that would only refresh recency are left out (replay's table never
 * evicts). Checked against enrich() by test/unit/replay-fast-path.test.ts.
 *
 * Execs are always built: every successful exec is left open by rules on
 * values of its own (exec_of_downloaded_file …), and each is of a new
 * process context, so the own-value decision (replay-own.ts) would be
 * evaluated afresh every time, which costs more than building the exec.
 */
export function forkEffect(t: ProcessTable, ci: CtxInfo, epochs: Epochs, ids: EntityIds): boolean {
  const f = ci.task;
  if (!f) return false;
  const ticks = ci.ticks;
  const parentTicks = ci.parentTicks;
  epochs.bump(ci.pid);
  if (ticks === undefined) return true;
  const c = { uid: f.uid as string, gid: f.gid as string, sid: f.sid as number | undefined, pgid: f.pgid as number | undefined, tty: f.tty, pid: ci.pid, ticks, ppid: ci.ppid, parentTicks, start: f.start as string | undefined };
  forkEntry(t, c, ci.parentName ?? ci.name, ids.of(ci.pid, ticks));
  return true;
}
