/**
 * enrich: adds what the kernel record does not carry.
 *
 * Takes: canonical events from decode (or replay). Gives: the same events,
 * completed in place with process.entity_id, executable, args and working
 * directory from the process table, the parent's name/executable/args,
 * user and group names, and the container id from the cgroup. Events that
 * already carry a field (replayed ones) keep it: enrichment is idempotent.
 */
import type { SensorEvent } from '../model/event.js';
import { ProcessTable, ticksOf, DEFAULT_TABLE_OPTIONS, type ProcEntry } from './process-table.js';
import { isoToEpochMs } from '../model/time.js';
import { join } from 'node:path';
import { NameResolver } from './names.js';
import { ContainerResolver } from './containers.js';
import { upgradeAction } from '../model/actions.js';
import { assignEntryLeader, fillSession } from './session.js';

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
}

function hostFile(root: string | undefined, path: string): string {
  return root === undefined || root === '/' ? path : join(root, path);
}

export class Enricher {
  readonly table: ProcessTable;
  private readonly names: NameResolver | undefined;
  private readonly containers: ContainerResolver | undefined;
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
    this.containers = opts.resolveContainers ? new ContainerResolver(opts.procRoot) : undefined;
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
    const ticks = startNs !== undefined ? ticksOf(startNs) : undefined;
    const parentNs = facts?.parent_start_boot_ns;
    const parentTicks = parentNs !== undefined ? ticksOf(parentNs) : undefined;

