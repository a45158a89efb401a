/**
 * normalize/ecs process fragments: the `"process":{…}` member of an ECS line,
 * written from text cached per process entity (ecs-serializer.ts's largest
 * part: identity, parent, users, and the Session View parts written by
 * ecs-session-text.ts: capabilities, leaders, the image an exec left).
 *
 * Takes: ProcessInfo. Gives: exactly what `ecsJson(toEcs())` writes for
 * process.* (processOf in ecs.ts, session.ts), without building an object,
 * in three parts (head through the thread id, capabilities, tail) that the
 * serializer hands on as they are: the large two are cached and flat.
 *
 * Every cache entry keeps the values it was written from and is used only
 * while each of them is the same (strings compare by reference first, so a
 * hit costs a few pointer compares): an event that changes one — exec, a new
 * cwd, args, a uid change, capabilities, a new parent or leader — writes that
 * fragment again. A process's text is four pieces: its identity (pid through
 * start, per entity, around an image — executable through working directory —
 * per executable), what only some events carry (end, exit_code, env_vars),
 * its thread (id, capabilities), and the tail (tty, users, parent, leaders)
 * cached per parent entity from the cached sub-fragments it is made of — so
 * in a fork storm the children of one parent share their image and tail, and
 * a child's line costs a few concatenations (issue-14).
 * Pure like the builder: the caches only hold what the inputs determine.
 */
import type { ProcessInfo, ProcessRef } from '../../model/event.js';
import { addParentFields, type TextGuards } from './session.js';
import { argsList, flat, num, obj, put, q, sameList, strList, text } from './ecs-text.js';
import { capabilities, forgetLeaders, leader, previous } from './ecs-session-text.js';
import { user } from './ecs-user.js';

/** Keys of process caches: the entity id, or the pid for a process without one. */
function keyOf(p: { entity_id?: string | undefined; pid: number }): string | number {
  return p.entity_id || p.pid;
}

// ---- identity: pid through start ---------------------------------------------------

interface Image {
  executable: string | undefined;
  args: readonly string[] | undefined;
  args_count: number | undefined;
  command_line: string | undefined;
  working_directory: string | undefined;
  text: string;
}

/** One image per executable: a fork's children (and every run of a program in one directory) write it once. */
const images = new Map<string | undefined, Image>();

/** `,"executable":…` through `,"working_directory":…`, as processOf writes them. */
function image(p: ProcessInfo): string {
  const c = images.get(p.executable);
  if (
    c !== undefined &&
    c.args_count === p.args_count &&
    c.command_line === p.command_line &&
    c.working_directory === p.working_directory &&
    sameList(c.args, p.args)
  ) {
    return c.text;
  }
  let s = '';
  if (p.executable !== undefined) s += `,"executable":${q(p.executable)}`;
  if (p.args !== undefined) {
    if (p.args.length) s += `,"args":${argsList(p.args)}`;
    s += `,"args_count":${num(p.args_count ?? p.args.length)}`;
  }
  if (p.command_line !== undefined) s += `,"command_line":${q(p.command_line)}`;
  if (p.working_directory !== undefined) s += `,"working_directory":${q(p.working_directory)}`;
  if (text.raw) return s;
  const { executable, args_count, command_line, working_directory } = p;
  put(images, executable, { executable, args: p.args?.slice(), args_count, command_line, working_directory, text: flat(s) });
  return s;
}

interface Identity {
  pid: number;
  entity_id: string;
  name: string;
  image: string;
  start: string | undefined;
  text: string;
}

const identities = new Map<string | number, Identity>();

/**
 * `"process":{"pid":…` through `"start":…`, as processOf writes them. Not
 * flattened: a process's text is asked for by its few events, and the line it
 * goes into is flattened once anyway where it is written out.
 */
function identity(p: ProcessInfo): string {
  const img = image(p);
  const k = keyOf(p);
  const c = identities.get(k);
  if (c !== undefined && c.pid === p.pid && c.entity_id === p.entity_id && c.name === p.name && c.image === img && c.start === p.start) {
    return c.text;
  }
  let s = `"process":{"pid":${num(p.pid)}`;
  if (p.entity_id) s += `,"entity_id":${q(p.entity_id)}`;
  s += `,"name":${q(p.name)}${img}`;
  if (p.start !== undefined) s += `,"start":${q(p.start)}`;
  if (text.raw) return s;
  put(identities, k, { pid: p.pid, entity_id: p.entity_id, name: p.name, image: img, start: p.start, text: s });
  return s;
}

// ---- parent ---------------------------------------------------------------------

interface Parent {
  /** The other variant kept for the same parent entity (see parent()). */
  other: Parent | undefined;
  pid: number;
  entity_id: string | undefined;
  name: string | undefined;
  executable: string | undefined;
  args: readonly string[] | undefined;
  command_line: string | undefined;
  start: string | undefined;
  working_directory: string | undefined;
  interactive: boolean | undefined;
  ttyMajor: number | undefined;
  ttyMinor: number | undefined;
  user: string | undefined;
  group: string | undefined;
  text: string;
}

