/**
 * normalize/ecs: canonical event + verdict + host/agent metadata → ECS 9.4
 * document.
 *
 * Takes: ClassifiedEvent, HostInfo, AgentInfo. Gives: a fresh plain object
 * (nothing shared with the input) ready for JSON.stringify — or `ecsJson`,
 * which also keeps line separators escaped — that validates against the
 * official ECS 9.4.0 definitions (../shared/reference/ecs/ecs_flat.yml; a
 * test checks every document the suite produces). Facts ECS has no field for
 * live under `ebpf.*`, the one custom namespace.
 *
 * A pure function: the same input gives the same document, byte for byte
 * once serialized (key order is fixed by construction, no clock, no random).
 * Strings holding raw (non-UTF-8) kernel bytes are shown with U+FFFD and
 * their exact bytes are kept in `ebpf.raw_bytes` (see ../raw-bytes.ts).
 *
 * This builder is the reference: what the sinks ship comes from
 * ecs-serializer.ts (`ecsLine`), which writes the same bytes as
 * `ecsJson(toEcs(...))` from cached fragments; a property test holds the two
 * equal. A field added here must be added there too (process.* in
 * ecs-process.ts).
 */
import type { AgentInfo, ClassifiedEvent, FileInfo, HostInfo, ProcessRef, SensorEvent, UserRef } from '../../model/event.js';
import { displayText, exactBytes } from '../raw-bytes.js';
import { ECS_SEVERITY, topMatch } from '../severity.js';
import { attackThreat } from '../mitre-attack.js';
import { addParentFields, addSessionFields, type TextGuards } from './session.js';
import { categorize } from './ecs-categorize.js';

export { ECS_SEVERITY } from '../severity.js';

export const ECS_VERSION = '9.4.0';

/** `event.module`; `event.dataset` is `<module>.alerts` or `<module>.events`. */
export const ECS_MODULE = 'ebpf_sensor';

/** An ECS document: nested objects, JSON values only. */
export type EcsDocument = Record<string, unknown>;

export { categorize, type Categorization } from './ecs-categorize.js';

/** Collects the exact bytes of strings that held raw bytes, by ECS field name. */
interface RawBytes {
  map: Record<string, string | string[]> | undefined;
}

function text(raw: RawBytes, field: string, v: string): string {
  if (v.isWellFormed()) return v;
  (raw.map ??= {})[field] = exactBytes(v);
  return displayText(v);
}

function textList(raw: RawBytes, field: string, list: readonly string[]): string[] {
  let clean = true;
  for (let i = 0; i < list.length; i++) {
    if (!list[i]!.isWellFormed()) {
      clean = false;
      break;
    }
  }
  if (clean) return list.slice();
  (raw.map ??= {})[field] = list.map(exactBytes);
  return list.map(displayText);
}

/** Deep copy of custom facts with every string made safe (field names for ebpf.raw_bytes). */
function copyFacts(raw: RawBytes, path: string, v: unknown): unknown {
  if (typeof v === 'string') return text(raw, path, v);
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return textList(raw, path, v as string[]);
    return v.map((x, i) => copyFacts(raw, `${path}.${i}`, x));
  }
  const out: Record<string, unknown> = {};
  for (const k in v as Record<string, unknown>) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = copyFacts(raw, `${path}.${k}`, x);
  }
  return out;
}

/**
 * The custom facts, less the ones that only repeat an ECS field of the same
 * document (comm when it is process.name, fsuid/fsgid when they are the effective ids).
 */
