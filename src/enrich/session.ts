/**
 * enrich/session: Elastic Session View context from the process table — the
 * session, process-group and entry leaders of a process, its previous image
 * on exec, and its parent's user, group, working directory, interactivity
 * and tty.
 *
 * Takes: the process table entries of a process and its parent (kept current
 * through fork, exec and every event's session/group ids, seeded from /proc).
 * Gives: the canonical event's leader and parent fields, filled in place when
 * absent (replayed events keep theirs).
 *
 * The entry leader is where a session entered the host: pid 1 (init), the
 * session leader a terminal login, sshd, a container runtime or an SSM agent
 * started, or a session leader whose parent is init (a service). Every other
 * process inherits its parent's entry leader.
 */
import type { EntryType, LeaderRef, SensorEvent } from '../model/event.js';
import type { ProcEntry, ProcessTable } from './process-table.js';

const ENTRY_BY_PARENT: ReadonlyMap<string, EntryType> = new Map<string, EntryType>([
  ['sshd', 'sshd'],
  ['sshd-session', 'sshd'],
  ['login', 'terminal'],
  ['agetty', 'terminal'],
  ['getty', 'terminal'],
  ['mingetty', 'terminal'],
  ['containerd-shim', 'container'],
  ['containerd-shim-runc-v2', 'container'],
  ['runc', 'container'],
  ['crun', 'container'],
  ['conmon', 'container'],
  ['ssm-session-worker', 'ssm'],
  ['teleport', 'teleport'],
  ['kubelet', 'kubelet'],
]);

function baseName(e: ProcEntry): string {
  const x = e.executable;
  return x ? x.slice(x.lastIndexOf('/') + 1) || e.name : e.name;
}

/** Decide the entry leader of `e` from its parent's (call parents first). */
export function assignEntryLeader(e: ProcEntry, parent: ProcEntry | undefined): void {
  if (e.pid === 1) {
    e.entryPid = 1;
    e.entryStartTicks = e.startTicks;
    e.entryType = 'init';
    return;
  }
  const leadsSession = e.sid !== undefined && e.sid === e.pid;
  if (leadsSession) {
    const kind = parent ? ENTRY_BY_PARENT.get(baseName(parent)) : undefined;
    const type: EntryType | undefined = kind ?? (!parent || parent.pid === 1 || e.ppid === 0 || e.ppid === 2 ? 'init' : undefined);
    if (type) {
      e.entryPid = e.pid;
      e.entryStartTicks = e.startTicks;
      e.entryType = type;
      return;
    }
  }
  if (parent?.entryPid !== undefined) {
    e.entryPid = parent.entryPid;
    if (parent.entryStartTicks !== undefined) e.entryStartTicks = parent.entryStartTicks;
    if (parent.entryType !== undefined) e.entryType = parent.entryType;
  }
}

function leaderRef(table: ProcessTable, pid: number, startTicks?: number): LeaderRef {
  const l = table.peek(pid, startTicks);
  const ref: LeaderRef = { pid };
  if (!l) return ref;
  ref.entity_id = l.entityId;
  ref.name = baseName(l);
  if (l.executable !== undefined) ref.executable = l.executable;
  if (l.args !== undefined) ref.args = l.args;
  if (l.start !== undefined) ref.start = l.start;
  if (l.uid !== undefined) ref.user = { id: l.uid };
  if (l.gid !== undefined) ref.group = { id: l.gid };
  return ref;
}

/**
 * The event's Session View fields from the table. `entry` is the process's
 * entry (already updated for this event), `before` its image before an exec.
 */
export function fillSession(table: ProcessTable, ev: SensorEvent, entry: ProcEntry | undefined, before: { executable?: string; args?: string[] } | undefined): void {
  const p = ev.process;
  if (ev.ebpf.kind === 'exec' && ev.event.outcome === 'success' && before?.executable !== undefined && p.previous === undefined) {
    p.previous = [{ executable: before.executable, ...(before.args !== undefined ? { args: before.args } : {}) }];
  }
  if (entry) {
    if (p.session_leader === undefined && entry.sid) p.session_leader = leaderRef(table, entry.sid);
    if (p.group_leader === undefined && entry.pgid) p.group_leader = leaderRef(table, entry.pgid);
    if (p.entry_leader === undefined && entry.entryPid !== undefined) {
      const l = leaderRef(table, entry.entryPid, entry.entryStartTicks);
      if (entry.entryType !== undefined) l.entry_meta = { type: entry.entryType };
      p.entry_leader = l;
    }
  }
  const par = p.parent;
  const pe = table.peek(par.pid);
  if (pe && (par.entity_id === undefined || par.entity_id === pe.entityId)) {
    if (par.user === undefined && pe.uid !== undefined) par.user = { id: pe.uid };
    if (par.group === undefined && pe.gid !== undefined) par.group = { id: pe.gid };
    if (par.working_directory === undefined && pe.cwd !== undefined) par.working_directory = pe.cwd;
    if (par.interactive === undefined) par.interactive = !!pe.tty;
    if (par.tty === undefined && pe.tty) par.tty = { char_device: { major: pe.tty >>> 20, minor: pe.tty & 0xfffff } };
  }
}
