/**
 * normalize/ecs serializer: classified event → one ECS document as one line
 * of JSON, written from cached fragments instead of building an object and
 * calling JSON.stringify on it.
 *
 * Takes: ClassifiedEvent, HostInfo, AgentInfo. Gives: exactly the bytes of
 * `ecsJson(toEcs(ce, host, agent))` (ecs.ts, the reference builder; a
 * property test and the golden files hold them equal), faster: as one string
 * (`ecsLine`), or as the pieces it is made of (`ecsParts`: the journal
 * copies them into its record one by one, so neither the ≈ 3–5 kB line nor
 * any per-event string in it is joined and flattened, and learns from the
 * parts that the line holds no raw LF or U+FFFD without scanning it):
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
import { MEMO_MAX, encoded, flat, inner, key, num, pieces, put, putEncoded, q, strList, text, val } from './ecs-text.js';
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

/**
 * A member's text for the value it last had under its name: `"k":v`, and
 * `,"k":v` (both '' until the value is seen a second time: see member()).
 */
interface Member {
  v: unknown;
  bare: string;
  comma: string;
}

const members = new Map<string, Member>();

/** `,"k":` and `,"k":"` by name (member names are a small fixed vocabulary). */
const commaKeys = new Map<string, string>();
const commaKeysQ = new Map<string, string>();

function commaKey(k: string, quoted: boolean): string {
  const m = quoted ? commaKeysQ : commaKeys;
  let s = m.get(k);
  if (s === undefined) {
    s = `,${key(k)}${quoted ? '"' : ''}`;
    if (text.raw) return s;
    if (m.size >= MEMO_MAX) m.clear();
    m.set(k, (s = flat(s)));
  }
  return s;
}

/**
 * `"k":v` (or with a leading comma) of a primitive member of ebpf, put as
 * one cached piece while the value is the same. Most of ebpf repeats from
 * event to event (kind, syscall, cpu, the login uid, the cgroup, the
 * namespaces), so a member costs a lookup and a compare instead of writing
 * its name and value again (issue-14). A new value is put as its pieces
 * (name, value) and remembered; its text is written only when it comes
 * again, so a value that changes every event (boot_ns) is never joined.
 */
function member(k: string, v: string | number | boolean | null, comma: boolean): void {
  const m = members.get(k);
  if (m !== undefined && m.v === v) {
    if (m.bare === '') {
      const bare = key(k) + val(v);
      if (text.raw) {
        put(comma ? `,${bare}` : bare);
        return;
      }
      m.bare = flat(bare);
      m.comma = flat(`,${bare}`);
    }
    put(comma ? m.comma : m.bare);
    return;
  }
  if (typeof v === 'string') {
    put(comma ? commaKey(k, true) : `${key(k)}"`);
    put(inner(v));
    put('"');
  } else {
    put(comma ? commaKey(k, false) : key(k));
    put(val(v));
  }
  // Only the value is kept (its text is written on a hit, and not cached while text.raw is set).
  if (m === undefined) {
    if (members.size >= MEMO_MAX) members.clear();
    members.set(k, { v, bare: '', comma: '' });
  } else {
    m.v = v;
    m.bare = '';
    m.comma = '';
  }
}

/** A member of ebpf as factsOf writes it (undefined, functions and symbols left out: false). */
function anyMember(k: string, v: unknown, comma: boolean): boolean {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return false;
  if (typeof v === 'object' && v !== null) put(`${comma ? ',' : ''}${key(k)}${val(v)}`);
  else member(k, v as string | number | boolean | null, comma);
  return true;
}

/** `"process":{…}` of ebpf, as factsOf writes it (comm, fsuid, fsgid are left out when process.* has them). */
function factsProcess(pf: Record<string, unknown>, p: SensorEvent['process'], comma: boolean): void {
  put(comma ? ',"process":{' : '"process":{');
  let first = true;
  for (const pk in pf) {
    const pv = pf[pk];
    if (pk === 'comm' && pv === p.name) continue;
    if (pk === 'fsuid' && pv === p.user.id) continue;
    if (pk === 'fsgid' && pv === p.group.id) continue;
    if (anyMember(pk, pv, !first)) first = false;
  }
  put('}');
}

/** `,"ebpf":{…}` as factsOf (+ rules, kill) writes it. */
function ebpfBlock(ce: ClassifiedEvent, top: boolean): void {
  const ev = ce.event;
  const f = ev.ebpf as unknown as Record<string, unknown>;
  put(',"ebpf":{');
  let first = true;
  for (const k in f) {
    const v = f[k];
    if (k === 'process' && typeof v === 'object' && v !== null) {
      factsProcess(v as Record<string, unknown>, ev.process, !first);
      first = false;
      continue;
    }
    if (anyMember(k, v, !first)) first = false;
  }
  const matches = ce.verdict.matches;
  if (matches.length === 0) {
    put('}');
    return;
  }
  let s = '';
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
  put(`${s}}`);
}

/**
 * An ECS line as the pieces it is written from, in order (ecsParts): joined,
 * they are ecsLine's text. The large ones (host and agent, the process's
 * capabilities and tail) are cached fragments, flat; the per-event values
 * (timestamp, ids, numbers) are pieces of their own, between literal ones:
 * a writer that copies the parts one by one (journal/payload.ts writeParts)
 * never builds and flattens a string per event. Valid until the next
 * ecsParts or ecsLine call.
 */