const parents = new Map<string | number, Parent>();

/** Strings pass as they are: q() flags raw bytes when the block is written. */
const PLAIN: TextGuards = { text: (_f, v) => v, textList: (_f, l) => l.slice() };

function sameParent(c: Parent, p: ProcessRef, u: string | undefined, g: string | undefined): boolean {
  return (
    c.pid === p.pid &&
    c.entity_id === p.entity_id &&
    c.name === p.name &&
    c.executable === p.executable &&
    c.command_line === p.command_line &&
    c.start === p.start &&
    c.working_directory === p.working_directory &&
    c.interactive === p.interactive &&
    c.ttyMajor === p.tty?.char_device.major &&
    c.ttyMinor === p.tty?.char_device.minor &&
    c.user === u &&
    c.group === g &&
    sameList(c.args, p.args)
  );
}

/**
 * `{"pid":…}` of process.parent, as parentOf and session.ts addParentFields
 * write it. Two variants per parent entity: a fork's record names the parent
 * by its comm, its children's later events by its executable's base name, and
 * the two differ for any program whose file name is not its comm (a name past
 * 15 characters, python3.11 run as python3) — with one slot, a fork storm of
 * such a parent rewrote it (and the tail) every event (issue-14).
 */
function parent(p: ProcessRef): string {
  const k = keyOf(p);
  const first = parents.get(k);
  const u = p.user === undefined ? undefined : user(p.user);
  const g = p.group === undefined ? undefined : user(p.group);
  if (first !== undefined && sameParent(first, p, u, g)) return first.text;
  if (first?.other !== undefined && sameParent(first.other, p, u, g)) return first.other.text;
  let s = `{"pid":${num(p.pid)}`;
  if (p.entity_id) s += `,"entity_id":${q(p.entity_id)}`;
  if (p.name !== undefined) s += `,"name":${q(p.name)}`;
  if (p.executable !== undefined) s += `,"executable":${q(p.executable)}`;
  if (p.args !== undefined) {
    if (p.args.length) s += `,"args":${argsList(p.args)}`;
    s += `,"args_count":${num(p.args.length)}`;
  }
  if (p.command_line !== undefined) s += `,"command_line":${q(p.command_line)}`;
  if (p.start !== undefined) s += `,"start":${q(p.start)}`;
  if (p.working_directory === undefined && p.interactive === undefined && !p.tty && u === undefined && g === undefined) {
    s += '}';
  } else {
    const o: Record<string, unknown> = {};
    addParentFields(PLAIN, o, p);
    s = obj(o, s); // `,"working_directory":…}`
  }
  if (text.raw) return s;
  if (first !== undefined) first.other = undefined;
  put(parents, k, {
    other: first,
    pid: p.pid,
    entity_id: p.entity_id,
    name: p.name,
    executable: p.executable,
    args: p.args?.slice(),
    command_line: p.command_line,
    start: p.start,
    working_directory: p.working_directory,
    interactive: p.interactive,
    ttyMajor: p.tty?.char_device.major,
    ttyMinor: p.tty?.char_device.minor,
    user: u,
    group: g,
    text: flat(s),
  });
  return s;
}

// ---- the rest: thread through the leaders -------------------------------------------

/** The pieces a tail is made of (texts are the cached sub-fragments: equal while unchanged). */
interface Tail {
  /** The other variant kept for the same parent entity (its parent text differs: see parent()). */
  other: Tail | undefined;
  interactive: boolean | undefined;
  ttyMajor: number | undefined;
  ttyMinor: number | undefined;
  user: string;
  group: string;
  realUser: string;
  realGroup: string;
  savedUser: string;
  savedGroup: string;
  parent: string;
  previous: string;
  session: string;
  groupLeader: string;
  entry: string;
  text: string;
}

/**
 * Tails by parent entity: what follows `"thread":{…}` (tty, users, parent,
 * leaders) is, in a fork storm, the same text for every child of one parent,
 * so it is written once per parent rather than once per child. A child whose
 * tail differs (another user, a new session) writes its own and takes the slot.
 */
const tails = new Map<string | number, Tail>();

function sameTail(
  c: Tail,
  p: ProcessInfo,
  par: string,
  prev: string,
  u: string,
  g: string,
  ru: string,
  rg: string,
  su: string,
  sg: string,
  sl: string,
  gl: string,
  el: string,
): boolean {
  return (
    c.parent === par &&
    c.interactive === p.interactive &&
    c.ttyMajor === p.tty?.char_device.major &&
    c.ttyMinor === p.tty?.char_device.minor &&
    c.user === u &&
    c.group === g &&
    c.realUser === ru &&
    c.realGroup === rg &&
    c.savedUser === su &&
    c.savedGroup === sg &&
    c.previous === prev &&
    c.session === sl &&
    c.groupLeader === gl &&
    c.entry === el
  );
}

