/**
 * What delivery hands to sinks: an event with the facts it is routed by.
 *
 * Takes: classified events (verdict.ts). Gives: OutputFormat, EventRoute (the
 * facts sinks route by: topic, index, key, filters), ShippedEvent (a
 * classified event as read back from the journal, with the lines written
 * once) and routeOf(), which derives the route when the journal did not keep it.
 */
import { topSeverity } from './severity.js';
import type { ClassifiedEvent, Severity } from './verdict.js';

/** Output formats a sink ships. */
export type OutputFormat = 'ecs' | 'cef';

/** The facts sinks route an event by (topic, index, key, filters), kept next to it in the journal. */
export interface EventRoute {
  /** verdict.classification === 'suspicious' */
  suspicious: boolean;
  /** ebpf.kind === 'loss' */
  loss: boolean;
  /** event.id */
  id: string;
  /** process.entity_id ('' when unknown) */
  entityId: string;
  /** process.pid */
  pid: number;
  /** @timestamp (absent in routes journaled before it was kept: read the event then) */
  time?: string;
  /** The top rule severity of a suspicious event with matches (absent: none, or an older route without it — see `time`) */
  severity?: Severity;
}

/**
 * A classified event as delivery hands it to sinks: read from the journal
 * with the routing facts and, per output format, the line written once when
 * it was journaled. A plain ClassifiedEvent (tests, replay) has neither: the
 * sink derives and formats them itself.
 */
export interface ShippedEvent extends ClassifiedEvent {
  readonly route?: EventRoute;
  /** The UTF-8 bytes of this event's line in `format` (no newline), when the journal holds them. */
  shipped?(format: OutputFormat): Buffer | undefined;
}

/** The routing facts of an event (from the journal when it kept them). */
export function routeOf(ce: ShippedEvent): EventRoute {
  if (ce.route) return ce.route;
  const ev = ce.event;
  const r: EventRoute = { suspicious: ce.verdict.classification === 'suspicious', loss: ev.ebpf.kind === 'loss', id: ev.event.id, entityId: ev.process.entity_id, pid: ev.process.pid, time: ev['@timestamp'] };
  const sev = topSeverity(ce.verdict);
  if (sev !== undefined) r.severity = sev;
  return r;
}
