/**
 * normalize/ecs serializer: classified event → one ECS document as one line
 * of JSON, written from cached fragments instead of building an object and
 * calling JSON.stringify on it.
 *
 * Takes: ClassifiedEvent, HostInfo, AgentInfo. Gives: exactly the bytes of
 * `ecsJson(toEcs(ce, host, agent))` (ecs.ts, the reference builder; a
 * property test and the golden files hold them equal), faster:
 *
 * - `"host":…,"agent":…` is written once per host/agent (ecs.ts
 *   hostAgentFragment) and rewritten when they change;
 * - the process's identity (entity_id … start) and its parent are written
 *   once per process entity and reused while every value they were written
 *   from is the same: each use compares those values, so an event that
 *   changes one (exec, a new cwd, new args) writes them again;
 * - users, categorizations and other small repeated blocks are memoized by
 *   value;
 * - every other string is checked by one regular expression for what JSON
 *   escapes (and NEL, LS, PS, which ecsJson escapes too): most are written
 *   between quotes as they are.
 *
 * Strings with raw kernel bytes (lone surrogates) need `ebpf.raw_bytes`:
 * such an event, or a host with them, is written by the reference builder.
 * Pure like the builder: the caches only hold what the inputs determine.
 */
import type { AgentInfo, ClassifiedEvent, HostInfo, LeaderRef, ProcessInfo, ProcessRef, SensorEvent, UserRef } from '../../model/event.js';
import { ECS_SEVERITY, topMatch } from '../severity.js';
import { attackThreat } from '../mitre-attack.js';
import { addParentFields, type TextGuards } from './session.js';
import { ECS_MODULE, ECS_VERSION, FILE_STRINGS, categorize, ecsJson, escapeLineBreaks, hostAgentFragment, networkOf, relatedIps, toEcs } from './ecs.js';

/** What JSON.stringify escapes in a string, plus the line breaks ecsJson escapes. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u0085\u2028\u2029]/;

/** Set when a string holds raw bytes: the document is then written by the reference builder. */
let raw = false;

/** A JSON string literal of `s`, as ecsJson writes it. */
function q(s: string): string {
  if (!s.isWellFormed()) {
    raw = true;
    return '""';
  }
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return escapeLineBreaks(JSON.stringify(s));
}

function num(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

function strList(list: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) {
    if (i) out += ',';
    out += q(list[i]!);
  }
  return `${out}]`;
}

/** Any JSON value, written as JSON.stringify would (undefined members left out). */
function val(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return q(v);
    case 'number':
      return num(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (i) out += ',';
          const x: unknown = v[i];
          out += x === undefined || typeof x === 'function' || typeof x === 'symbol' ? 'null' : val(x);
        }
        return `${out}]`;
      }
      return obj(v as Record<string, unknown>, '{');
    }
    default:
      return 'null';
  }
}

