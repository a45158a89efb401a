/**
 * The rules stage's verdict on an event.
 *
 * Takes: nothing (types only). Gives: Verdict (normal or suspicious, with the
 * matching rules), RuleMatch, KillReport, Severity and ClassifiedEvent — an
 * event with its verdict, as the journal and the sinks carry it.
 */
import type { SensorEvent } from './event.js';

/** Rule verdict attached by the rules stage. */
export interface RuleMatch {
  id: string;
  name: string;
  description: string;
  severity: Severity;
  tags: string[];
  message: string;
  ruleset: string;
  version: string;
  action: 'alert' | 'kill';
  /** action kill: what the sensor did to the process (live sensor only; replay never kills). */
  kill?: KillReport;
}

/** The outcome of a kill action, with the delay from the event to the signal. */
export interface KillReport {
  pid: number;
  signal: 'SIGKILL';
  /** killed: signal sent; gone: the process had already exited (or its pid was reused); refused: a pid the sensor never kills; failed: kill(2) failed. */
  result: 'killed' | 'gone' | 'refused' | 'failed';
  /** Milliseconds from the event's @timestamp to the signal (user-space kill). */
  delay_ms?: number;
  /** Who stopped it: user space after classification (kernel enforcement, when loaded, acts before the syscall returns). */
  by: 'user' | 'kernel';
  error?: string;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';

export interface Verdict {
  /** 'normal' when no rule matched. */
  classification: 'normal' | 'suspicious';
  matches: RuleMatch[];
}

/** An event and its verdict, as the journal and sinks carry them. */
export interface ClassifiedEvent {
  event: SensorEvent;
  verdict: Verdict;
}
