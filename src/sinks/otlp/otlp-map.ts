/**
 * sinks/otlp: an ECS document → the parts of an OpenTelemetry log record.
 * Pure functions, no OpenTelemetry import: the sink wraps the result.
 *
 * Takes: one parsed ECS document. Gives:
 * the record's attributes — ECS fields renamed to OpenTelemetry semantic
 * conventions where a convention exists (table below, docs/outputs.md), the
 * few ECS identifiers with no convention kept under their ECS names — its
 * time as [seconds, nanoseconds] from the nanosecond @timestamp, and the
 * severity number/text. The body is the whole document (the sink passes it
 * as is). Host and agent go to the resource (resourceAttributes), once.
 */
import type { AgentInfo, HostInfo } from '../../model/event.js';

export type AttrValue = string | number | boolean | string[];
export type Attrs = Record<string, AttrValue>;

/** ECS dotted name → semantic-convention attribute (semconv 1.3x registry). */
export const SEMCONV: Readonly<Record<string, string>> = Object.freeze({
  'process.pid': 'process.pid',
  'process.name': 'process.executable.name',
  'process.executable': 'process.executable.path',
  'process.command_line': 'process.command_line',
  'process.args': 'process.command_args',
  'process.working_directory': 'process.working_directory',
  'process.parent.pid': 'process.parent_pid',
  'process.exit_code': 'process.exit.code',
  'process.user.name': 'process.user.name',
  'process.real_user.name': 'process.real_user.name',
  'process.saved_user.name': 'process.saved_user.name',
  'process.group_leader.pid': 'process.group_leader.pid',
  'process.session_leader.pid': 'process.session_leader.pid',
  'process.interactive': 'process.interactive',
  'user.id': 'user.id',
  'user.name': 'user.name',
  'file.path': 'file.path',
  'file.name': 'file.name',
  'file.directory': 'file.directory',
  'file.extension': 'file.extension',
  'file.inode': 'file.inode',
  'file.mode': 'file.mode',
  'file.size': 'file.size',
  'file.owner': 'file.owner.name',
  'file.uid': 'file.owner.id',
  'file.group': 'file.group.name',
  'file.gid': 'file.group.id',
  'file.target_path': 'file.symbolic_link.target_path',
  'source.ip': 'source.address',
  'source.port': 'source.port',
  'destination.ip': 'destination.address',
  'destination.port': 'destination.port',
  'network.transport': 'network.transport',
  'network.type': 'network.type',
  'container.id': 'container.id',
  'container.runtime': 'container.runtime',
  'container.name': 'k8s.container.name',
  'orchestrator.namespace': 'k8s.namespace.name',
  'orchestrator.resource.name': 'k8s.pod.name',
  'orchestrator.resource.id': 'k8s.pod.uid',
});

/** Numeric semconv ids that ECS carries as strings (user ids). */
const INT_OF_STRING: Readonly<Record<string, string>> = Object.freeze({
  'process.user.id': 'process.user.id',
  'process.real_user.id': 'process.real_user.id',
  'process.saved_user.id': 'process.saved_user.id',
});

/** ECS fields without a convention, kept under their own names so backends can filter on them. */
export const KEPT_ECS = Object.freeze([
  'event.id',
  'event.kind',
  'event.action',
  'event.outcome',
  'event.severity',
  'process.entity_id',
  'rule.id',
  'rule.name',
  'rule.ruleset',
  'threat.technique.id',
  'threat.tactic.name',
]);

function get(doc: Record<string, unknown>, path: string): unknown {
  let v: unknown = doc;
  let start = 0;
  for (;;) {
    if (v === null || typeof v !== 'object') return undefined;
    const dot = path.indexOf('.', start);
    const key = dot < 0 ? path.slice(start) : path.slice(start, dot);
    // ECS documents are nested, but a key may itself hold dots (flattened writers): try the rest whole first.
    const rest = path.slice(start);
    const o = v as Record<string, unknown>;
    if (rest in o) return o[rest];
    v = o[key];
    if (dot < 0) return v;
    start = dot + 1;
  }
}

