/**
 * pipeline/replay-summary: what a replay reports.
 *
 * Takes: the counts a replay gathered (ReplaySummary). Gives: their shape
 * and the text printed on a terminal (alerts by rule and severity, the
 * process tree of --process, damage, inputs never closed).
 */
import { basename } from 'node:path';
import type { Severity } from '../model/event.js';
import type { InputDamage } from '../sources/replay/replay-source.js';

export interface RuleCount {
  rule: string;
  name: string;
  severity: Severity;
  count: number;
}

/** One process in an ancestry or subtree. */
export interface ProcessNode {
  entity_id: string;
  pid: number;
  name?: string;
  executable?: string;
  args?: string[];
  parent?: string;
}

export interface ReplaySummary {
  inputs: number;
  /** Records read from the inputs (the last pass for --process). */
  records: number;
  /** Records lost to damage (with --skip-bad). */
  damaged: number;
  damage: InputDamage[];
  /** Events handed to the sinks. */
  written: number;
  /** Alerts among them. */
  alerts: number;
  byRule: RuleCount[];
  bySeverity: Record<Severity, number>;
  /** Captures whose writer never closed them (their end may be missing). */
  unclosed: string[];
  /** Events whose body was never parsed (fast path). */
  skipped: number;
  seconds: number;
  /** --process: the chain from the oldest known ancestor down to the process, and the processes replayed. */
  ancestry?: ProcessNode[];
  processes?: number;
}

const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

/** The summary as text for a terminal: alerts by rule and severity, then the counts. */
export function formatSummary(s: ReplaySummary): string {
  const lines: string[] = [];
  const rate = s.seconds > 0 ? Math.round(s.records / s.seconds) : 0;
  lines.push(`replayed ${s.records} events from ${s.inputs} input${s.inputs === 1 ? '' : 's'} in ${s.seconds.toFixed(2)} s (${rate} events/s); wrote ${s.written}`);
  if (s.ancestry) {
    lines.push(`process tree: ${s.processes} process${s.processes === 1 ? '' : 'es'}; ancestry (oldest first):`);
    for (const n of s.ancestry) lines.push(`  ${n.pid >= 0 ? n.pid : '?'} ${n.executable ?? n.name ?? '?'} ${n.args ? JSON.stringify(n.args) : ''} [${n.entity_id}]`.trimEnd());
  }
  lines.push(`alerts: ${s.alerts}${s.alerts ? ` (${SEVERITIES.filter((v) => s.bySeverity[v]).map((v) => `${v} ${s.bySeverity[v]}`).join(', ')})` : ''}`);
  if (s.byRule.length) {
    const w = Math.max(4, ...s.byRule.map((r) => r.rule.length));
    lines.push(`  ${'rule'.padEnd(w)}  severity  count`);
    for (const r of s.byRule) lines.push(`  ${r.rule.padEnd(w)}  ${r.severity.padEnd(8)}  ${String(r.count).padStart(5)}`);
  }
  if (s.damaged || s.damage.length) lines.push(`damaged: ${s.damaged} records lost in ${s.damage.length} place${s.damage.length === 1 ? '' : 's'} (--skip-bad)`);
  for (const f of s.unclosed) lines.push(`warning: ${basename(f)} was never closed by its writer (crash?): its end may be missing`);
  return `${lines.join('\n')}\n`;
}
