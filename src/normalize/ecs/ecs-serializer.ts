/**
 * normalize/ecs serializer: classified event → one ECS document as one line
 * of JSON, written from cached fragments instead of building an object and
 * calling JSON.stringify on it.
 *
 * Takes: ClassifiedEvent, HostInfo, AgentInfo. Gives: exactly the bytes of
 * `ecsJson(toEcs(ce, host, agent))` (ecs.ts, the reference builder; a
 * property test and the golden files hold them equal), faster: as one string
 * (`ecsLine`), or as the few parts it is made of (`ecsParts`: the journal
 * copies them into its record one by one, so the ≈ 3–5 kB line is never
 * joined and flattened whole, and learns from the parts that the line holds
 * no raw LF or U+FFFD without scanning it):
 *
 * - `"host":…,"agent":…` is written once per host/agent (ecs.ts
 *   hostAgentFragment) and rewritten when they change;
 * - `"process":{…}` comes from text cached per process entity
 *   (ecs-process.ts), reused while every value it was written from is the
 *   same, so an event that changes one (exec, a new cwd, new args, a uid
 *   change) writes it again;
 * - the event head (ecs, kind, categorization, action, outcome) is cached per
 *   action, and each primitive member of `ebpf` per name while its value
 *   stays the same;
 * - categorizations and member names are memoized;
 * - every other string is checked by one regular expression for what JSON
 *   escapes (and NEL, LS, PS, which ecsJson escapes too): most are written
 *   between quotes as they are (ecs-text.ts).
 *
 * Strings with raw kernel bytes (lone surrogates) need `ebpf.raw_bytes`:
 * such an event, or a host with them, is written by the reference builder.
 * Pure like the builder: the caches only hold what the inputs determine.
 */
import type { AgentInfo, ClassifiedEvent, SensorEvent, HostInfo } from '../../model/event.js';
import { ECS_SEVERITY, topMatch } from '../severity.js';
import { attackThreat } from '../mitre-attack.js';
import { ECS_MODULE, ECS_VERSION, FILE_STRINGS, categorize, type Categorization, ecsJson, hostAgentFragment, networkOf, relatedIps, toEcs } from './ecs.js';
import { MEMO_MAX, flat, key, num, q, strList, text, val } from './ecs-text.js';
import { forgetProcess, processBlock } from './ecs-process.js';
import { user } from './ecs-user.js';

/** Categorizations are shared constants (ecs.ts categorize): their text is written once each. */
const categories = new WeakMap<Categorization, string>();

/** `"category":[…],"type":[…]` */
function categorization(ev: SensorEvent): string {
  const c = categorize(ev);
  let s = categories.get(c);
  if (s === undefined) {
    s = `"category":${strList(c.category)},"type":${strList(c.type)}`;
    categories.set(c, s);
  }
  return s;
}

// ---- the rest of the document ------------------------------------------------

/** A member's text for the value it last had under its name: `"k":v`, and `,"k":v`. */
interface Member {
  v: unknown;
  bare: string;
  comma: string;
}

const members = new Map<string, Member>();

/**
 * `"k":v` (or with a leading comma) of a primitive member of ebpf: one slot
 * per member name, reused while the value is the same. Most of ebpf repeats
 * from event to event (kind, syscall, cpu, the login uid, the cgroup, the
 * namespaces), so a member costs a lookup and a compare instead of writing
 * its name and value again (issue-14); a value that changes every event
 * (boot_ns) is written and takes the slot.
 */
function member(k: string, v: string | number | boolean | null, comma: boolean): string {
  const m = members.get(k);
  if (m !== undefined && m.v === v) return comma ? m.comma : m.bare;
  const bare = key(k) + val(v);
  if (text.raw) return comma ? `,${bare}` : bare;
  const c = `,${bare}`;
  if (m === undefined) {
    if (members.size >= MEMO_MAX) members.clear();
    members.set(k, { v, bare, comma: c });
  } else {
    m.v = v;
    m.bare = bare;
    m.comma = c;
  }
  return comma ? c : bare;
}

/** A member of ebpf as factsOf writes it (undefined, functions and symbols left out: ''). */
function anyMember(k: string, v: unknown, comma: boolean): string {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return '';
  if (typeof v === 'object' && v !== null) return `${comma ? ',' : ''}${key(k)}${val(v)}`;
  return member(k, v as string | number | boolean | null, comma);
}