function attr(v: unknown): AttrValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (Array.isArray(v)) {
    const flat = v.flat().filter((x) => typeof x === 'string' || typeof x === 'number').map(String);
    return flat.length ? flat : undefined;
  }
  return undefined;
}

/** The record's attributes from an ECS document (see the file comment). */
export function logAttributes(doc: Record<string, unknown>): Attrs {
  const out: Attrs = {};
  for (const [ecs, sc] of Object.entries(SEMCONV)) {
    const v = attr(get(doc, ecs));
    if (v !== undefined) out[sc] = v;
  }
  for (const [ecs, sc] of Object.entries(INT_OF_STRING)) {
    const v = get(doc, ecs);
    if (typeof v === 'string' && /^\d{1,10}$/.test(v)) out[sc] = Number(v);
  }
  for (const k of KEPT_ECS) {
    const v = attr(get(doc, k));
    if (v !== undefined) out[k] = v;
  }
  // The peer of a connection: whom we called, or who called us.
  const peer = get(doc, 'network.direction') === 'ingress' ? 'source' : 'destination';
  const pip = get(doc, `${peer}.ip`);
  const pport = get(doc, `${peer}.port`);
  if (typeof pip === 'string') out['network.peer.address'] = pip;
  if (typeof pport === 'number') out['network.peer.port'] = pport;
  return out;
}

/**
 * OpenTelemetry severity number and text (log data model: INFO 9, WARN 13,
 * ERROR 17, ERROR3 19, FATAL 21) from the document's ECS `event.severity`,
 * the risk score normalize/severity.ts writes per rule severity (21 low,
 * 47 medium, 73 high, 99 critical). Telemetry is INFO, a loss report WARN.
 */
export function logSeverity(doc: Record<string, unknown>): { number: number; text: string } {
  const s = get(doc, 'event.severity');
  if (typeof s === 'number') {
    if (s >= 99) return { number: 21, text: 'critical' };
    if (s >= 73) return { number: 19, text: 'high' };
    if (s >= 47) return { number: 17, text: 'medium' };
    if (s >= 21) return { number: 13, text: 'low' };
  }
  return get(doc, 'ebpf.kind') === 'loss' ? { number: 13, text: 'loss' } : { number: 9, text: 'info' };
}

/** [seconds, nanoseconds] of "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z" (all nine digits kept). */
export function hrTimeOf(iso: string): [number, number] {
  const whole = Date.parse(`${iso.slice(0, 19)}Z`);
  if (Number.isNaN(whole)) {
    const now = Date.now();
    return [Math.floor(now / 1000), (now % 1000) * 1e6];
  }
  const dot = iso.indexOf('.', 19);
  const frac = dot < 0 ? '' : iso.slice(dot + 1, iso.length - 1);
  return [Math.floor(whole / 1000), Number((frac + '000000000').slice(0, 9))];
}

const ARCH: Readonly<Record<string, string>> = Object.freeze({ x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm32', ppc64le: 'ppc64', s390x: 's390x', i686: 'x86' });

/** Resource attributes: the host and the sensor (semconv host.*, os.*, service.*). */
export function resourceAttributes(host: HostInfo, agent: AgentInfo): Attrs {
  const r: Attrs = {
    'service.name': agent.name,
    'service.version': agent.version,
    'service.instance.id': agent.id,
    'host.name': host.name,
    'host.id': host.id,
    'host.arch': ARCH[host.architecture] ?? host.architecture,
    'os.type': 'linux',
    'agent.type': agent.type,
  };
  if (host.ip.length) r['host.ip'] = [...host.ip];
  if (host.mac?.length) r['host.mac'] = [...host.mac];
  if (host.os.name !== undefined) r['os.name'] = host.os.name;
  if (host.os.version !== undefined) r['os.version'] = host.os.version;
  r['os.description'] = `${host.os.name ?? 'Linux'} (kernel ${host.os.kernel})`;
  return r;
}
