/**
 * Reading a field off an event.
 *
 * Takes: a dotted field name of the registry. Gives: a getter closure,
 * specialized per field so that each keeps its own inline caches (the rules'
 * hot path reads through these).
 */
import type { SensorEvent } from '../model/event.js';

/** A field's value as the engine reads it. */
export type FieldValue = string | number | boolean | readonly string[] | readonly number[] | undefined;

/**
 * Getters of the fields rules use most, written out: each is its own
 * function, so each property load keeps its own inline cache. A shared
 * generic getter sees every field and event shape and goes megamorphic,
 * which cost a third of the evaluation time (bench/rules.ts).
 */
const HOT_GETTERS: Readonly<Record<string, (ev: SensorEvent) => FieldValue>> = {
  'process.executable': (ev) => ev.process.executable,
  'file.path': (ev) => ev.file?.path,
  'process.pid': (ev) => ev.process.pid,
  'ebpf.kind': (ev) => ev.ebpf.kind,
  'process.name': (ev) => ev.process.name,
  'event.action': (ev) => ev.event.action,
  'process.parent.executable': (ev) => ev.process.parent.executable,
  'event.outcome': (ev) => ev.event.outcome,
  'process.command_line': (ev) => ev.process.command_line,
  'process.args': (ev) => ev.process.args,
  'ebpf.exec.filename': (ev) => ev.ebpf.exec?.filename,
  'ebpf.exec.stdio.stdin': (ev) => ev.ebpf.exec?.stdio?.stdin,
  'ebpf.exec.stdio.stdout': (ev) => ev.ebpf.exec?.stdio?.stdout,
  'container.id': (ev) => ev.container?.id,
  'container.name': (ev) => ev.container?.name,
  'orchestrator.type': (ev) => ev.orchestrator?.type,
  'orchestrator.namespace': (ev) => ev.orchestrator?.namespace,
  'orchestrator.resource.type': (ev) => ev.orchestrator?.resource.type,
  'orchestrator.resource.name': (ev) => ev.orchestrator?.resource.name,
  'orchestrator.resource.id': (ev) => ev.orchestrator?.resource.id,
  'orchestrator.resource.label': (ev) => ev.orchestrator?.resource.label,
  'file.name': (ev) => ev.file?.name,
  'process.parent.pid': (ev) => ev.process.parent.pid,
  'ebpf.ptrace.target_pid': (ev) => ev.ebpf.ptrace?.target_pid,
  'ebpf.ptrace.request_name': (ev) => ev.ebpf.ptrace?.request_name,
  'ebpf.open.intent': (ev) => ev.ebpf.open?.intent,
  'ebpf.namespaces.names': (ev) => ev.ebpf.namespaces?.names,
  'process.parent.name': (ev) => ev.process.parent.name,
  'process.parent.args': (ev) => ev.process.parent.args,
  'ebpf.mount.source': (ev) => ev.ebpf.mount?.source,
  'ebpf.mount.fstype': (ev) => ev.ebpf.mount?.fstype,
  'ebpf.ids.requested': (ev) => ev.ebpf.ids?.requested,
  'ebpf.chmod.mode': (ev) => ev.ebpf.chmod?.mode,
  'network.type': (ev) => ev.network?.type,
  'file.directory': (ev) => ev.file?.directory,
  'user.id': (ev) => ev.user.id,
  'process.user.id': (ev) => ev.process.user.id,
  'ebpf.bpf.cmd_name': (ev) => ev.ebpf.bpf?.cmd_name,
  'destination.port': (ev) => ev.destination?.port,
  'destination.ip': (ev) => ev.destination?.ip,
  'process.parent.command_line': (ev) => ev.process.parent.command_line,
  'ebpf.process.loginuid': (ev) => ev.ebpf.process?.loginuid,
};

/** The getter of a registered field. */
export function getter(path: string): (ev: SensorEvent) => FieldValue {
  const hot = HOT_GETTERS[path];
  if (hot) return hot;
  const p = path.split('.');
  // Specialized closures: a generic loop over the parts costs a third of the
  // evaluation time on the hot path.
  switch (p.length) {
    case 1: {
      const [a] = p as [string];
      return (ev) => (ev as unknown as Record<string, FieldValue>)[a];
    }
    case 2: {
      const [a, b] = p as [string, string];
      return (ev) => (ev as unknown as Record<string, Record<string, FieldValue> | undefined>)[a]?.[b];
    }
    case 3: {
      const [a, b, c] = p as [string, string, string];
      return (ev) => (ev as unknown as Record<string, Record<string, Record<string, FieldValue> | undefined> | undefined>)[a]?.[b]?.[c];
    }
    default:
      return (ev) => {
        let o: unknown = ev;
        for (const k of p) {
          if (o === undefined || o === null) return undefined;
          o = (o as Record<string, unknown>)[k];
        }
        return o as FieldValue;
      };
  }
}