function factsOf(raw: RawBytes, ev: SensorEvent): Record<string, unknown> {
  const f = ev.ebpf;
  const out: Record<string, unknown> = {};
  for (const k in f) {
    const v = (f as unknown as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (k === 'process' && typeof v === 'object' && v !== null) {
      const pf = v as NonNullable<SensorEvent['ebpf']['process']>;
      const po: Record<string, unknown> = {};
      for (const pk in pf) {
        const pv = (pf as Record<string, unknown>)[pk];
        if (pv === undefined) continue;
        if (pk === 'comm' && pv === ev.process.name) continue;
        if (pk === 'fsuid' && pv === ev.process.user.id) continue;
        if (pk === 'fsgid' && pv === ev.process.group.id) continue;
        po[pk] = copyFacts(raw, `ebpf.process.${pk}`, pv);
      }
      out.process = po;
      continue;
    }
    out[k] = copyFacts(raw, `ebpf.${k}`, v);
  }
  return out;
}

function userOf(raw: RawBytes, field: string, u: UserRef): Record<string, string> {
  const o: Record<string, string> = { id: text(raw, `${field}.id`, u.id) };
  if (u.name !== undefined) o.name = text(raw, `${field}.name`, u.name);
  return o;
}

function parentOf(raw: RawBytes, p: ProcessRef): Record<string, unknown> {
  const o: Record<string, unknown> = { pid: p.pid };
  if (p.entity_id) o.entity_id = text(raw, 'process.parent.entity_id', p.entity_id);
  if (p.name !== undefined) o.name = text(raw, 'process.parent.name', p.name);
  if (p.executable !== undefined) o.executable = text(raw, 'process.parent.executable', p.executable);
  if (p.args !== undefined) {
    // An empty argv is possible (execve(path, NULL, …)); ECS wants no empty arrays.
    if (p.args.length) o.args = textList(raw, 'process.parent.args', p.args);
    o.args_count = p.args.length;
  }
  if (p.command_line !== undefined) o.command_line = text(raw, 'process.parent.command_line', p.command_line);
  if (p.start !== undefined) o.start = p.start;
  addParentFields(guards(raw), o, p);
  return o;
}

function guards(raw: RawBytes): TextGuards {
  return { text: (f, v) => text(raw, f, v), textList: (f, l) => textList(raw, f, l) };
}

function processOf(raw: RawBytes, ev: SensorEvent): Record<string, unknown> {
  const p = ev.process;
  const o: Record<string, unknown> = { pid: p.pid };
  if (p.entity_id) o.entity_id = text(raw, 'process.entity_id', p.entity_id);
  o.name = text(raw, 'process.name', p.name);
  if (p.executable !== undefined) o.executable = text(raw, 'process.executable', p.executable);
  if (p.args !== undefined) {
    if (p.args.length) o.args = textList(raw, 'process.args', p.args);
    o.args_count = p.args_count ?? p.args.length;
  }
  if (p.command_line !== undefined) o.command_line = text(raw, 'process.command_line', p.command_line);
  if (p.working_directory !== undefined) o.working_directory = text(raw, 'process.working_directory', p.working_directory);
  if (p.start !== undefined) o.start = p.start;
  if (p.end !== undefined) o.end = p.end;
  if (p.exit_code !== undefined) o.exit_code = p.exit_code;
  if (p.env_vars?.length) o.env_vars = textList(raw, 'process.env_vars', p.env_vars);
  o.thread = { id: p.thread.id };
  if (p.interactive !== undefined) o.interactive = p.interactive;
  if (p.tty) o.tty = { char_device: { major: p.tty.char_device.major, minor: p.tty.char_device.minor } };
  // process.user/group are the effective ids; the saved ones are written
  // where they differ from them (a setuid program, a dropped privilege).
  o.user = userOf(raw, 'process.user', p.user);
  o.group = userOf(raw, 'process.group', p.group);
  // The real ids are always written: Elastic's rules compare them with the effective ones.
  o.real_user = userOf(raw, 'process.real_user', p.real_user);
  o.real_group = userOf(raw, 'process.real_group', p.real_group);
  if (p.saved_user.id !== p.user.id) o.saved_user = userOf(raw, 'process.saved_user', p.saved_user);
  if (p.saved_group.id !== p.group.id) o.saved_group = userOf(raw, 'process.saved_group', p.saved_group);
  o.parent = parentOf(raw, p.parent);
  addSessionFields(guards(raw), o, p);
  return o;
}

/** @internal */
export const FILE_STRINGS = ['path', 'name', 'directory', 'extension', 'inode', 'device', 'mode', 'uid', 'gid', 'owner', 'group', 'type', 'target_path'] as const;

function fileOf(raw: RawBytes, f: FileInfo): Record<string, string> {
  const o: Record<string, string> = {};
  for (const k of FILE_STRINGS) {
    const v = f[k];
    if (v !== undefined) o[k] = text(raw, `file.${k}`, v);
  }
  return o;
}

function endpointOf(raw: RawBytes, field: string, e: NonNullable<SensorEvent['source']>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (e.address !== undefined) o.address = text(raw, `${field}.address`, e.address);
  if (e.ip !== undefined) o.ip = text(raw, `${field}.ip`, e.ip);
  if (e.port !== undefined) o.port = e.port;
  return o;
}

/** @internal ECS network.* of an event (shared with ecs-serializer.ts). */
export function networkOf(ev: SensorEvent): Record<string, string> | undefined {
  const n = ev.network;
  if (!n) return undefined;
  const o: Record<string, string> = {};
  // ECS network.type is the OSI network layer (ipv4, ipv6): a unix socket has none.
  if (n.type === 'ipv4' || n.type === 'ipv6') o.type = n.type;
  if (n.transport !== undefined) o.transport = n.transport;
  if (n.iana_number !== undefined) o.iana_number = n.iana_number;
  // ECS has no "listening" direction: a listening socket waits for ingress;
  // a bound socket may be either side, so it gets no direction.
  if (n.direction === 'listening') {
    if (ev.ebpf.kind === 'listen') o.direction = 'ingress';
  } else if (n.direction !== undefined) {
    o.direction = n.direction;
  }
  return Object.keys(o).length ? o : undefined;
}

/** Host fields, computed from HostInfo alone. */
function hostOf(raw: RawBytes, host: HostInfo): Record<string, unknown> {
  const os: Record<string, string> = { type: host.os.type };
  if (host.os.family !== undefined) os.family = text(raw, 'host.os.family', host.os.family);
  if (host.os.name !== undefined) os.name = text(raw, 'host.os.name', host.os.name);
  if (host.os.version !== undefined) os.version = text(raw, 'host.os.version', host.os.version);
  os.kernel = text(raw, 'host.os.kernel', host.os.kernel);
  if (host.os.platform !== undefined) os.platform = text(raw, 'host.os.platform', host.os.platform);
  const o: Record<string, unknown> = {
    name: text(raw, 'host.name', host.name),
    hostname: text(raw, 'host.hostname', host.hostname),
    id: text(raw, 'host.id', host.id),
  };
  if (host.ip.length) o.ip = host.ip.slice();
  if (host.mac && host.mac.length) o.mac = host.mac.slice();
  o.architecture = text(raw, 'host.architecture', host.architecture);
  o.os = os;
  o.boot = { id: text(raw, 'host.boot.id', host.boot_id) };
  return o;
}

/** The ECS document for one classified event. */
export function toEcs(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo): EcsDocument {
  return buildEcs(ce, host, agent, true);
}

function agentOf(raw: RawBytes, agent: AgentInfo): Record<string, string> {
  return {
    name: text(raw, 'agent.name', agent.name),
    type: agent.type,
    version: text(raw, 'agent.version', agent.version),
    id: text(raw, 'agent.id', agent.id),
  };
}

let fragHost: HostInfo | undefined;
let fragAgent: AgentInfo | undefined;
let fragText: string | undefined;

/** `,"host":{…},"agent":{…}` serialized once per host/agent (undefined when they hold raw bytes). */
/** @internal */
export function hostAgentFragment(host: HostInfo, agent: AgentInfo): string | undefined {
  if (host !== fragHost || agent !== fragAgent) {
    const raw: RawBytes = { map: undefined };
    const h = hostOf(raw, host);
    const a = agentOf(raw, agent);
    fragHost = host;
    fragAgent = agent;
    fragText = raw.map ? undefined : escapeLineBreaks(`,"host":${JSON.stringify(h)},"agent":${JSON.stringify(a)}`);
  }
  return fragText;
}

function buildEcs(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo, withHostAgent: boolean): EcsDocument {
  const ev = ce.event;
  const raw: RawBytes = { map: undefined };
  const top = topMatch(ce.verdict);
  const cat = categorize(ev);
  const kind = ev.ebpf.kind === 'loss' ? 'metric' : top ? 'alert' : 'event';

  const event: Record<string, unknown> = {
    kind,
    category: cat.category.slice(),
    type: cat.type.slice(),
    action: text(raw, 'event.action', ev.event.action),
    outcome: ev.event.outcome,
    id: text(raw, 'event.id', ev.event.id),
    sequence: ev.event.sequence,
  };
  if (top) {
    event.severity = ECS_SEVERITY[top.severity];
    event.risk_score = ECS_SEVERITY[top.severity];
  }
  event.module = ECS_MODULE;
  event.dataset = top ? `${ECS_MODULE}.alerts` : `${ECS_MODULE}.events`;
  // The BPF program, the agent's kernel half, read the event at this instant:
  // event.created keeps the kernel's nanoseconds next to @timestamp.
  event.created = ev['@timestamp'];

  const doc: EcsDocument = {
    '@timestamp': ev['@timestamp'],
    ecs: { version: ECS_VERSION },
    event,
  };

  if (top) {
    doc.message = text(raw, 'message', top.message);
    const tags: string[] = [];
    for (const m of ce.verdict.matches) for (const t of m.tags) if (!tags.includes(t)) tags.push(t);
    if (tags.length) doc.tags = textList(raw, 'tags', tags);
    doc.rule = {
      id: text(raw, 'rule.id', top.id),
      name: text(raw, 'rule.name', top.name),
      description: text(raw, 'rule.description', top.description),
      ruleset: text(raw, 'rule.ruleset', top.ruleset),
      version: text(raw, 'rule.version', top.version),
    };
    const threat = attackThreat(tags);
    if (threat) doc.threat = threat;
  }

  if (withHostAgent) {
    doc.host = hostOf(raw, host);
    doc.agent = agentOf(raw, agent);
  }
  doc.process = processOf(raw, ev);
  doc.user = userOf(raw, 'user', ev.user);
  // user.* is the effective user; ECS's user.effective says so for the rules that ask.
  (doc.user as Record<string, unknown>).effective = userOf(raw, 'user.effective', ev.user);
  doc.group = userOf(raw, 'group', ev.group);
  if (ev.file) doc.file = fileOf(raw, ev.file);
  if (ev.source) doc.source = endpointOf(raw, 'source', ev.source);
  if (ev.destination) doc.destination = endpointOf(raw, 'destination', ev.destination);
  const network = networkOf(ev);
  if (network) doc.network = network;
  if (ev.container) {
    const c: Record<string, string> = { id: text(raw, 'container.id', ev.container.id) };
    if (ev.container.runtime !== undefined) c.runtime = text(raw, 'container.runtime', ev.container.runtime);
    if (ev.container.name !== undefined) c.name = text(raw, 'container.name', ev.container.name);
    doc.container = c;
  }
  if (ev.orchestrator) {
    const o = ev.orchestrator;
    const resource: Record<string, string | string[]> = { type: o.resource.type, id: text(raw, 'orchestrator.resource.id', o.resource.id) };
    if (o.resource.name !== undefined) resource.name = text(raw, 'orchestrator.resource.name', o.resource.name);
    if (o.resource.label !== undefined) resource.label = textList(raw, 'orchestrator.resource.label', o.resource.label);
    const orch: Record<string, unknown> = { type: o.type };
    if (o.namespace !== undefined) orch.namespace = text(raw, 'orchestrator.namespace', o.namespace);
    orch.resource = resource;
    doc.orchestrator = orch;
  }
  if (ev.event.outcome === 'failure' && ev.ebpf.error !== undefined) {
    // ECS error.* also covers "the event itself contains an error": the errno.
    doc.error = { code: text(raw, 'error.code', ev.ebpf.error) };
  }
  const ips = relatedIps(ev);
  if (ips) doc.related = { ip: ips };

  const ebpf = factsOf(raw, ev);
  if (top && ce.verdict.matches.length > 1) {
    // rule.* holds one rule; the others that matched are listed here.
    ebpf.rules = ce.verdict.matches.map((m, i) => ({
      id: text(raw, `ebpf.rules.${i}.id`, m.id),
      severity: m.severity,
      action: m.action,
    }));
  }
  // action: kill — what was done to the process, by whom, how long after the event.
  const killed = ce.verdict.matches.find((m) => m.kill !== undefined);
  if (killed?.kill) {
    const k = killed.kill;
    ebpf.kill = { rule: killed.id, pid: k.pid, signal: k.signal, result: k.result, by: k.by, ...(k.delay_ms !== undefined ? { delay_ms: k.delay_ms } : {}), ...(k.error !== undefined ? { error: k.error } : {}) };
  }
  if (raw.map) ebpf.raw_bytes = raw.map;
  doc.ebpf = ebpf;
  return doc;
}

/** `related.ip`: the addresses of a network event, for pivoting. */
/** @internal (shared with ecs-serializer.ts) */
export function relatedIps(ev: SensorEvent): string[] | undefined {
  const a = ev.source?.ip;
  const b = ev.destination?.ip;
  if (a === undefined && b === undefined) return undefined;
  const ips: string[] = [];
  if (a !== undefined) ips.push(displayText(a));
  if (b !== undefined && b !== a) ips.push(displayText(b));
  return ips;
}

const LINE_BREAKING = /[\u0085\u2028\u2029]/g;

/**
 * One ECS document as one line of JSON. JSON.stringify already escapes C0
 * controls and lone surrogates cannot occur (toEcs removed them); NEL, LS and
 * PS are valid JSON but some line readers split on them, so they are written
 * as \u escapes too. The JSON value is the same.
 */
export function ecsJson(doc: EcsDocument): string {
  return escapeLineBreaks(JSON.stringify(doc));
}

/** @internal NEL, LS and PS written as \\u escapes (shared with ecs-serializer.ts). */
export function escapeLineBreaks(s: string): string {
  // String.includes is a native scan, ~30x faster here than a regex test.
  if (!s.includes('\u2028') && !s.includes('\u2029') && !s.includes('\u0085')) return s;
  LINE_BREAKING.lastIndex = 0;
  return s.replace(LINE_BREAKING, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

