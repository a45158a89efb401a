/**
 * normalize/ecs: canonical event + verdict + host/agent metadata → ECS 9.4
 * document. A pure function: the same input gives the same document, byte for
 * byte once serialized (key order is fixed by construction).
 *
 * Takes: ClassifiedEvent, HostInfo, AgentInfo. Gives: a plain object ready
 * for JSON.stringify, valid against ../shared/reference/ecs/ecs_flat.yml.
 */
import type { AgentInfo, ClassifiedEvent, HostInfo, SensorEvent, Severity } from '../../model/event.js';

export const ECS_VERSION = '9.4.0';

/** Numeric ECS event.severity for a rule severity (0-100 scale as Elastic detections use). */
export const ECS_SEVERITY: Record<Severity, number> = { low: 21, medium: 47, high: 73, critical: 99 };

interface Categorization {
  category: string[];
  type: string[];
}

/** ECS categorization per event family (and outcome where it matters). */
export function categorize(ev: SensorEvent): Categorization {
  switch (ev.ebpf.kind) {
    case 'exec':
      return { category: ['process'], type: ['start'] };
    case 'fork':
      return { category: ['process'], type: ['start'] };
    case 'exit':
      return { category: ['process'], type: ['end'] };
    case 'open': {
      const intent = ev.ebpf.open?.intent ?? [];
      if (intent.includes('create')) return { category: ['file'], type: ['creation'] };
      if (intent.includes('write') || intent.includes('truncate')) return { category: ['file'], type: ['change'] };
      return { category: ['file'], type: ['access'] };
    }
    case 'unlink':
      return { category: ['file'], type: ['deletion'] };
    case 'rename':
    case 'chmod':
    case 'chown':
    case 'truncate':
      return { category: ['file'], type: ['change'] };
    case 'link':
    case 'symlink':
    case 'mkdir':
      return { category: ['file'], type: ['creation'] };
    case 'memfd_create':
      return { category: ['file'], type: ['creation'] };
    case 'setuid':
    case 'setgid':
      return { category: ['iam', 'process'], type: ['change'] };
    case 'capset':
      return { category: ['iam', 'process'], type: ['change'] };
    case 'ptrace':
      return { category: ['process'], type: ['access'] };
    case 'module_load':
      return { category: ['driver'], type: ['start'] };
    case 'bpf':
      return { category: ['configuration'], type: ['change'] };
    case 'mount':
    case 'umount':
      return { category: ['configuration', 'file'], type: ['change'] };
    case 'unshare':
    case 'setns':
      return { category: ['process'], type: ['change'] };
    case 'connect':
      return { category: ['network'], type: ['connection', 'start'] };
    case 'accept':
      return { category: ['network'], type: ['connection', 'start'] };
    case 'bind':
    case 'listen':
      return { category: ['network'], type: ['start'] };
    case 'tamper':
      return { category: ['intrusion_detection'], type: ['indicator'] };
    case 'loss':
      return { category: ['host'], type: ['info'] };
  }
}

function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

/** The ECS document for one classified event. */
export function toEcs(ce: ClassifiedEvent, host: HostInfo, agent: AgentInfo): Record<string, unknown> {
  const ev = ce.event;
  const alert = ce.verdict.classification === 'suspicious';
  const top = alert ? ce.verdict.matches.reduce((a, b) => (ECS_SEVERITY[b.severity] > ECS_SEVERITY[a.severity] ? b : a)) : undefined;
  const cat = categorize(ev);
  const doc: Record<string, unknown> = {
    '@timestamp': ev['@timestamp'],
    ecs: { version: ECS_VERSION },
    event: compact({
      id: ev.event.id,
      kind: ev.ebpf.kind === 'loss' ? 'metric' : alert ? 'alert' : 'event',
      category: cat.category,
      type: cat.type,
      action: ev.event.action,
      outcome: ev.event.outcome,
      sequence: ev.event.sequence,
      severity: top ? ECS_SEVERITY[top.severity] : undefined,
      module: 'ebpf_sensor',
      dataset: alert ? 'ebpf_sensor.alerts' : 'ebpf_sensor.events',
      created: ev['@timestamp'],
      code: ev.ebpf.error,
    }),
    host: compact({
      name: host.name,
      hostname: host.hostname,
      id: host.id,
      ip: host.ip.length ? host.ip : undefined,
      mac: host.mac && host.mac.length ? host.mac : undefined,
      architecture: host.architecture,
      boot: { id: host.boot_id },
      os: compact({ ...host.os }),
    }),
    agent: { name: agent.name, type: agent.type, version: agent.version, id: agent.id },
    process: ev.process,
    user: ev.user,
    group: ev.group,
  };
  if (ev.file) doc.file = ev.file;
  if (ev.source) doc.source = ev.source;
  if (ev.destination) doc.destination = ev.destination;
  if (ev.network) doc.network = ev.network;
  if (ev.container) doc.container = ev.container;
  if (top) {
    doc.rule = {
      id: top.id,
      name: top.name,
      description: top.description,
      ruleset: top.ruleset,
      version: top.version,
    };
    doc.message = top.message;
    const techniques = ce.verdict.matches.flatMap((m) => m.tags).filter((t) => /^T\d{4}(\.\d{3})?$/.test(t));
    const tactics = ce.verdict.matches.flatMap((m) => m.tags).filter((t) => /^TA\d{4}$/.test(t));
    if (techniques.length || tactics.length) {
      doc.threat = compact({
        framework: 'MITRE ATT&CK',
        tactic: tactics.length ? { id: [...new Set(tactics)] } : undefined,
        technique: techniques.length ? { id: [...new Set(techniques)] } : undefined,
      });
    }
    doc.tags = [...new Set(ce.verdict.matches.flatMap((m) => m.tags))];
  }
  doc.ebpf = ev.ebpf;
  return doc;
}