    let entry: ProcEntry | undefined;
    let before: { executable?: string; args?: string[] } | undefined;
    // What every record says of the acting task now (setsid/setpgid/setuid show on its next event).
    const tty = p.tty ? ((p.tty.char_device.major << 20) | p.tty.char_device.minor) >>> 0 : 0;
    const context = {
      uid: p.user.id,
      gid: p.group.id,
      ...(facts?.sid !== undefined ? { sid: facts.sid } : {}),
      ...(facts?.pgid !== undefined ? { pgid: facts.pgid } : {}),
      tty,
    };
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
        if (prev) before = { ...(prev.executable !== undefined ? { executable: prev.executable } : {}), ...(prev.args !== undefined ? { args: prev.args } : {}) };
        entry = this.table.upsert({
          ...context,
          ...(p.start !== undefined ? { start: p.start } : prev?.start !== undefined ? { start: prev.start } : {}),
          pid: p.pid,
          startTicks: ticks,
          name: p.name,
          ...(p.executable !== undefined ? { executable: p.executable } : {}),
          ...(p.args !== undefined ? { args: p.args } : {}),
          ...(cwd !== undefined ? { cwd } : {}),
          ppid: p.parent.pid,
          ...(parentTicks !== undefined ? { parentStartTicks: parentTicks } : {}),
          ...(facts?.cgroup_id !== undefined ? { cgroupId: facts.cgroup_id } : {}),
        });
        assignEntryLeader(entry, this.table.peek(entry.ppid, entry.parentStartTicks));
        break;
      }
      case 'fork': {
        if (ticks === undefined) break;
        const parent = parentTicks !== undefined ? this.table.get(p.parent.pid, parentTicks) : this.table.get(p.parent.pid);
        entry = this.table.upsert({
          // A child starts in its parent's session, group and identity.
          ...context,
          ...(parent?.sid !== undefined && facts?.sid === undefined ? { sid: parent.sid } : {}),
          ...(parent?.pgid !== undefined && facts?.pgid === undefined ? { pgid: parent.pgid } : {}),
          ...(p.start !== undefined ? { start: p.start } : {}),
          pid: p.pid,
          startTicks: ticks,
          name: parent?.name ?? p.parent.name ?? p.name,
          ...(parent?.executable !== undefined ? { executable: parent.executable } : {}),
          ...(parent?.args !== undefined ? { args: parent.args } : {}),
          ...(parent?.cwd !== undefined ? { cwd: parent.cwd } : {}),
          ppid: p.parent.pid,
          ...(parentTicks !== undefined ? { parentStartTicks: parentTicks } : {}),
        });
        assignEntryLeader(entry, parent);
        break;
      }
      default:
        entry = ticks !== undefined ? this.table.get(p.pid, ticks) : this.table.get(p.pid);
        if (!entry && ticks !== undefined) {
          // A process we have not met (raced with seeding): remember what we know.
          entry = this.table.upsert({
            pid: p.pid,
            startTicks: ticks,
            name: p.name,
            ppid: p.parent.pid,
            ...(parentTicks !== undefined ? { parentStartTicks: parentTicks } : {}),
          });
        } else if (entry && !entry.exited && (ev.ebpf.kind === 'setuid' || ev.ebpf.kind === 'setgid')) {
          // uid_change/gid_change: the id before the call is what the table knew; then the
          // table follows the task. Session and group changes reach the table with the next
          // exec or fork (replay's fast path mirrors exactly this: it materializes these kinds).
          if (ev.ebpf.ids && ev.ebpf.ids.previous === undefined) {
            const before = ev.ebpf.kind === 'setuid' ? entry.uid : entry.gid;
            if (before !== undefined) ev.ebpf.ids.previous = before;
          }
          entry.uid = context.uid;
          entry.gid = context.gid;
        } else if (entry && !entry.exited && ev.event.outcome === 'success') {
          this.followChange(ev, entry, context);
        }
    }

    if (!p.entity_id) p.entity_id = entry?.entityId ?? (ticks !== undefined ? this.table.entityIdOf(p.pid, ticks) : '');
    if (entry) {
      if (p.executable === undefined && entry.executable !== undefined) p.executable = entry.executable;
      if (p.args === undefined && entry.args !== undefined) {
        p.args = entry.args;
        p.args_count = entry.args.length;
        p.command_line = entry.args.join(' ');
      }
      if (p.working_directory === undefined && entry.cwd !== undefined) p.working_directory = entry.cwd;
      if (ev.ebpf.kind !== 'exec' && entry.executable) {
        const base = entry.executable.slice(entry.executable.lastIndexOf('/') + 1);
        if (base) p.name = base;
      }
    }

    const par = p.parent;
    if (!par.entity_id && parentTicks !== undefined) {
      const pe = this.table.get(par.pid, parentTicks);
      par.entity_id = pe?.entityId ?? this.table.entityIdOf(par.pid, parentTicks);
      if (pe) {
        if (par.name === undefined) {
          const base = pe.executable ? pe.executable.slice(pe.executable.lastIndexOf('/') + 1) : '';
          par.name = base || pe.name;
        }
        if (par.executable === undefined && pe.executable !== undefined) par.executable = pe.executable;
        if (par.args === undefined && pe.args !== undefined) {
          par.args = pe.args;
          par.command_line = pe.args.join(' ');
        }
      }
    }

    if (ev.ebpf.process_vm) this.fillTarget(ev.ebpf.process_vm.target);

    fillSession(this.table, ev, entry, before);

    // Grace on the event clock, not the wall clock: a replay keeps exactly
    // what the live sensor kept, however fast it runs.
    if (ev.ebpf.kind === 'exit' && ticks !== undefined) this.table.markExited(p.pid, ticks, isoToEpochMs(ev['@timestamp']));

    if (this.names) {
      const n = this.names;
      const fill = (u: { id: string; name?: string }, group: boolean): void => {
        if (u.name !== undefined) return;
        const name = group ? n.groupName(u.id) : n.user(u.id);
        if (name !== undefined) u.name = name;
      };
      fill(ev.user, false);
      fill(ev.group, true);
      fill(p.user, false);
      fill(p.group, true);
      fill(p.real_user, false);
      fill(p.real_group, true);
      fill(p.saved_user, false);
      fill(p.saved_group, true);
      if (p.parent.user) fill(p.parent.user, false);
      if (p.parent.group) fill(p.parent.group, true);
      for (const l of [p.session_leader, p.group_leader, p.entry_leader]) {
        if (l?.user) fill(l.user, false);
        if (l?.group) fill(l.group, true);
      }
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
        if (c.container) ev.container = { id: c.container.id, runtime: c.container.runtime };
      }
    }
  }
}
