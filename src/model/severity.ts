/**
 * The order of rule severities (low < medium < high < critical), and the
 * match that speaks for an alert. Takes verdicts; gives ranks, the top
 * match and its severity. How each output writes a severity is the output's business
 * (normalize/severity.ts, sinks/syslog, sinks/otlp).
 */
import type { RuleMatch, Severity, Verdict } from './verdict.js';

/** Rank of each severity: a higher rank is more severe. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = Object.freeze({ low: 0, medium: 1, high: 2, critical: 3 });

/** The match that speaks for an alert: the most severe, the first one on ties; undefined for a normal verdict. */
export function topMatch(v: Verdict): RuleMatch | undefined {
  if (v.classification !== 'suspicious' || v.matches.length === 0) return undefined;
  let top = v.matches[0]!;
  for (let i = 1; i < v.matches.length; i++) {
    const m = v.matches[i]!;
    if (SEVERITY_RANK[m.severity] > SEVERITY_RANK[top.severity]) top = m;
  }
  return top;
}

/** The highest severity among the matches of a suspicious verdict (undefined: normal, or no match). */
export function topSeverity(v: Verdict): Severity | undefined {
  return topMatch(v)?.severity;
}
