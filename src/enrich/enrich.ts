/**
 * enrich: adds what the kernel record does not carry.
 *
 * Takes: canonical events from decode (or replay). Gives: the same events,
 * completed in place with process.entity_id, executable, args and working
 * directory from the process table, the parent's name/executable/args,
 * user and group names, the container id from the cgroup and, on a
 * Kubernetes node, the pod (name, namespace, uid) and container name. Events that
 * already carry a field (replayed ones) keep it: enrichment is idempotent.
 */
import type { LeaderRef, OrchestratorInfo, SensorEvent, UserRef } from '../model/event.js';
import { namedUserRef } from '../model/user-ref.js';
import { ProcessTable, newEntry, ticksOf, DEFAULT_TABLE_OPTIONS, type ProcEntry } from './process-table.js';
import { isoToEpochMs } from '../model/time.js';
import { join } from 'node:path';
import { NameResolver } from './names.js';
import { ContainerResolver } from './containers.js';
import { PodResolver } from './pods.js';
import type { PodMeta } from './pod-api.js';
import { upgradeAction } from '../model/actions.js';
import { assignEntryLeader, fillSession } from './session.js';
import { commandLine } from '../model/command-line.js';

export interface EnricherOptions {
  hostId: string;
  /** Seed the process table from /proc (live sensor; not for replay). */
  seedFromProc: boolean;
  /** Resolve containers from /proc/<pid>/cgroup (live sensor only). */
  resolveContainers: boolean;
  /** Resolve user/group names from /etc/passwd and /etc/group. */
  resolveNames: boolean;
  maxProcesses?: number;
  procRoot?: string;
  /** The host's root file system (container mode): passwd and group are read under it. Default '/'. */
  hostRoot?: string;
  /** Pod labels from the API server (kubernetes.podLabels): a cache asked per event, refreshed in the background. */
  podApi?: { pod(uid: string): PodMeta | undefined };
}

type NewEntry = Omit<ProcEntry, 'entityId'>;

/**
 * A new table entry with what every record says of the acting task now
 * (setsid/setpgid/setuid show on its next event). Shared with replay's fast
 * path (pipeline/replay-facts.ts `lifecycleEffect`), which restates the fork
 * and exec cases below as a table effect.
 */
export function taskContext(uid: string, gid: string, sid: number | undefined, pgid: number | undefined, tty: number, pid: number, startTicks: number, name: string, ppid: number): NewEntry {
  const e = newEntry(pid, startTicks, name, ppid);
  e.uid = uid;
  e.gid = gid;
  e.tty = tty;
  if (sid !== undefined) e.sid = sid;
  if (pgid !== undefined) e.pgid = pgid;
  return e;
}

/**
 * The child's table entry a fork makes: the child starts in its parent's
 * session, group and identity (where the record has none of its own), with
 * the parent's image. Shared with replay's fast path (pipeline/replay-facts.ts
 * forkEffect), which applies this table effect without building the event and
 * passes the entity id it has already computed (the same hash upsert() would).
 */
export function forkEntry(
  table: ProcessTable,
  c: { uid: string; gid: string; sid: number | undefined; pgid: number | undefined; tty: number; pid: number; ticks: number; ppid: number; parentTicks: number | undefined; start: string | undefined },
  /** The child's name when the table has no parent entry to take it from. */
  name: string,
  entityId?: string,
): ProcEntry {
  const parent = c.parentTicks !== undefined ? table.get(c.ppid, c.parentTicks) : table.get(c.ppid);
  const e = taskContext(c.uid, c.gid, c.sid ?? parent?.sid, c.pgid ?? parent?.pgid, c.tty, c.pid, c.ticks, parent?.name ?? name, c.ppid);
  if (c.start !== undefined) e.start = c.start;
  if (parent?.executable !== undefined) e.executable = parent.executable;
  if (parent?.args !== undefined) e.args = parent.args;
  if (parent?.cwd !== undefined) e.cwd = parent.cwd;
  if (c.parentTicks !== undefined) e.parentStartTicks = c.parentTicks;
  if (entityId !== undefined) (e as { entityId?: string }).entityId = entityId;
  const entry = table.upsert(e);
  assignEntryLeader(entry, parent);
  return entry;
}

/**
 * The table's entry for the process acting in an event other than exec or
 * fork: by pid and start when the record has the start, by pid alone
 * otherwise. Shared with replay's fast path (pipeline/replay-facts.ts),
 * which applies this table effect without building the event.
 */
export function actingEntry(table: ProcessTable, pid: number, ticks: number | undefined): ProcEntry | undefined {
  return ticks !== undefined ? table.get(pid, ticks) : table.get(pid);
}

