/**
 * The compact journal record (format versions 3 and 4): an event stored
 * once, in the ECS line its sinks ship, plus what that line does not hold.
 *
 * Takes: a classified event and its ECS line (the one journaled with it).
 * Gives: the record's first part, `R` and the event as JSON with its
 * `process` member written as flags (`compactHead`; version 4: other members
 * the line holds written as 0, head-elision.ts), and back on read the
 * classified event, its process rebuilt from the ECS line's `process`
 * object (`rebuildEvent`). The process (its parent, leaders, capability
 * lists, users) is most of a canonical event's bytes and is written anyway
 * in the ECS line: stored once, it is serialized once per event.
 *
 * Exact by construction, not by hope: `processFits` admits only a process
 * whose every member the ECS process block writes in a form this module
 * reads back to the same value (JSON's value, as a version 2 record gives it:
 * undefined members left out), helped by a few bits in the head for what
 * ECS leaves out (two empty capability sets, an empty env list, an empty
 * entity id). Anything else — a member the model gained that this file
 * does not know, an empty leader argv, two previous images, a saved user
 * named unlike the effective one, raw kernel bytes (ECS shows them as
 * U+FFFD) — makes the journal store the canonical JSON instead (the
 * version 2 layout, readable in the same segment). A property test holds
 * canonical → record → canonical to the identity on random hostile events.
 * The verdict on a frozen object events share (users, leaders, capability
 * lists) is kept once proven: it is not walked again ("verdicts kept on shared objects").
 *
 * Key order: the rebuilt process's members come in the order of this file,
 * not in the order enrich created them (the values are the same; the
 * normalizers write the process in their own fixed order, so no output
 * depends on it). Everything outside `process` keeps its order.
 */
import type { ClassifiedEvent, LeaderRef, ProcessInfo, ProcessRef, UserRef } from '../model/event.js';
import { elided, elisionsOf, restoreElided } from './head-elision.js';

/** First byte of a compact payload ('R'); a canonical JSON payload starts with '{'. */
export const COMPACT_TAG = 0x52;

/**
 * What the ECS process block leaves out but the head's `"process":N` keeps,
 * as bits of N: common shapes that would otherwise send the event to the
 * canonical layout (an unprivileged task's two empty capability sets above all).
 */
const EMPTY_CAPS = 1;
const EMPTY_ENV = 2;
const NO_ENTITY = 4;

type Obj = Record<string, unknown>;

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number';
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- verdicts kept on shared objects ---------------------------------------------
//
// What processFits walks is mostly shared between events and cannot change:
// the users and groups (model/user-ref.ts's named references), the leaders
// (enrich/session.ts, one per leader entry, with their users and entry_meta),
// the capability lists (decode's capNames) — all frozen. A frozen object whose
// own members are all data members (no getter could answer differently next
// time) keeps its verdict for good, so it is walked a few times and then found in
// one of these sets. Anything not frozen is walked every time; a leader's
// args (the table entry's list, shared but not frozen) too.

/** Frozen users and groups that fit (userFits). */
const fitUsers = new WeakSet<object>();
/** Frozen leaders that fit but for their args (leaderFits), their user, group and entry_meta frozen. */
const fitLeaders = new WeakSet<object>();
/** Frozen lists of strings (strings), only lists at least LIST_MIN long: a shorter one is walked faster than looked up. */
const fitLists = new WeakSet<object>();
const LIST_MIN = 8;

/** Frozen objects found fitting once: proven settled when they fit again (see keep). */
const metOnce = new WeakSet<object>();

/**
 * Whether `o` is frozen with data members only: its members are what they
 * are now for good. One descriptor per member: ≈ 0.4 µs for a leader, 2 µs
 * for a 41-name capability list (getOwnPropertyDescriptors costs 5× that).
 */
function settled(o: object): boolean {
  if (!Object.isFrozen(o)) return false;
  const names = Object.getOwnPropertyNames(o);
  for (let i = 0; i < names.length; i++) if (!('value' in Object.getOwnPropertyDescriptor(o, names[i]!)!)) return false;
  return true;
}

/**
 * Keep the verdict on `o`, which was just walked and fits, in `set` if it is
 * settled — asked the second time it fits, not the first: a frozen object
 * made for one event (a capability set past decode's cache, a leader
 * rebuilt) then costs a WeakSet entry, not the proof.
 */
