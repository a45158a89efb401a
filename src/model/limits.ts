/**
 * limits: the process-wide bounds on nesting in untrusted input — rule
 * conditions (and `replay --filter`) and capture templates. Takes the
 * values of `rules.maxNesting` / `replay --max-nesting` and
 * `replay --max-template-depth`; gives them to the condition parser, the
 * rule compiler and the capture reader. The bounds keep a hostile input from
 * exhausting the stack of recursive code; the upper ends of the ranges are
 * what that code handles within Node's default stack (docs/security.md).
 */
import { SensorError } from '../errors.js';

export interface InputLimits {
  /** How deep `not` and parentheses may nest in a condition (macro chains: 4×, list chains: 1×). */
  conditionDepth: number;
  /** How deep a capture template may nest. */
  templateDepth: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({ conditionDepth: 100, templateDepth: 32 });

/** Accepted values, inclusive. */
export const INPUT_LIMIT_RANGES: Readonly<Record<keyof InputLimits, readonly [number, number]>> = Object.freeze({
  conditionDepth: [1, 1000] as const,
  templateDepth: [1, 1000] as const,
});

const current: InputLimits = { ...DEFAULT_INPUT_LIMITS };

/** The limits in force. */
export function inputLimits(): Readonly<InputLimits> {
  return current;
}

/**
 * Set some limits (the others stay). A value outside its range is
 * ESENSOR_USAGE naming `what[key]` (the option or config key it came from).
 */
export function setInputLimits(l: Partial<InputLimits>, what: Partial<Record<keyof InputLimits, string>> = {}): void {
  for (const key of Object.keys(l) as (keyof InputLimits)[]) {
    const v = l[key];
    if (v === undefined) continue;
    const [lo, hi] = INPUT_LIMIT_RANGES[key];
    if (!Number.isSafeInteger(v) || v < lo || v > hi) {
      throw new SensorError('ESENSOR_USAGE', `${what[key] ?? key} must be an integer ${lo}-${hi}, got ${String(v)}`, { field: what[key] ?? key });
    }
  }
  for (const key of Object.keys(l) as (keyof InputLimits)[]) if (l[key] !== undefined) current[key] = l[key]!;
}