/** `"process":{…}` of ebpf, as factsOf writes it (comm, fsuid, fsgid are left out when process.* has them). */
function factsProcess(pf: Record<string, unknown>, p: SensorEvent['process']): string {
  let s = '"process":{';
  let first = true;
  for (const pk in pf) {
    const pv = pf[pk];
    if (pk === 'comm' && pv === p.name) continue;
    if (pk === 'fsuid' && pv === p.user.id) continue;
    if (pk === 'fsgid' && pv === p.group.id) continue;
    const t = anyMember(pk, pv, !first);
    if (t === '') continue;
    s += t;
    first = false;
  }
  return `${s}}`;
}

/** `ebpf` as factsOf (+ rules, kill) writes it. */
function ebpfBlock(ce: ClassifiedEvent, top: boolean): string {
  const ev = ce.event;
  const f = ev.ebpf as unknown as Record<string, unknown>;
  let s = ',"ebpf":{';
  let first = true;
  for (const k in f) {
    const v = f[k];
    if (k === 'process' && typeof v === 'object' && v !== null) {
      s += `${first ? '' : ','}${factsProcess(v as Record<string, unknown>, ev.process)}`;
      first = false;
      continue;
    }
    const t = anyMember(k, v, !first);
    if (t === '') continue;
    s += t;
    first = false;
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
 * An ECS line as the parts it is written from, in order (ecsParts): joined,
 * they are ecsLine's text. The large ones (host and agent, the process's
 * capabilities and tail) are cached fragments, flat, so a writer that copies
 * the parts one by one (journal/record-encoder.ts) never builds and flattens
 * the whole line. Valid until the next ecsParts or ecsLine call.
 */
export interface EcsParts {
  readonly parts: string[];
  /** How many of `parts` are this line's. */
  count: number;
  /**
   * True when the serializer wrote the line itself: it then holds no raw LF
   * (q() escapes every control character) and no U+FFFD (q() hands a string
   * holding one, or raw bytes, to the reference builder; host and agent are
   * checked once per fragment). False: the parts say nothing about either.
   */
  plain: boolean;
}

const out: EcsParts = { parts: ['', '', '', '', '', ''], count: 0, plain: false };

/** The host and agent fragment last seen, and whether it is free of LF and U+FFFD. */
let lastHostAgent: string | undefined;
let hostAgentPlain = false;

/**
 * One ECS document as its parts (EcsParts): byte for byte, joined,
 * `ecsJson(toEcs(ce, host, agent))`.
 */
export function ecsParts(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo): EcsParts {
  const hostAgent = hostAgentFragment(host, agent);
  if (hostAgent === undefined) return whole(ce, host, agent);
  if (hostAgent !== lastHostAgent) {
    lastHostAgent = flat(hostAgent);
    hostAgentPlain = !hostAgent.includes('\n') && !hostAgent.includes('\ufffd');
  }
  text.raw = false;
  write(ce, hostAgent);
  if (text.raw) {
    text.raw = false;
    whole(ce, host, agent);
  } else {
    out.plain = hostAgentPlain;
  }
  // A thread's exit leaves its process (and the process's fragments) alive.
  if (ce.event.ebpf.kind === 'exit' && ce.event.ebpf.process?.is_thread !== true) {
    forgetProcess(ce.event.process);
  }
  return out;
}

/** The reference builder's line as the one part. */
function whole(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo): EcsParts {
  out.parts[0] = ecsJson(toEcs(ce, host, agent));
  out.count = 1;
  out.plain = false;
  return out;
}

/**
 * One ECS document as one line of JSON: byte for byte
 * `ecsJson(toEcs(ce, host, agent))`.
 */
export function ecsLine(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo): string {
  const { parts, count } = ecsParts(ce, host, agent);
  let s = parts[0]!;
  for (let i = 1; i < count; i++) s += parts[i]!;
  return s;
}

/** `,"ecs":…,"event":{"kind":…` through `"id":`, for one kind, categorization, action and outcome. */
interface Head {
  kind: string;
  cat: Categorization;
  outcome: string;
  text: string;
}

/** Heads by event.action: a storm's few actions each write theirs once (issue-14). */
const heads = new Map<string, Head>();

function head(kind: string, cat: Categorization, action: string, outcome: string, ev: SensorEvent): string {
  const c = heads.get(action);
  if (c !== undefined && c.kind === kind && c.cat === cat && c.outcome === outcome) return c.text;
  const s = `,"ecs":{"version":"${ECS_VERSION}"},"event":{"kind":"${kind}",${categorization(ev)},"action":${q(action)},"outcome":${q(outcome)},"id":`;
  if (text.raw) return s;
  if (heads.size >= MEMO_MAX) heads.clear();
  heads.set(action, { kind, cat, outcome, text: flat(s) });
  return s;
}

/** What follows event.sequence in an event that is not an alert. */
const NOT_ALERT = `,"module":"${ECS_MODULE}","dataset":"${ECS_MODULE}.events","created":`;

/** Fills `out` with the parts of the line (`text.raw` set: they are not the line). */
function write(ce: ClassifiedEvent, hostAgent: string): void {
  const ev = ce.event;
  const match = topMatch(ce.verdict);
  const kind = ev.ebpf.kind === 'loss' ? 'metric' : match ? 'alert' : 'event';
  const ts = q(ev['@timestamp']);
  let s = `{"@timestamp":${ts}${head(kind, categorize(ev), ev.event.action, ev.event.outcome, ev)}${q(ev.event.id)},"sequence":${num(ev.event.sequence)}`;
  if (match) {
    const sev = num(ECS_SEVERITY[match.severity]);
    s += `,"severity":${sev},"risk_score":${sev},"module":"${ECS_MODULE}","dataset":"${ECS_MODULE}.alerts","created":${ts}}`;
  } else {
    s += `${NOT_ALERT}${ts}}`;
  }
  if (match) {
    s += `,"message":${q(match.message)}`;
    const tags: string[] = [];
    for (const m of ce.verdict.matches) for (const t of m.tags) if (!tags.includes(t)) tags.push(t);
    if (tags.length) s += `,"tags":${strList(tags)}`;
    s += `,"rule":{"id":${q(match.id)},"name":${q(match.name)},"description":${q(match.description)},"ruleset":${q(match.ruleset)},"version":${q(match.version)}}`;
    const threat = attackThreat(tags);
    if (threat) s += `,"threat":${val(threat)}`;
  }
  const parts = out.parts;
  parts[0] = s;
  parts[1] = hostAgent;
  const block = processBlock(ev.process);
  parts[2] = block.head;
  let n = 3;
  if (block.caps !== '') parts[n++] = block.caps;
  parts[n++] = block.tail;
  // user.* is the effective user; ECS's user.effective says so for the rules that ask.
  s = users(user(ev.user), user(ev.group));
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
  parts[n++] = `${s}${ebpfBlock(ce, match !== undefined)}}`;
  out.count = n;
}

let lastUser = '';
let lastGroup = '';
let lastUsers = '';

/** `,"user":{…},"group":{…}` from the texts of user and group (ecs-process.ts user()): the last pair answers again. */
function users(u: string, g: string): string {
  if (u === lastUser && g === lastGroup) return lastUsers;
  const s = `,"user":${effective(u)},"group":${g}`;
  if (text.raw) return s;
  lastUser = u;
  lastGroup = g;
  lastUsers = flat(s);
  return lastUsers;
}

const effectives = new Map<string, string>();

/** `{"id":…,"name":…,"effective":{"id":…,"name":…}}` from a user's text (ecs-process.ts user()). */
function effective(u: string): string {
  let s = effectives.get(u);
  if (s === undefined) {
    s = `${u.slice(0, -1)},"effective":${u}}`;
    if (effectives.size >= MEMO_MAX) effectives.clear();
    effectives.set(u, s);
  }
  return s;
}

function endpoint(e: NonNullable<SensorEvent['source']>): string {
  let o = '';
  if (e.address !== undefined) o += `"address":${q(e.address)}`;
  if (e.ip !== undefined) o += `${o ? ',' : ''}"ip":${q(e.ip)}`;
  if (e.port !== undefined) o += `${o ? ',' : ''}"port":${num(e.port)}`;
  return `{${o}}`;
}
