/**
 * normalize/ecs Session View text: the parts of `"process":{…}` that
 * addSessionFields (session.ts) writes — capabilities, the session, group
 * and entry leaders, and the image an exec left (`previous`) — each cached
 * while the values it was written from are the same (ecs-process.ts puts
 * them in a process's tail).
 *
 * Takes: ProcessInfo, LeaderRef. Gives: their text, exactly as
 * `ecsJson(toEcs())` writes it.
 */
import type { LeaderRef, ProcessInfo } from '../../model/event.js';
import { argsList, flat, num, put, q, sameList, strList, text } from './ecs-text.js';
import { user } from './ecs-user.js';

/** Frozen capability lists (shared per set by decode) → `,"capabilities":{…}` as addSessionFields writes it. */
const capTexts = new WeakMap<readonly string[], WeakMap<readonly string[], string>>();

function capsList(effective: readonly string[], permitted: readonly string[]): string {
  let s = '';
  if (effective.length) s += `"effective":${strList(effective)}`;
  if (permitted.length) s += `${s ? ',' : ''}"permitted":${strList(permitted)}`;
  return s ? `,"capabilities":{${s}}` : ''; // ECS wants no empty lists
}

export function capabilities(caps: ProcessInfo['thread']['capabilities']): string {
  if (!caps) return '';
  const { effective, permitted } = caps;
  if (!Object.isFrozen(effective) || !Object.isFrozen(permitted)) return capsList(effective, permitted);
  let byPermitted = capTexts.get(effective);
  if (!byPermitted) {
    byPermitted = new WeakMap();
    capTexts.set(effective, byPermitted);
  }
  let t = byPermitted.get(permitted);
  if (t === undefined) {
    t = capsList(effective, permitted);
    if (!text.raw) byPermitted.set(permitted, (t = flat(t)));
  }
  return t;
}

interface Leader {
  /**
   * The leader object this was written from when it cannot change (frozen,
   * with its user, group and entry_meta: enrich/session.ts shares one per
   * leader entry between events), else undefined. The same object again
   * skips the field compares; its args are still compared (shared arrays).
   */
  ref: LeaderRef | undefined;
  pid: number;
  entity_id: string | undefined;
  name: string | undefined;
  executable: string | undefined;
  args: readonly string[] | undefined;
  start: string | undefined;
  user: string | undefined;
  group: string | undefined;
  entryType: string | undefined;
  /** The leader with `,"same_as_process":true}` and with false. */
  same: string;
  other: string;
}

const leaders = { s: new Map<string | number, Leader>(), g: new Map<string | number, Leader>(), e: new Map<string | number, Leader>() };

function unchanging(l: LeaderRef): boolean {
  return (
    Object.isFrozen(l) &&
    (l.user === undefined || Object.isFrozen(l.user)) &&
    (l.group === undefined || Object.isFrozen(l.group)) &&
    (l.entry_meta === undefined || Object.isFrozen(l.entry_meta))
  );
}

/** A leader as session.ts leaderOf writes it. */
export function leader(slot: keyof typeof leaders, l: LeaderRef, self: ProcessInfo): string {
  const same = l.pid === self.pid && (l.entity_id === undefined || l.entity_id === self.entity_id);
  const m = leaders[slot];
  const k = l.entity_id ?? l.pid;
  const c = m.get(k);
  if (c !== undefined && c.ref === l && sameList(c.args, l.args)) return same ? c.same : c.other;
  const u = l.user === undefined ? undefined : user(l.user);
  const g = l.group === undefined ? undefined : user(l.group);
  if (
    c !== undefined &&
    c.pid === l.pid &&
    c.entity_id === l.entity_id &&
    c.name === l.name &&
    c.executable === l.executable &&
    c.start === l.start &&
    c.user === u &&
    c.group === g &&
    c.entryType === l.entry_meta?.type &&
    sameList(c.args, l.args)
  ) {
    return same ? c.same : c.other;
  }
  let s = `{"pid":${num(l.pid)}`;
  if (l.entity_id !== undefined) s += `,"entity_id":${q(l.entity_id)}`;
  if (l.name !== undefined) s += `,"name":${q(l.name)}`;
  if (l.executable !== undefined) s += `,"executable":${q(l.executable)}`;
  if (l.args !== undefined && l.args.length) s += `,"args":${argsList(l.args)},"args_count":${num(l.args.length)}`;
  if (l.start !== undefined) s += `,"start":${q(l.start)}`;
  if (u !== undefined) s += `,"user":${u}`;
  if (g !== undefined) s += `,"group":${g}`;
  if (l.entry_meta !== undefined) s += `,"entry_meta":{"type":${q(l.entry_meta.type)}}`;
  const t: Leader = {
    ref: unchanging(l) ? l : undefined,
    pid: l.pid,
    entity_id: l.entity_id,
    name: l.name,
    executable: l.executable,
    args: l.args?.slice(),
    start: l.start,
    user: u,
    group: g,
    entryType: l.entry_meta?.type,
    same: flat(`${s},"same_as_process":true}`),
    other: flat(`${s},"same_as_process":false}`),
  };
  if (!text.raw) put(m, k, t);
  return same ? t.same : t.other;
}

/** The last `,"previous":{…}` and the image it was written from (a copy of its args). */
let lastPrevious: { executable: string | undefined; args: readonly string[] | undefined; text: string } | undefined;

/**
 * `,"previous":{…}` as addSessionFields writes it (exec only). The last text
 * answers again while the image is the same: an exec storm's children all
 * leave the same parent image (its table entry's args array), and a new
 * string per exec also made the tail's compare (sameTail) walk it.
 */
export function previous(p: ProcessInfo): string {
  const prev = p.previous?.[p.previous.length - 1];
  if (!prev) return '';
  const c = lastPrevious;
  if (c !== undefined && c.executable === prev.executable && sameList(c.args, prev.args)) return c.text;
  let s = '';
  if (prev.executable !== undefined) s += `"executable":${q(prev.executable)}`;
  if (prev.args?.length) s += `${s ? ',' : ''}"args":${strList(prev.args)},"args_count":${num(prev.args.length)}`;
  s = `,"previous":{${s}}`;
  if (text.raw) return s;
  lastPrevious = { executable: prev.executable, args: prev.args?.slice(), text: flat(s) };
  return s;
}

/** A process's leader texts go with it (ecs-process.ts forgetProcess). */
export function forgetLeaders(k: string | number): void {
  leaders.s.delete(k);
  leaders.g.delete(k);
  leaders.e.delete(k);
}