/**
 * `}` (the thread's) then `,"interactive":…` through the leaders and the
 * closing brace of process (two variants per parent entity, as parent()).
 */
function tail(p: ProcessInfo): string {
  const u = user(p.user);
  const g = user(p.group);
  const ru = user(p.real_user);
  const rg = user(p.real_group);
  const su = p.saved_user.id !== p.user.id ? user(p.saved_user) : '';
  const sg = p.saved_group.id !== p.group.id ? user(p.saved_group) : '';
  const par = parent(p.parent);
  const prev = previous(p);
  const sl = p.session_leader ? leader('s', p.session_leader, p) : '';
  const gl = p.group_leader ? leader('g', p.group_leader, p) : '';
  const el = p.entry_leader ? leader('e', p.entry_leader, p) : '';
  const k = keyOf(p.parent);
  const first = tails.get(k);
  // Texts compare by reference first: one pointer compare each when the caches gave the same strings.
  if (first !== undefined && sameTail(first, p, par, prev, u, g, ru, rg, su, sg, sl, gl, el)) return first.text;
  if (first?.other !== undefined && sameTail(first.other, p, par, prev, u, g, ru, rg, su, sg, sl, gl, el)) return first.other.text;
  let s = '}';
  if (p.interactive !== undefined) s += p.interactive ? ',"interactive":true' : ',"interactive":false';
  if (p.tty) s += `,"tty":{"char_device":{"major":${num(p.tty.char_device.major)},"minor":${num(p.tty.char_device.minor)}}}`;
  // The real ids are always written: Elastic's rules compare them with the effective ones.
  s += `,"user":${u},"group":${g},"real_user":${ru},"real_group":${rg}`;
  if (su) s += `,"saved_user":${su}`;
  if (sg) s += `,"saved_group":${sg}`;
  s += `,"parent":${par}${prev}`;
  if (sl) s += `,"session_leader":${sl}`;
  if (gl) s += `,"group_leader":${gl}`;
  if (el) s += `,"entry_leader":${el}`;
  s += '}';
  if (text.raw) return s;
  if (first !== undefined) first.other = undefined;
  put(tails, k, {
    other: first,
    interactive: p.interactive,
    ttyMajor: p.tty?.char_device.major,
    ttyMinor: p.tty?.char_device.minor,
    user: u,
    group: g,
    realUser: ru,
    realGroup: rg,
    savedUser: su,
    savedGroup: sg,
    parent: par,
    previous: prev,
    session: sl,
    groupLeader: gl,
    entry: el,
    text: flat(s),
  });
  return s;
}

/**
 * The process (or thread) exited: its own fragments will not be asked for
 * again (a late event writes them anew), so they go now instead of aging
 * into the old generation until the tables fill.
 */
export function forgetProcess(p: ProcessInfo): void {
  const k = keyOf(p);
  identities.delete(k);
  tails.delete(k);
  parents.delete(k);
  forgetLeaders(k);
}

/**
 * `"process":{…}` as processOf writes it, in the three parts it is made of:
 * joined, they are the block. Valid until the next call.
 */
export const block = {
  /** `,"process":{"pid":…` through `,"thread":{"id":…` (the cached identity and a few short strings; flat when it repeats) */
  head: '',
  /** `,"capabilities":{…}` of the thread, or '': cached per capability set, flat */
  caps: '',
  /** `}` of the thread through the closing brace of process: cached per parent entity, flat once cached */
  tail: '',
};

/**
 * The last head without end, exit_code or env_vars, and what it was written
 * from: a process's next event takes it again. Not flattened here: the
 * journal's write flattens it in place, once (an ecsLine caller may never).
 */
let lastIdentity = '';
let lastThread = NaN;
let lastHead = '';

/** Fills `block` for `p` and returns it. */
export function processBlock(p: ProcessInfo): typeof block {
  const id = identity(p);
  const tid = p.thread.id;
  if (p.end !== undefined || p.exit_code !== undefined || p.env_vars?.length) {
    let s = `,${id}`;
    if (p.end !== undefined) s += `,"end":${q(p.end)}`;
    if (p.exit_code !== undefined) s += `,"exit_code":${num(p.exit_code)}`;
    if (p.env_vars?.length) s += `,"env_vars":${strList(p.env_vars)}`;
    block.head = `${s},"thread":{"id":${num(tid)}`;
  } else if (id === lastIdentity && tid === lastThread) {
    block.head = lastHead;
  } else {
    block.head = `,${id},"thread":{"id":${num(tid)}`;
    if (!text.raw) {
      lastIdentity = id;
      lastThread = tid;
      lastHead = block.head;
    }
  }
  block.caps = capabilities(p.thread.capabilities);
  block.tail = tail(p);
  return block;
}
