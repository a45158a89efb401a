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
 * A leader's object is built once per leader table entry and handed, frozen,
 * to every event that names it (a fork storm's children share their
 * parent's three leaders): it is rebuilt when any field it was built from
 * changes in the entry (name, executable, args, start, user, group, entity
 * id; the pid is the table's key), when the entry leader's type differs, or when the user and group
 * names were re-read. Three leader objects (and their user and group
 * objects) per event were most of what fillSession allocated (issue-14).
 *
 * The entry leader is where a session entered the host: pid 1 (init), the
 * session leader a terminal login, sshd, a container runtime or an SSM agent
 * started, or a session leader whose parent is init (a service). Every other
 * process inherits its parent's entry leader.
 */
import type { EntryType, LeaderRef, SensorEvent, UserRef } from '../model/event.js';
import { namedUserRef } from '../model/user-ref.js';
import type { ProcEntry, ProcessTable } from './process-table.js';

/** What leader and parent user/group objects are named by (enrich's NameResolver). */
export interface LeaderNames {
  /** Changes whenever the tables are re-read. */
  readonly generation: number;
  user(id: string): string | undefined;
  groupName(id: string): string | undefined;
}

/**
 * A leader entry's shared object and the entry fields (and names
 * generation) it was built from. @internal Kept on the ProcEntry.
 */
export interface LeaderSlot {
  ref: LeaderRef;
  entityId: string;
  name: string;
  executable: string | undefined;
  args: string[] | undefined;
  start: string | undefined;
  uid: string | undefined;
  gid: string | undefined;
  names: number;
  /** The entry_meta.type the ref carries (entry leader slot only). */
  type: EntryType | undefined;
}

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

function userRef(id: string, names: LeaderNames | undefined, group: boolean): UserRef {
  const name = names === undefined ? undefined : group ? names.groupName(id) : names.user(id);
  return name === undefined ? { id } : namedUserRef(id, name);
}

/** A leader's user or group: frozen like the leader object it goes in. */
function leaderUser(id: string, names: LeaderNames | undefined, group: boolean): UserRef {
  const u = userRef(id, names, group);
  return Object.isFrozen(u) ? u : Object.freeze(u);
}

function fresh(slot: LeaderSlot | undefined, l: ProcEntry, names: LeaderNames | undefined, type: EntryType | undefined): slot is LeaderSlot {
  return (
    slot !== undefined &&
    slot.entityId === l.entityId &&
    slot.name === l.name &&
    slot.executable === l.executable &&
    slot.args === l.args &&
    slot.start === l.start &&
    slot.uid === l.uid &&
    slot.gid === l.gid &&
    slot.names === (names === undefined ? -1 : names.generation) &&
    slot.type === type
  );
}

/**
 * The leader's object: the shared one kept on its entry while still
 * what the entry says, a new one otherwise. `type` is the entry leader's
 * entry_meta.type (undefined for the session and group leaders).
 */
function leaderRef(table: ProcessTable, pid: number, startTicks: number | undefined, names: LeaderNames | undefined, entry: boolean, type: EntryType | undefined): LeaderRef {
  const l = table.peek(pid, startTicks);
  if (!l) {
    const ref: LeaderRef = { pid };
    if (type !== undefined) ref.entry_meta = { type };
    return ref;
  }
  const slot = entry ? l.entryLeaderSlot : l.leaderSlot;
  if (fresh(slot, l, names, type)) return slot.ref;
  const ref: LeaderRef = { pid };
  ref.entity_id = l.entityId;
  ref.name = baseName(l);
  if (l.executable !== undefined) ref.executable = l.executable;
  if (l.args !== undefined) ref.args = l.args;
  if (l.start !== undefined) ref.start = l.start;
  if (l.uid !== undefined) ref.user = leaderUser(l.uid, names, false);
  if (l.gid !== undefined) ref.group = leaderUser(l.gid, names, true);
  if (type !== undefined) ref.entry_meta = Object.freeze({ type });
  const made: LeaderSlot = {
    ref: Object.freeze(ref),
    entityId: l.entityId,
    name: l.name,
    executable: l.executable,
    args: l.args,
    start: l.start,
    uid: l.uid,
    gid: l.gid,
    names: names === undefined ? -1 : names.generation,
    type,
  };
  if (entry) l.entryLeaderSlot = made;
  else l.leaderSlot = made;
  return made.ref;
}

/**
 * The event's Session View fields from the table. `entry` is the process's
 * entry (already updated for this event), `before` its image before an exec.
 */
export function fillSession(
  table: ProcessTable,
  ev: SensorEvent,
  entry: ProcEntry | undefined,
  before: { readonly executable?: string | undefined; readonly args?: string[] | undefined } | undefined,
  names?: LeaderNames,
): void {
  const p = ev.process;
  if (ev.ebpf.kind === 'exec' && ev.event.outcome === 'success' && before?.executable !== undefined && p.previous === undefined) {
    // Built member by member: a spread with a conditional member per exec cost more than the rest (issue-14).
    const image: { executable: string; args?: string[] } = { executable: before.executable };
    if (before.args !== undefined) image.args = before.args;
    p.previous = [image];
  }
  if (entry) {
    if (p.session_leader === undefined && entry.sid) p.session_leader = leaderRef(table, entry.sid, undefined, names, false, undefined);
    if (p.group_leader === undefined && entry.pgid) p.group_leader = leaderRef(table, entry.pgid, undefined, names, false, undefined);
    if (p.entry_leader === undefined && entry.entryPid !== undefined) {
      p.entry_leader = leaderRef(table, entry.entryPid, entry.entryStartTicks, names, true, entry.entryType);
    }
  }
  const par = p.parent;
  const pe = table.peek(par.pid);
  if (pe && (par.entity_id === undefined || par.entity_id === pe.entityId)) {
    if (par.user === undefined && pe.uid !== undefined) par.user = userRef(pe.uid, names, false);
    if (par.group === undefined && pe.gid !== undefined) par.group = userRef(pe.gid, names, true);
    if (par.working_directory === undefined && pe.cwd !== undefined) par.working_directory = pe.cwd;
    if (par.interactive === undefined) par.interactive = !!pe.tty;
    if (par.tty === undefined && pe.tty) par.tty = { char_device: { major: pe.tty >>> 20, minor: pe.tty & 0xfffff } };
  }
}