export interface EcsParts {
  readonly parts: string[];
  /** Per part, its UTF-8 bytes when it is a cached fragment (encoded once), else undefined. */
  readonly bytes: Array<Uint8Array | undefined>;
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

const out: EcsParts = { parts: pieces.parts, bytes: pieces.bytes, count: 0, plain: false };

/** The host and agent fragment last seen, its bytes, and whether it is free of LF and U+FFFD. */
let lastHostAgent: string | undefined;
let hostAgentBytes: Uint8Array = new Uint8Array(0);
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
    hostAgentBytes = encoded(hostAgent);
    hostAgentPlain = !hostAgent.includes('\n') && !hostAgent.includes('\ufffd');
  }
  text.raw = false;
  pieces.count = 0;
  write(ce, hostAgent, hostAgentBytes);
  if (text.raw) {
    text.raw = false;
    whole(ce, host, agent);
  } else {
    out.count = pieces.count;
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
  out.bytes[0] = undefined;
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

/**
 * `","ecs":…,"event":{"kind":…` through `"id":"`, for one kind,
 * categorization, action and outcome: the quotes around it close the
 * timestamp and open the event id.
 */
interface Head {
  kind: string;
  cat: Categorization;
  outcome: string;
  text: string;
  bytes: Uint8Array;
}

/** Heads by event.action: a storm's few actions each write theirs once (issue-14). */
const heads = new Map<string, Head>();

/** Puts the head. */
function head(kind: string, cat: Categorization, action: string, outcome: string, ev: SensorEvent): void {
  const c = heads.get(action);
  if (c !== undefined && c.kind === kind && c.cat === cat && c.outcome === outcome) {
    putEncoded(c.text, c.bytes);
    return;
  }
  const s = `","ecs":{"version":"${ECS_VERSION}"},"event":{"kind":"${kind}",${categorization(ev)},"action":${q(action)},"outcome":${q(outcome)},"id":"`;
  put(s);
  if (text.raw) return;
  if (heads.size >= MEMO_MAX) heads.clear();
  heads.set(action, { kind, cat, outcome, text: flat(s), bytes: encoded(s) });
}

/** What follows event.sequence in an event that is not an alert, through the quote that opens `created`. */
const NOT_ALERT = `,"module":"${ECS_MODULE}","dataset":"${ECS_MODULE}.events","created":"`;
const NOT_ALERT_BYTES = encoded(NOT_ALERT);

/** `,"file":{"k":"` (the first member) and `","k":"` (the next ones) by FILE_STRINGS name. */
const FILE_FIRST: Record<string, string> = Object.fromEntries(FILE_STRINGS.map((k) => [k, flat(`,"file":{"${k}":"`)]));
const FILE_NEXT: Record<string, string> = Object.fromEntries(FILE_STRINGS.map((k) => [k, flat(`","${k}":"`)]));

/** Puts the pieces of the line (`text.raw` set: they are not the line). */
function write(ce: ClassifiedEvent, hostAgent: string, hostAgentBytes: Uint8Array): void {
  const ev = ce.event;
  const match = topMatch(ce.verdict);
  const kind = ev.ebpf.kind === 'loss' ? 'metric' : match ? 'alert' : 'event';
  const ts = inner(ev['@timestamp']);
  put('{"@timestamp":"');
  put(ts);
  head(kind, categorize(ev), ev.event.action, ev.event.outcome, ev);
  put(inner(ev.event.id));
  put('","sequence":');
  put(num(ev.event.sequence));
  if (match) {
    const sev = num(ECS_SEVERITY[match.severity]);
    let s = `,"severity":${sev},"risk_score":${sev},"module":"${ECS_MODULE}","dataset":"${ECS_MODULE}.alerts","created":"${ts}"}`;
    s += `,"message":${q(match.message)}`;
    const tags: string[] = [];
    for (const m of ce.verdict.matches) for (const t of m.tags) if (!tags.includes(t)) tags.push(t);
    if (tags.length) s += `,"tags":${strList(tags)}`;
    s += `,"rule":{"id":${q(match.id)},"name":${q(match.name)},"description":${q(match.description)},"ruleset":${q(match.ruleset)},"version":${q(match.version)}}`;
    const threat = attackThreat(tags);
    if (threat) s += `,"threat":${val(threat)}`;
    put(s);
  } else {
    putEncoded(NOT_ALERT, NOT_ALERT_BYTES);
    put(ts);
    put('"}');
  }
  putEncoded(hostAgent, hostAgentBytes);
  processBlock(ev.process);
  // user.* is the effective user; ECS's user.effective says so for the rules that ask.
  users(user(ev.user), user(ev.group));
  const file = ev.file;
  if (file) {
    let first = true;
    for (const k of FILE_STRINGS) {
      const v = file[k];
      if (v === undefined) continue;
      put(first ? FILE_FIRST[k]! : FILE_NEXT[k]!);
      put(inner(v));
      first = false;
    }
    put(first ? ',"file":{}' : '"}');
  }
  let s = '';
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
  if (s !== '') put(s);
  ebpfBlock(ce, match !== undefined);
  put('}');
}

let lastUser = '';
let lastGroup = '';
let lastUsers = '';
let lastUsersBytes: Uint8Array = new Uint8Array(0);

/** Puts `,"user":{…},"group":{…}` from the texts of user and group (ecs-process.ts user()): the last pair answers again. */
function users(u: string, g: string): void {
  if (u === lastUser && g === lastGroup) {
    putEncoded(lastUsers, lastUsersBytes);
    return;
  }
  const s = `,"user":${effective(u)},"group":${g}`;
  put(s);
  if (text.raw) return;
  lastUser = u;
  lastGroup = g;
  lastUsers = flat(s);
  lastUsersBytes = encoded(s);
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