/**
 * The entry for a process met acting that the table does not know (raced
 * with seeding, or older than a recording): what its record says. Replay
 * passes the entity id it has already computed (the same hash upsert()
 * would compute). Shared with replay's fast path.
 */
export function metEntry(pid: number, ticks: number, name: string, ppid: number, parentTicks: number | undefined, entityId?: string): NewEntry & { entityId?: string } {
  const e = newEntry(pid, ticks, name, ppid);
  if (entityId !== undefined) e.entityId = entityId;
  if (parentTicks !== undefined) e.parentStartTicks = parentTicks;
  return e;
}

/** `u` with its name: the shared named reference (model/user-ref.ts), or `u` itself when it has one or none is known. */
function named(n: NameResolver, u: UserRef, group: boolean): UserRef {
  if (u.name !== undefined) return u;
  const name = group ? n.groupName(u.id) : n.user(u.id);
  return name === undefined ? u : namedUserRef(u.id, name);
}

function nameLeader(n: NameResolver, l: LeaderRef | undefined): void {
  if (l?.user) {
    const u = named(n, l.user, false);
    if (u !== l.user) l.user = u;
  }
  if (l?.group) {
    const g = named(n, l.group, true);
    if (g !== l.group) l.group = g;
  }
}

function hostFile(root: string | undefined, path: string): string {
  return root === undefined || root === '/' ? path : join(root, path);
}

/**
 * ticksOf with the last answer kept: a process's start (and its parent's)
 * repeats from one event to the next — the parent's through a whole fork
 * storm, a child's from its fork to its exit — and parsing the decimal back
 * cost a microsecond an event (issue-14).
 */
class LastTicks {
  private ns = '';
  private ticks = 0;

  of(ns: string): number {
    if (ns === this.ns) return this.ticks;
    const t = ticksOf(ns);
    this.ns = ns;
    this.ticks = t;
    return t;
  }
}

/**
 * An executable's base name, with the last answer kept: a process's events
 * (and a fork storm's children and their parent) name the same executable
 * string event after event, and a substring per event for process.name and
 * process.parent.name was garbage as soon as the line was written (issue-14
 * point 6).
 */
class LastBase {
  private exe = '';
  private base = '';

  of(exe: string): string {
    if (exe === this.exe) return this.base;
    const b = exe.slice(exe.lastIndexOf('/') + 1);
    this.exe = exe;
    this.base = b;
    return b;
  }
}

export class Enricher {
  readonly table: ProcessTable;
  private readonly startTicks = new LastTicks();
  private readonly parentTicks = new LastTicks();
  private readonly processBase = new LastBase();
  private readonly parentBase = new LastBase();
  private readonly names: NameResolver | undefined;
  private readonly containers: ContainerResolver | undefined;
  private readonly podApi: EnricherOptions['podApi'];
  seeded = 0;

  constructor(opts: EnricherOptions) {
    this.table = new ProcessTable({
      hostId: opts.hostId,
      maxEntries: opts.maxProcesses ?? DEFAULT_TABLE_OPTIONS.maxEntries,
      exitGraceMs: DEFAULT_TABLE_OPTIONS.exitGraceMs,
      ...(opts.procRoot !== undefined ? { procRoot: opts.procRoot } : {}),
    });
    if (opts.seedFromProc) this.seeded = this.table.seedFromProc();
    this.names = opts.resolveNames ? new NameResolver(hostFile(opts.hostRoot, '/etc/passwd'), hostFile(opts.hostRoot, '/etc/group')) : undefined;
    this.containers = opts.resolveContainers
      ? new ContainerResolver(opts.procRoot, undefined, new PodResolver(hostFile(opts.hostRoot, '/var/log')))
      : undefined;
    this.podApi = opts.podApi;
  }

  /**
   * The table follows a process's own changes at once: a new session
   * (setsid: its sid and pgid are now its pid, the record says so), a process
   * group moved (setpgid, possibly of a child), a comm rename (prctl). Later
   * events of the process and its children see the new leaders without
   * waiting for an exec or fork.
   */
  private followChange(ev: SensorEvent, entry: ProcEntry, context: { sid?: number; pgid?: number }): void {
    switch (ev.ebpf.kind) {
      case 'setsid':
        if (context.sid !== undefined) entry.sid = context.sid;
        if (context.pgid !== undefined) entry.pgid = context.pgid;
        break;
      case 'setpgid': {
        const g = ev.ebpf.process_group;
        if (!g) break;
        const pid = g.pid === 0 ? ev.process.pid : g.pid;
        const target = pid === ev.process.pid ? entry : this.table.get(pid);
        if (target) target.pgid = g.pgid === 0 ? pid : g.pgid;
        break;
      }
      case 'prctl':
        if (ev.ebpf.prctl?.name !== undefined) entry.name = ev.ebpf.prctl.name;
        break;
      default:
        break;
    }
  }