/** Members of a plain object after `open` ('{' or what precedes them). */
function obj(o: Record<string, unknown>, open: string): string {
  let out = open;
  let first = open === '{';
  for (const k in o) {
    const x = o[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    out += first ? `${q(k)}:${val(x)}` : `,${q(k)}:${val(x)}`;
    first = false;
  }
  return `${out}}`;
}

// ---- memoized small blocks --------------------------------------------------

const MEMO_MAX = 4096;

function memo<K>(m: Map<K, string>, k: K, make: () => string): string {
  let s = m.get(k);
  if (s === undefined) {
    s = make();
    if (raw) return s; // never cache what will be thrown away
    if (m.size >= MEMO_MAX) m.clear();
    m.set(k, s);
  }
  return s;
}

const users = new Map<string, string>();

/** `{"id":…,"name":…}` */
function user(u: UserRef): string {
  const name = u.name;
  return memo(users, name === undefined ? u.id : `${u.id}\u0000${name}`, () => (name === undefined ? `{"id":${q(u.id)}}` : `{"id":${q(u.id)},"name":${q(name)}}`));
}

const categories = new Map<string, string>();

/** `"category":[…],"type":[…]` */
function categorization(ev: SensorEvent): string {
  const c = categorize(ev);
  const key = `${c.category.join(',')}/${c.type.join(',')}`;
  return memo(categories, key, () => `"category":${strList(c.category)},"type":${strList(c.type)}`);
}

/** Element-wise: the cache keeps a copy, since an args array may be changed in place. */
function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- process and parent, per entity ----------------------------------------

interface IdentityFragment {
  entity_id: string;
  name: string;
  executable: string | undefined;
  args: readonly string[] | undefined;
  args_count: number | undefined;
  command_line: string | undefined;
  working_directory: string | undefined;
  start: string | undefined;
  text: string;
}

const identities = new Map<string, IdentityFragment>();

/** `,"entity_id":…` through `"start":…` of process.*, as processOf writes them. */
function identity(p: ProcessInfo): string {
  const key = p.entity_id || `pid:${p.pid}`;
  const c = identities.get(key);
  if (
    c !== undefined &&
    c.entity_id === p.entity_id &&
    c.name === p.name &&
    c.executable === p.executable &&
    c.args_count === p.args_count &&
    c.command_line === p.command_line &&
    c.working_directory === p.working_directory &&
    c.start === p.start &&
    sameList(c.args, p.args)
  ) {
    return c.text;
  }
  let s = '';
  if (p.entity_id) s += `,"entity_id":${q(p.entity_id)}`;
  s += `,"name":${q(p.name)}`;
  if (p.executable !== undefined) s += `,"executable":${q(p.executable)}`;
  if (p.args !== undefined) {
    if (p.args.length) s += `,"args":${strList(p.args)}`;
    s += `,"args_count":${num(p.args_count ?? p.args.length)}`;
  }
  if (p.command_line !== undefined) s += `,"command_line":${q(p.command_line)}`;
  if (p.working_directory !== undefined) s += `,"working_directory":${q(p.working_directory)}`;
  if (p.start !== undefined) s += `,"start":${q(p.start)}`;
  if (raw) return s;
  if (identities.size >= MEMO_MAX) identities.clear();
  identities.set(key, {
    entity_id: p.entity_id,
    name: p.name,
    executable: p.executable,
    args: p.args?.slice(),
    args_count: p.args_count,
    command_line: p.command_line,
    working_directory: p.working_directory,
    start: p.start,
    text: s,
  });
  return s;
}

interface ParentFragment {
  pid: number;
  entity_id: string | undefined;
  name: string | undefined;
  executable: string | undefined;
  args: readonly string[] | undefined;
  command_line: string | undefined;
  start: string | undefined;
  text: string;
}

const parents = new Map<string, ParentFragment>();

/** `{"pid":…}` of process.parent, as parentOf writes it. */
function parent(p: ProcessRef): string {
  const key = p.entity_id || `pid:${p.pid}`;
  const c = parents.get(key);
  if (
    c !== undefined &&
    c.pid === p.pid &&
    c.entity_id === p.entity_id &&
    c.name === p.name &&
    c.executable === p.executable &&
    c.command_line === p.command_line &&
    c.start === p.start &&
    sameList(c.args, p.args)
  ) {
    return c.text + parentExtra(p);
  }
  let s = `{"pid":${num(p.pid)}`;
  if (p.entity_id) s += `,"entity_id":${q(p.entity_id)}`;
  if (p.name !== undefined) s += `,"name":${q(p.name)}`;
  if (p.executable !== undefined) s += `,"executable":${q(p.executable)}`;
  if (p.args !== undefined) {
    if (p.args.length) s += `,"args":${strList(p.args)}`;
    s += `,"args_count":${num(p.args.length)}`;
  }
  if (p.command_line !== undefined) s += `,"command_line":${q(p.command_line)}`;
  if (p.start !== undefined) s += `,"start":${q(p.start)}`;
  if (raw) return s + parentExtra(p);
  if (parents.size >= MEMO_MAX) parents.clear();
  parents.set(key, { pid: p.pid, entity_id: p.entity_id, name: p.name, executable: p.executable, args: p.args?.slice(), command_line: p.command_line, start: p.start, text: s });
  return s + parentExtra(p);
}

/** Strings pass as they are: q() flags raw bytes when the block is written. */
const PLAIN: TextGuards = { text: (_f, v) => v, textList: (_f, l) => l.slice() };

/** The parent's Session View fields (session.ts addParentFields) and the closing brace. */
function parentExtra(p: ProcessRef): string {
  if (p.working_directory === undefined && p.interactive === undefined && !p.tty && p.user === undefined && p.group === undefined) return '}';
  const o: Record<string, unknown> = {};
  addParentFields(PLAIN, o, p);
  return obj(o, ''); // `,"working_directory":…}`
}

// ---- Session View blocks ------------------------------------------------------

/** Frozen capability lists (shared per set by decode) → `{"effective":[…],"permitted":[…]}` as addSessionFields writes it. */
const capTexts = new WeakMap<readonly string[], WeakMap<readonly string[], string>>();

function capsList(effective: readonly string[], permitted: readonly string[]): string {
  let s = '';
  if (effective.length) s += `"effective":${strList(effective)}`;
  if (permitted.length) s += `${s ? ',' : ''}"permitted":${strList(permitted)}`;
  return s ? `{${s}}` : '';
}

/** `,"capabilities":{…}` of process.thread, or '' (ECS wants no empty lists). */
function capabilities(caps: NonNullable<ProcessInfo['thread']['capabilities']>): string {
  const { effective, permitted } = caps;
  if (!Object.isFrozen(effective) || !Object.isFrozen(permitted)) {
    const t = capsList(effective, permitted);
    return t ? `,"capabilities":${t}` : '';
  }
  let byPermitted = capTexts.get(effective);
  if (!byPermitted) {
    byPermitted = new WeakMap();
    capTexts.set(effective, byPermitted);
  }
  let t = byPermitted.get(permitted);
  if (t === undefined) {
    const list = capsList(effective, permitted);
    t = list ? `,"capabilities":${list}` : '';
    if (raw) return t; // never cache what will be thrown away
    byPermitted.set(permitted, t);
  }
  return t;
}

interface LeaderFragment {
  pid: number;
  entity_id: string | undefined;
  name: string | undefined;
  executable: string | undefined;
  args: readonly string[] | undefined;
  start: string | undefined;
  userId: string | undefined;
  userName: string | undefined;
  groupId: string | undefined;
  groupName: string | undefined;
  entryType: string | undefined;
  /** Everything but `,"same_as_process":…}` */
  text: string;
}

const leaders = new Map<string, LeaderFragment>();

/** A leader as session.ts leaderOf writes it, from a fragment reused while its values are the same. */
function leader(slot: string, l: LeaderRef, self: ProcessInfo): string {
  const same = l.pid === self.pid && (l.entity_id === undefined || l.entity_id === self.entity_id);
  const tail = same ? ',"same_as_process":true}' : ',"same_as_process":false}';
  const key = `${slot}\u0000${l.entity_id ?? ''}\u0000${l.pid}`;
  const c = leaders.get(key);
  if (
    c !== undefined &&
    c.pid === l.pid &&
    c.entity_id === l.entity_id &&
    c.name === l.name &&
    c.executable === l.executable &&
    c.start === l.start &&
    c.userId === l.user?.id &&
    c.userName === l.user?.name &&
    c.groupId === l.group?.id &&
    c.groupName === l.group?.name &&
    c.entryType === l.entry_meta?.type &&
    sameList(c.args, l.args)
  ) {
    return c.text + tail;
  }
  let s = `{"pid":${num(l.pid)}`;
  if (l.entity_id !== undefined) s += `,"entity_id":${q(l.entity_id)}`;
  if (l.name !== undefined) s += `,"name":${q(l.name)}`;
  if (l.executable !== undefined) s += `,"executable":${q(l.executable)}`;
  if (l.args !== undefined && l.args.length) s += `,"args":${strList(l.args)},"args_count":${num(l.args.length)}`;
  if (l.start !== undefined) s += `,"start":${q(l.start)}`;
  if (l.user !== undefined) s += `,"user":${user(l.user)}`;
  if (l.group !== undefined) s += `,"group":${user(l.group)}`;
  if (l.entry_meta !== undefined) s += `,"entry_meta":{"type":${q(l.entry_meta.type)}}`;
  if (raw) return s + tail;
  if (leaders.size >= MEMO_MAX) leaders.clear();
  leaders.set(key, {
    pid: l.pid,
    entity_id: l.entity_id,
    name: l.name,
    executable: l.executable,
    args: l.args?.slice(),
    start: l.start,
    userId: l.user?.id,
    userName: l.user?.name,
    groupId: l.group?.id,
    groupName: l.group?.name,
    entryType: l.entry_meta?.type,
    text: s,
  });
  return s + tail;
}

/** `,"previous":{…}` as addSessionFields writes it (exec only). */
function previous(p: ProcessInfo): string {
  const prev = p.previous?.[p.previous.length - 1];
  if (!prev) return '';
  let s = '';
  if (prev.executable !== undefined) s += `"executable":${q(prev.executable)}`;
  if (prev.args?.length) s += `${s ? ',' : ''}"args":${strList(prev.args)},"args_count":${num(prev.args.length)}`;
  return `,"previous":{${s}}`;
}

/** `"process":{…}` as processOf writes it. */
function processBlock(p: ProcessInfo): string {
  let s = `"process":{"pid":${num(p.pid)}${identity(p)}`;
  if (p.end !== undefined) s += `,"end":${q(p.end)}`;
  if (p.exit_code !== undefined) s += `,"exit_code":${num(p.exit_code)}`;
  if (p.env_vars?.length) s += `,"env_vars":${strList(p.env_vars)}`;
  const caps = p.thread.capabilities;
  s += `,"thread":{"id":${num(p.thread.id)}${caps ? capabilities(caps) : ''}}`;
  if (p.interactive !== undefined) s += p.interactive ? ',"interactive":true' : ',"interactive":false';
  if (p.tty) s += `,"tty":{"char_device":{"major":${num(p.tty.char_device.major)},"minor":${num(p.tty.char_device.minor)}}}`;
  s += `,"user":${user(p.user)},"group":${user(p.group)}`;
  // The real ids are always written: Elastic's rules compare them with the effective ones.
  s += `,"real_user":${user(p.real_user)},"real_group":${user(p.real_group)}`;
  if (p.saved_user.id !== p.user.id) s += `,"saved_user":${user(p.saved_user)}`;
  if (p.saved_group.id !== p.group.id) s += `,"saved_group":${user(p.saved_group)}`;
  s += `,"parent":${parent(p.parent)}`;
  s += previous(p);
  if (p.session_leader) s += `,"session_leader":${leader('s', p.session_leader, p)}`;
  if (p.group_leader) s += `,"group_leader":${leader('g', p.group_leader, p)}`;
  if (p.entry_leader) s += `,"entry_leader":${leader('e', p.entry_leader, p)}`;
  return `${s}}`;
}

// ---- the rest of the document ------------------------------------------------

/** `ebpf` as factsOf (+ rules, kill) writes it. */
function ebpfBlock(ce: ClassifiedEvent, top: boolean): string {
  const ev = ce.event;
  const f = ev.ebpf as unknown as Record<string, unknown>;
  let s = '"ebpf":{';
  let first = true;
  for (const k in f) {
    const v = f[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (!first) s += ',';
    first = false;
    if (k === 'process' && typeof v === 'object' && v !== null) {
      const pf = v as Record<string, unknown>;
      let po = '{';
      let pfirst = true;
      for (const pk in pf) {
        const pv = pf[pk];
        if (pv === undefined || typeof pv === 'function' || typeof pv === 'symbol') continue;
        if (pk === 'comm' && pv === ev.process.name) continue;
        if (pk === 'fsuid' && pv === ev.process.user.id) continue;
        if (pk === 'fsgid' && pv === ev.process.group.id) continue;
        po += pfirst ? `${q(pk)}:${val(pv)}` : `,${q(pk)}:${val(pv)}`;
        pfirst = false;
      }
      s += `"process":${po}}`;
      continue;
    }
    s += `${q(k)}:${val(v)}`;
  }
  const matches = ce.verdict.matches;
  if (top && matches.length > 1) {
    let r = '[';
    for (let i = 0; i < matches.length; i++) {
      const m = matches[i]!;
      r += `${i ? ',' : ''}{"id":${q(m.id)},"severity":${q(m.severity)},"action":${q(m.action)}}`;
    }
    s += `${first ? '' : ','}"rules":${r}]`;
    first = false;
  }
  const killed = matches.find((m) => m.kill !== undefined);
  if (killed?.kill) {
    const k = killed.kill;
    let o = `{"rule":${q(killed.id)},"pid":${num(k.pid)},"signal":${q(k.signal)},"result":${q(k.result)},"by":${q(k.by)}`;
    if (k.delay_ms !== undefined) o += `,"delay_ms":${num(k.delay_ms)}`;
    if (k.error !== undefined) o += `,"error":${q(k.error)}`;
    s += `${first ? '' : ','}"kill":${o}}`;
  }
  return `${s}}`;
}

/**
 * One ECS document as one line of JSON: byte for byte
 * `ecsJson(toEcs(ce, host, agent))`.
 */
export function ecsLine(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo): string {
  const hostAgent = hostAgentFragment(host, agent);
  if (hostAgent === undefined) return ecsJson(toEcs(ce, host, agent));
  raw = false;
  const s = write(ce, hostAgent);
  if (raw) {
    raw = false;
    return ecsJson(toEcs(ce, host, agent));
  }
  return s;
}

function write(ce: ClassifiedEvent, hostAgent: string): string {
  const ev = ce.event;
  const match = topMatch(ce.verdict);
  const kind = ev.ebpf.kind === 'loss' ? 'metric' : match ? 'alert' : 'event';
  const ts = q(ev['@timestamp']);
  let s = `{"@timestamp":${ts},"ecs":{"version":"${ECS_VERSION}"},"event":{"kind":"${kind}",${categorization(ev)}`;
  s += `,"action":${q(ev.event.action)},"outcome":${q(ev.event.outcome)},"id":${q(ev.event.id)},"sequence":${num(ev.event.sequence)}`;
  if (match) {
    const sev = num(ECS_SEVERITY[match.severity]);
    s += `,"severity":${sev},"risk_score":${sev}`;
  }
  s += `,"module":"${ECS_MODULE}","dataset":"${ECS_MODULE}.${match ? 'alerts' : 'events'}","created":${ts}}`;
  if (match) {
    s += `,"message":${q(match.message)}`;
    const tags: string[] = [];
    for (const m of ce.verdict.matches) for (const t of m.tags) if (!tags.includes(t)) tags.push(t);
    if (tags.length) s += `,"tags":${strList(tags)}`;
    s += `,"rule":{"id":${q(match.id)},"name":${q(match.name)},"description":${q(match.description)},"ruleset":${q(match.ruleset)},"version":${q(match.version)}}`;
    const threat = attackThreat(tags);
    if (threat) s += `,"threat":${val(threat)}`;
  }
  // user.* is the effective user; ECS's user.effective says so for the rules that ask.
  const u = user(ev.user);
  s += `${hostAgent},${processBlock(ev.process)},"user":${u.slice(0, -1)},"effective":${u}},"group":${user(ev.group)}`;
  const file = ev.file;
  if (file) {
    let o = '';
    for (const k of FILE_STRINGS) {
      const v = file[k];
      if (v !== undefined) o += `${o ? ',' : ''}"${k}":${q(v)}`;
    }
    s += `,"file":{${o}}`;
  }
  if (ev.source) s += `,"source":${endpoint(ev.source)}`;
  if (ev.destination) s += `,"destination":${endpoint(ev.destination)}`;
  const network = networkOf(ev);
  if (network) s += `,"network":${val(network)}`;
  if (ev.container) {
    s += `,"container":{"id":${q(ev.container.id)}`;
    if (ev.container.runtime !== undefined) s += `,"runtime":${q(ev.container.runtime)}`;
    if (ev.container.name !== undefined) s += `,"name":${q(ev.container.name)}`;
    s += '}';
  }
  if (ev.orchestrator) {
    const o = ev.orchestrator;
    s += `,"orchestrator":{"type":${q(o.type)}`;
    if (o.namespace !== undefined) s += `,"namespace":${q(o.namespace)}`;
    s += `,"resource":{"type":${q(o.resource.type)},"id":${q(o.resource.id)}`;
    if (o.resource.name !== undefined) s += `,"name":${q(o.resource.name)}`;
    if (o.resource.label !== undefined) s += `,"label":${strList(o.resource.label)}`;
    s += '}}';
  }
  if (ev.event.outcome === 'failure' && ev.ebpf.error !== undefined) s += `,"error":{"code":${q(ev.ebpf.error)}}`;
  const ips = relatedIps(ev);
  if (ips) s += `,"related":{"ip":${strList(ips)}}`;
  return `${s},${ebpfBlock(ce, match !== undefined)}}`;
}

function endpoint(e: NonNullable<SensorEvent['source']>): string {
  let o = '';
  if (e.address !== undefined) o += `"address":${q(e.address)}`;
  if (e.ip !== undefined) o += `${o ? ',' : ''}"ip":${q(e.ip)}`;
  if (e.port !== undefined) o += `${o ? ',' : ''}"port":${num(e.port)}`;
  return `{${o}}`;
}