function keep(set: WeakSet<object>, o: object): void {
  if (!Object.isFrozen(o)) return;
  if (!metOnce.has(o)) metOnce.add(o);
  else if (settled(o)) set.add(o);
}

function strings(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  const n = v.length;
  if (n >= LIST_MIN && fitLists.has(v)) return true;
  for (let i = 0; i < n; i++) if (typeof v[i] !== 'string') return false;
  if (n >= LIST_MIN) keep(fitLists, v);
  return true;
}

function userFits(u: unknown): boolean {
  if (typeof u !== 'object' || u === null) return false;
  if (fitUsers.has(u)) return true;
  if (Array.isArray(u) || !isStr((u as Obj).id)) return false;
  for (const k in u) {
    const v = (u as Obj)[k];
    if (v === undefined) continue;
    if (k === 'id') continue;
    if (k !== 'name' || !isStr(v)) return false;
  }
  keep(fitUsers, u);
  return true;
}

function ttyFits(t: unknown): boolean {
  if (!isObj(t)) return false;
  for (const k in t) if (k !== 'char_device' && t[k] !== undefined) return false;
  const c = t.char_device;
  if (!isObj(c) || !isNum(c.major) || !isNum(c.minor)) return false;
  for (const k in c) if (k !== 'major' && k !== 'minor' && c[k] !== undefined) return false;
  return true;
}