  /** process_vm: the other process, from the table. */
  private fillTarget(t: { pid: number; name?: string; executable?: string; entity_id?: string }): void {
    const e = this.table.get(t.pid);
    if (!e) return;
    if (t.entity_id === undefined) t.entity_id = e.entityId;
    if (t.executable === undefined && e.executable !== undefined) t.executable = e.executable;
    if (t.name === undefined) {
      const base = e.executable ? e.executable.slice(e.executable.lastIndexOf('/') + 1) : '';
      t.name = base || e.name;
    }
  }

  enrichBatch(events: SensorEvent[]): void {
    for (const ev of events) this.enrich(ev);
    this.table.expire();
  }

  enrich(ev: SensorEvent): void {
    // Events recorded by an older version carry the syscall in event.action.
    upgradeAction(ev);
    const p = ev.process;
    const facts = ev.ebpf.process;
    const startNs = facts?.start_boot_ns;
    const ticks = startNs !== undefined ? this.startTicks.of(startNs) : undefined;
    const parentNs = facts?.parent_start_boot_ns;
    const parentTicks = parentNs !== undefined ? this.parentTicks.of(parentNs) : undefined;

    let entry: ProcEntry | undefined;
    /** The image an exec leaves: the entry it replaces (read only; nothing changes an entry once replaced). */
    let before: { readonly executable?: string | undefined; readonly args?: string[] | undefined } | undefined;
    // What every record says of the acting task now (setsid/setpgid/setuid show on its next event).
    const tty = p.tty ? ((p.tty.char_device.major << 20) | p.tty.char_device.minor) >>> 0 : 0;
    // Replay's fast path restates the exec and fork cases as a table effect (pipeline/replay-facts.ts
    // lifecycleEffect): keep them in step (test/unit/replay-fast-path.test.ts compares the two).
    switch (ev.ebpf.kind) {
      case 'exec': {
        if (ticks === undefined) break;
        const prev = this.table.get(p.pid, ticks);
        if (ev.event.outcome === 'failure') {
          // The image did not change: the process is still what it was.
          entry = prev;
          break;
        }
        const cwd = p.working_directory ?? prev?.cwd;
        before = prev;
        // Built field by field: object spreads with conditional members cost more than the rest of enrich (issue-14).
        const e = taskContext(p.user.id, p.group.id, facts?.sid, facts?.pgid, tty, p.pid, ticks, p.name, p.parent.pid);
        const start = p.start ?? prev?.start;
        if (start !== undefined) e.start = start;
        if (p.executable !== undefined) e.executable = p.executable;
        if (p.args !== undefined) e.args = p.args;
        if (cwd !== undefined) e.cwd = cwd;
        if (parentTicks !== undefined) e.parentStartTicks = parentTicks;
        if (facts?.cgroup_id !== undefined) e.cgroupId = facts.cgroup_id;
        // Same pid and start, same entity: the id the entry has, not a sha256 per exec (issue-14).
        if (prev) (e as { entityId?: string }).entityId = prev.entityId;
        entry = this.table.upsert(e);
        assignEntryLeader(entry, this.table.peek(entry.ppid, entry.parentStartTicks));
        break;
      }
      case 'fork': {
        if (ticks === undefined) break;
        const c = { uid: p.user.id, gid: p.group.id, sid: facts?.sid, pgid: facts?.pgid, tty, pid: p.pid, ticks, ppid: p.parent.pid, parentTicks, start: p.start };
        entry = forkEntry(this.table, c, p.parent.name ?? p.name);
        break;
      }
      default:
        entry = actingEntry(this.table, p.pid, ticks);
        if (!entry && ticks !== undefined) {
          // A process we have not met (raced with seeding): remember what we know.
          entry = this.table.upsert(metEntry(p.pid, ticks, p.name, p.parent.pid, parentTicks));
        } else if (entry && !entry.exited && (ev.ebpf.kind === 'setuid' || ev.ebpf.kind === 'setgid')) {
          // uid_change/gid_change: the id before the call is what the table knew; then the
          // table follows the task (replay's fast path mirrors exactly this: it materializes
          // these kinds).
          if (ev.ebpf.ids && ev.ebpf.ids.previous === undefined) {
            const before = ev.ebpf.kind === 'setuid' ? entry.uid : entry.gid;
            if (before !== undefined) ev.ebpf.ids.previous = before;
          }
          entry.uid = p.user.id;
          entry.gid = p.group.id;
        } else if (entry && !entry.exited && ev.event.outcome === 'success') {
          this.followChange(ev, entry, facts ?? {});
        }
    }

    if (!p.entity_id) p.entity_id = entry?.entityId ?? (ticks !== undefined ? this.table.entityIdOf(p.pid, ticks) : '');
    // The writer of an executed file is an entity like any other (it may long have exited).
    const w = ev.ebpf.provenance?.writer;
    if (w && !w.entity_id) w.entity_id = this.table.entityIdOf(w.pid, ticksOf(w.start_boot_ns));
    if (entry) {
      if (p.executable === undefined && entry.executable !== undefined) p.executable = entry.executable;
      if (p.args === undefined && entry.args !== undefined) {
        p.args = entry.args;
        p.args_count = entry.args.length;
        p.command_line = commandLine(entry.args);
      }
      if (p.working_directory === undefined && entry.cwd !== undefined) p.working_directory = entry.cwd;
      if (ev.ebpf.kind !== 'exec' && entry.executable) {
        const base = this.processBase.of(entry.executable);
        if (base) p.name = base;
      }
    }

    const par = p.parent;
    if (!par.entity_id && parentTicks !== undefined) {
      const pe = this.table.get(par.pid, parentTicks);
      par.entity_id = pe?.entityId ?? this.table.entityIdOf(par.pid, parentTicks);
      if (pe) {
        // Named like the process itself (its file's base name): a fork record names the parent by
        // its comm, which later events of the same parent would contradict (cut at 15 bytes, or
        // changed by prctl), so the table's name wins when it has the file.
        const base = pe.executable ? this.parentBase.of(pe.executable) : '';
        if (base) par.name = base;
        else if (par.name === undefined) par.name = pe.name;
        if (par.executable === undefined && pe.executable !== undefined) par.executable = pe.executable;
        if (par.args === undefined && pe.args !== undefined) {
          par.args = pe.args;
          par.command_line = commandLine(pe.args);
        }
      }
    }

    if (ev.ebpf.process_vm) this.fillTarget(ev.ebpf.process_vm.target);

    // Names first: fillSession names the leaders it shares between events with the tables as they are now.
    this.names?.refresh();
    fillSession(this.table, ev, entry, before, this.names);

    // Grace on the event clock, not the wall clock: a replay keeps exactly
    // what the live sensor kept, however fast it runs.
    if (ev.ebpf.kind === 'exit' && ticks !== undefined) this.table.markExited(p.pid, ticks, isoToEpochMs(ev['@timestamp']));

    if (this.names) {
      const n = this.names;
      ev.user = named(n, ev.user, false);
      ev.group = named(n, ev.group, true);
      p.user = named(n, p.user, false);
      p.group = named(n, p.group, true);
      p.real_user = named(n, p.real_user, false);
      p.real_group = named(n, p.real_group, true);
      p.saved_user = named(n, p.saved_user, false);
      p.saved_group = named(n, p.saved_group, true);
      if (p.parent.user) p.parent.user = named(n, p.parent.user, false);
      if (p.parent.group) p.parent.group = named(n, p.parent.group, true);
      nameLeader(n, p.session_leader);
      nameLeader(n, p.group_leader);
      nameLeader(n, p.entry_leader);
      if (ev.file?.uid !== undefined && ev.file.owner === undefined) {
        const o = n.user(ev.file.uid);
        if (o !== undefined) ev.file.owner = o;
      }
      if (ev.file?.gid !== undefined && ev.file.group === undefined) {
        const g = n.groupName(ev.file.gid);
        if (g !== undefined) ev.file.group = g;
      }
    }

    if (this.containers && facts?.cgroup_id !== undefined && ev.container === undefined) {
      const c = this.containers.lookup(facts.cgroup_id, ev.ebpf.kind === 'fork' ? p.parent.pid : p.pid);
      if (c) {
        facts.cgroup = c.path;
        if (c.container) {
          ev.container = { id: c.container.id, runtime: c.container.runtime };
          if (c.pod?.container !== undefined) ev.container.name = c.pod.container;
        }
        if (c.pod) {
          const o: OrchestratorInfo = { type: 'kubernetes', resource: { type: 'pod', id: c.pod.uid } };
          if (c.pod.name !== undefined) o.resource.name = c.pod.name;
          if (c.pod.namespace !== undefined) o.namespace = c.pod.namespace;
          const meta = this.podApi?.pod(c.pod.uid);
          if (meta) {
            o.resource.name ??= meta.name;
            o.namespace ??= meta.namespace;
            if (meta.labels.length > 0) o.resource.label = meta.labels;
          }
          ev.orchestrator = o;
        }
      }
    }
  }
}
