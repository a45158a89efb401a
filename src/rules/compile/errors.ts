/**
 * Problems found while compiling rules: `semantic` makes one at a place in a
 * rule file; `sortErrors` orders them as lint prints them.
 */
import { SensorError } from '../../errors.js';
import type { Where } from '../source.js';

/** A problem of meaning (not of YAML or syntax) at a place in a rule file. */
export function semantic(message: string, where: Where, field?: string): SensorError {
  return new SensorError('ESENSOR_RULE_SEMANTIC', message, { ...where, ...(field !== undefined ? { field } : {}) });
}

/**
 * Errors in file order (the order the files were compiled in; files no
 * compiled file names, such as `(runtime)`, after them in order of first
 * appearance), then line, then column, then the order they were found in.
 * A total order on (file rank, line, column, index): any two errors compare
 * the same way whatever else is in the list. Duplicates are dropped.
 */
export function sortErrors(errors: readonly SensorError[], fileOrder: readonly string[] = []): SensorError[] {
  // A broken macro is reported once, not once per rule that uses it.
  const seen = new Set<string>();
  const unique = errors.filter((e) => {
    const k = `${e.file}:${e.line}:${e.column}:${e.code}:${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const rank = new Map<string, number>();
  for (const f of fileOrder) if (!rank.has(f)) rank.set(f, rank.size);
  for (const e of unique) if (!rank.has(e.file ?? '')) rank.set(e.file ?? '', rank.size);
  return unique
    .map((e, i) => ({ e, i, r: rank.get(e.file ?? '')! }))
    .sort((a, b) => a.r - b.r || (a.e.line ?? 0) - (b.e.line ?? 0) || (a.e.column ?? 0) - (b.e.column ?? 0) || a.i - b.i)
    .map((x) => x.e);
}