/** What ecs.ts parentOf + session.ts addParentFields write, and nothing they drop. */
function parentFits(p: unknown): boolean {
  if (!isObj(p) || !isNum(p.pid)) return false;
  for (const k in p) {
    const v = p[k];
    if (v === undefined) continue;
    switch (k) {
      case 'pid':
        break;
      case 'entity_id': // written only when not empty
        if (!isStr(v) || v === '') return false;
        break;
      case 'name':
      case 'executable':
      case 'command_line':
      case 'start':
      case 'working_directory':
        if (!isStr(v)) return false;
        break;
      case 'args': // args_count tells an empty list from none
        if (!strings(v)) return false;
        break;
      case 'interactive':
        if (typeof v !== 'boolean') return false;
        break;
      case 'tty':
        if (!ttyFits(v)) return false;
        break;
      case 'user':
      case 'group':
        if (!userFits(v)) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** What session.ts leaderOf writes (same_as_process and args_count are derived, dropped on read). */
function leaderFits(l: unknown): boolean {
  if (typeof l !== 'object' || l === null) return false;
  // A frozen leader's args list is fixed, not its content: walked each time.
  if (fitLeaders.has(l)) return leaderArgs((l as Obj).args);
  if (!isObj(l) || !isNum(l.pid)) return false;
  for (const k in l) {
    const v = l[k];
    if (v === undefined) continue;
    switch (k) {
      case 'pid':
        break;
      case 'entity_id':
      case 'name':
      case 'executable':
      case 'start':
        if (!isStr(v)) return false;
        break;
      case 'args':
        if (!leaderArgs(v)) return false;
        break;
      case 'user':
      case 'group':
        if (!userFits(v)) return false;
        break;
      case 'entry_meta': {
        if (!isObj(v) || !isStr(v.type)) return false;
        for (const m in v) if (m !== 'type' && v[m] !== undefined) return false;
        break;
      }
      default:
        return false;
    }
  }
  // Kept once its user and group are (userFits above), its entry_meta proven with it.
  const meta = l.entry_meta as object | undefined;
  if ((l.user === undefined || fitUsers.has(l.user as object)) && (l.group === undefined || fitUsers.has(l.group as object)) && Object.isFrozen(l)) {
    if (!metOnce.has(l)) metOnce.add(l);
    else if ((meta === undefined || settled(meta)) && settled(l)) fitLeaders.add(l);
  }
  return true;
}

/** A leader's args: none, or a non-empty list of strings (an empty one is not written). */
function leaderArgs(v: unknown): boolean {
  return v === undefined || (strings(v) && (v as string[]).length > 0);
}

/** thread, real_user, real_group, saved_user, saved_group, parent: the members processFits requires. */
const MUST_ALL = 63;

/**
 * True when the ECS process block of `p` holds it exactly (see the file
 * header). Walks every member once: a member this file does not know
 * sends the event to the canonical layout.
 */
export function processFits(p: ProcessInfo): boolean {
  const o = p as unknown as Obj;
  if (!isObj(o) || !isNum(o.pid) || !isStr(o.name) || !userFits(o.user) || !userFits(o.group)) return false;
  let must = 0; // MUST bits of the members that must be there, set once checked
  for (const k in o) {
    const v = o[k];
    if (v === undefined) continue;
    switch (k) {
      case 'pid':
      case 'name':
      case 'user':
      case 'group':
        break;
      case 'entity_id': // written only when not empty (flag NO_ENTITY)
        if (!isStr(v)) return false;
        break;
      case 'executable':
      case 'command_line':
      case 'working_directory':
      case 'start':
      case 'end':
        if (!isStr(v)) return false;
        break;
      case 'args': // written with args_count: the count must be there to be read back
        if (!strings(v) || !isNum(o.args_count)) return false;
        break;
      case 'args_count': // written only beside args
        if (!isNum(v) || o.args === undefined) return false;
        break;
      case 'exit_code':
        if (!isNum(v)) return false;
        break;
      case 'interactive':
        if (typeof v !== 'boolean') return false;
        break;
      case 'env_vars': // an empty list is not written (flag EMPTY_ENV)
        if (!strings(v)) return false;
        break;
      case 'tty':
        if (!ttyFits(v)) return false;
        break;
      case 'thread': {
        if (!isObj(v) || !isNum(v.id)) return false;
        must |= 1;
        for (const t in v) {
          const tv = v[t];
          if (tv === undefined || t === 'id') continue;
          // Two empty sets are not written at all (flag EMPTY_CAPS).
          if (t !== 'capabilities' || !isObj(tv) || !strings(tv.effective) || !strings(tv.permitted)) return false;
          for (const c in tv) if (c !== 'effective' && c !== 'permitted' && tv[c] !== undefined) return false;
        }
        break;
      }
      case 'real_user':
      case 'real_group':
        if (!userFits(v)) return false;
        must |= k === 'real_user' ? 2 : 4;
        break;
      case 'saved_user':
      case 'saved_group': {
        // Written only when its id differs from the effective one's; otherwise read back as that one.
        if (!userFits(v)) return false;
        const eff = (k === 'saved_user' ? o.user : o.group) as UserRef;
        const s = v as UserRef;
        if (s.id === eff.id && s.name !== eff.name) return false;
        must |= k === 'saved_user' ? 8 : 16;
        break;
      }
      case 'parent':
        if (!parentFits(v)) return false;
        must |= 32;
        break;
      case 'session_leader':
      case 'group_leader':
      case 'entry_leader':
        if (!leaderFits(v)) return false;
        break;
      case 'previous': {
        // ECS keeps the last image only, and leaves out an empty argv.
        if (!Array.isArray(v) || v.length !== 1 || !isObj(v[0])) return false;
        const prev = v[0] as Obj;
        for (const pk in prev) {
          const pv = prev[pk];
          if (pv === undefined) continue;
          if (pk === 'executable' ? !isStr(pv) : pk !== 'args' || !strings(pv) || (pv as string[]).length === 0) return false;
        }
        break;
      }
      default:
        return false;
    }
  }
  // thread, the real and saved ids and the parent must be there (each checked above once): saved ids are
  // always there in the model, and a missing one could not be told from "same as effective".
  return must === MUST_ALL;
}

/** The `"process":N` bits of a process that fits. */
export function flagsOf(p: ProcessInfo): number {
  const caps = p.thread.capabilities;
  let f = caps !== undefined && caps.effective.length === 0 && caps.permitted.length === 0 ? EMPTY_CAPS : 0;
  if (p.env_vars !== undefined && p.env_vars.length === 0) f |= EMPTY_ENV;
  if (p.entity_id === '') f |= NO_ENTITY;
  return f;
}

/** `"process":N` of a compact head: flagsOf and (version 4) the members written as 0 (head-elision.ts). */
export function headFlags(ce: ClassifiedEvent): number {
  return flagsOf(ce.event.process) | elisionsOf(ce.event);
}

/** The members compactJson may swap: the process, and those written as 0 (head-elision.ts). */
const SWAPPED = ['process', 'ebpf', '@timestamp', 'event', 'user', 'group', 'file', 'container', 'source', 'destination'] as const;

/**
 * `R{"event":{…,"process":N,…},"verdict":…}`: the classified event as
 * JSON.stringify writes it, but for the process and what else the ECS line
 * holds, left to that line (N: headFlags; each member it names written as
 * 0). Only for an event whose process fits (processFits).
 *
 * One native JSON.stringify of the event with those members swapped for N
 * and 0 (and put back before returning, whatever happens): assigning an
 * existing member keeps its place in the key order, so the text is the one
 * a member-by-member walk writes (a test compares both on random hostile
 * events), at a fraction of the cost of stringifying each key and member on
 * its own. An event whose members cannot be swapped (frozen, an accessor)
 * takes the walk.
 */
export function compactHead(ce: ClassifiedEvent): string {
  return `R${compactJson(ce)}`;
}

/** compactHead without its `R` (the journal writes the tag as a byte: no concatenated string to flatten). */
export function compactJson(ce: ClassifiedEvent, flags: number = headFlags(ce)): string {
  const ev = ce.event as unknown as Obj;
  const keys = SWAPPED.filter((k) => k === 'process' || elided(k, flags));
  for (const k of keys) {
    const d = Object.getOwnPropertyDescriptor(ev, k);
    if (d === undefined || !d.writable || !d.enumerable || 'get' in d) return compactHeadWalk(ce, flags).slice(1);
  }
  const saved = keys.map((k) => ev[k]);
  try {
    for (const k of keys) ev[k] = k === 'process' ? flags : 0;
    return JSON.stringify(ce);
  } finally {
    keys.forEach((k, i) => (ev[k] = saved[i]));
  }
}

/** compactHead member by member (the slow form; the reference the swap is tested against). */
export function compactHeadWalk(ce: ClassifiedEvent, flags: number = headFlags(ce)): string {
  let s = 'R{';
  let first = true;
  const c = ce as unknown as Obj;
  for (const k in c) {
    const v = c[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    s += first ? `${JSON.stringify(k)}:` : `,${JSON.stringify(k)}:`;
    first = false;
    if (k !== 'event' || !isObj(v)) {
      s += JSON.stringify(v);
      continue;
    }
    let e = '{';
    let efirst = true;
    for (const ek in v) {
      const ev = v[ek];
      if (ev === undefined || typeof ev === 'function' || typeof ev === 'symbol') continue;
      e += efirst ? `${JSON.stringify(ek)}:` : `,${JSON.stringify(ek)}:`;
      efirst = false;
      e += ek === 'process' ? `${flags}` : elided(ek, flags) ? '0' : JSON.stringify(ev);
    }
    s += `${e}}`;
  }
  return `${s}}`;
}

// ---- reading ------------------------------------------------------------------

function userOf(u: Obj): UserRef {
  const o: UserRef = { id: u.id as string };
  if (u.name !== undefined) o.name = u.name as string;
  return o;
}

function ttyOf(t: Obj): { char_device: { major: number; minor: number } } {
  const c = t.char_device as Obj;
  return { char_device: { major: c.major as number, minor: c.minor as number } };
}

function parentOf(e: Obj): ProcessRef {
  const o: ProcessRef = { pid: e.pid as number };
  if (e.entity_id !== undefined) o.entity_id = e.entity_id as string;
  if (e.name !== undefined) o.name = e.name as string;
  if (e.executable !== undefined) o.executable = e.executable as string;
  if (e.args_count !== undefined) o.args = (e.args as string[] | undefined) ?? [];
  if (e.command_line !== undefined) o.command_line = e.command_line as string;
  if (e.start !== undefined) o.start = e.start as string;
  if (e.working_directory !== undefined) o.working_directory = e.working_directory as string;
  if (e.interactive !== undefined) o.interactive = e.interactive as boolean;
  if (e.tty !== undefined) o.tty = ttyOf(e.tty as Obj);
  if (e.user !== undefined) o.user = userOf(e.user as Obj);
  if (e.group !== undefined) o.group = userOf(e.group as Obj);
  return o;
}

function leaderOf(e: Obj): LeaderRef {
  const o: LeaderRef = { pid: e.pid as number };
  if (e.entity_id !== undefined) o.entity_id = e.entity_id as string;
  if (e.name !== undefined) o.name = e.name as string;
  if (e.executable !== undefined) o.executable = e.executable as string;
  if (e.args !== undefined) o.args = e.args as string[];
  if (e.start !== undefined) o.start = e.start as string;
  if (e.user !== undefined) o.user = userOf(e.user as Obj);
  if (e.group !== undefined) o.group = userOf(e.group as Obj);
  if (e.entry_meta !== undefined) o.entry_meta = { type: (e.entry_meta as Obj).type as NonNullable<LeaderRef['entry_meta']>['type'] };
  return o;
}

/** The canonical process from the `process` object of its ECS document (the inverse of processOf on what processFits admits). */
export function processFromEcs(e: Obj, flags: number): ProcessInfo {
  const user = userOf(e.user as Obj);
  const group = userOf(e.group as Obj);
  const t = e.thread as Obj;
  const thread: ProcessInfo['thread'] = { id: t.id as number };
  const caps = t.capabilities as Obj | undefined;
  if (caps !== undefined) thread.capabilities = { effective: (caps.effective as string[] | undefined) ?? [], permitted: (caps.permitted as string[] | undefined) ?? [] };
  else if (flags & EMPTY_CAPS) thread.capabilities = { effective: [], permitted: [] };
  const p = { pid: e.pid as number } as ProcessInfo;
  if (e.entity_id !== undefined || flags & NO_ENTITY) p.entity_id = (e.entity_id as string | undefined) ?? '';
  p.name = e.name as string;
  if (e.executable !== undefined) p.executable = e.executable as string;
  if (e.args_count !== undefined) {
    p.args = (e.args as string[] | undefined) ?? [];
    p.args_count = e.args_count as number;
  }
  if (e.command_line !== undefined) p.command_line = e.command_line as string;
  if (e.working_directory !== undefined) p.working_directory = e.working_directory as string;
  if (e.start !== undefined) p.start = e.start as string;
  if (e.end !== undefined) p.end = e.end as string;
  if (e.exit_code !== undefined) p.exit_code = e.exit_code as number;
  if (e.env_vars !== undefined) p.env_vars = e.env_vars as string[];
  else if (flags & EMPTY_ENV) p.env_vars = [];
  p.thread = thread;
  if (e.interactive !== undefined) p.interactive = e.interactive as boolean;
  if (e.tty !== undefined) p.tty = ttyOf(e.tty as Obj);
  p.user = user;
  p.group = group;
  p.real_user = userOf(e.real_user as Obj);
  p.real_group = userOf(e.real_group as Obj);
  p.saved_user = e.saved_user !== undefined ? userOf(e.saved_user as Obj) : userOf(e.user as Obj);
  p.saved_group = e.saved_group !== undefined ? userOf(e.saved_group as Obj) : userOf(e.group as Obj);
  p.parent = parentOf(e.parent as Obj);
  if (e.previous !== undefined) {
    const pv = e.previous as Obj;
    const img: { executable?: string; args?: string[] } = {};
    if (pv.executable !== undefined) img.executable = pv.executable as string;
    if (pv.args !== undefined) img.args = pv.args as string[];
    p.previous = [img];
  }
  if (e.session_leader !== undefined) p.session_leader = leaderOf(e.session_leader as Obj);
  if (e.group_leader !== undefined) p.group_leader = leaderOf(e.group_leader as Obj);
  if (e.entry_leader !== undefined) p.entry_leader = leaderOf(e.entry_leader as Obj);
  return p;
}

/**
 * The classified event of a compact record: `head` is the text after the
 * `R` tag, `ecs` the record's ECS line. Throws when either is not what the
 * writer stores.
 */
export function rebuildEvent(head: string, ecs: string): ClassifiedEvent {
  const ce = JSON.parse(head) as ClassifiedEvent;
  const doc = JSON.parse(ecs) as Obj;
  const flags = isObj(ce) && isObj(ce.event) ? (ce.event.process as unknown) : undefined;
  if (typeof flags !== 'number' || !isObj(doc) || !isObj(doc.process)) throw new Error('not a compact journal record');
  ce.event.process = processFromEcs(doc.process, flags);
  restoreElided(ce, doc, flags);
  return ce;
}
