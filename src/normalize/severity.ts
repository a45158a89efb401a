/**
 * Rule severities as each output writes them, and which match of a verdict
 * speaks for the alert. The rule engine displays both scales.
 */
import type { Severity } from '../model/event.js';

/**
 * ECS `event.severity` (and `event.risk_score`) per rule severity. These are
 * the risk scores Elastic Security gives its own rule severities (21/47/73/99),
 * so our alerts sort and colour like Elastic's in Kibana.
 */
export const ECS_SEVERITY: Readonly<Record<Severity, number>> = Object.freeze({ low: 21, medium: 47, high: 73, critical: 99 });

/**
 * CEF header severity (0-10) per rule severity, on ArcSight's bands:
 * 0-3 Low, 4-6 Medium, 7-8 High, 9-10 Very-High.
 */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = Object.freeze({ low: 3, medium: 5, high: 8, critical: 10 });

/** CEF severity of telemetry (no rule matched): the bottom of the Low band but not 0, which some SIEMs read as "unknown". */
export const CEF_SEVERITY_EVENT = 1;

/** CEF severity of a loss report: lost events are a blind spot an attack could hide in. */
export const CEF_SEVERITY_LOSS = 5;

/** The match that speaks for an alert (model/severity.ts). */
export { topMatch } from '../model/severity.js';
