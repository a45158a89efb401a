/**
 * pipeline/replay-shape-tests: the shape-only partial matcher of a kind
 * (RuleContext.byShape, rules/filter.ts partialMatcher) compiled per event
 * template to read a shape's values by position.
 *
 * Takes: the matcher's IR (tests of fields shapes hold, factored) and the
 * dotted paths of a flat template (a shape definition's). Gives: a test over
 * the shape's values array, as parsed when its block was indexed, answering
 * what the matcher answers on the partial event built from those values —
 * without building it. Shapes are many (one per distinct path: 10,000 in
 * 200,000 events of the benchmark captures, nearly all different) and the
 * partial event cost more than the matcher's answer.
 *
 * A field the template holds is its value; a field inside one (a path of the
 * template above it) is read from that value as the field getters walk; a
 * field the template holds nothing of is absent. A field the template
 * holds in parts (an object the partial event would build) or one of the
 * objects every partial event has cannot be read by position, nor can a
 * template with one path inside another: such a template keeps the partial
 * event (null). The getters' `?.` aside — where the
 * partial event would make a getter throw (a missing object under a present
 * one), mayMatch answered "may match" and this test reads "absent" — both
 * evaluate the same upper bound on the same values.
 */
import type { IR } from '../rules/compiler.js';
import { toClosure } from '../rules/compiler.js';
import type { FieldValue } from '../rules/fields.js';

/** The matcher over a shape's values (index k: the value of the template's path k). */
export type ValuesTest = (values: readonly unknown[]) => boolean;

/** The objects emptyPartial() (rules/filter.ts) puts in every partial event: reading one is not reading a value. */
const FRAME = new Set(['event', 'ebpf', 'process', 'process.parent', 'process.user', 'process.group', 'user', 'group']);

/** `ir` over the values of a flat template with these paths; null when one of its fields cannot be read by position. */
export function valuesTest(ir: IR, paths: readonly string[]): ValuesTest | null {
  const at = new Map(paths.map((p, i) => [p, i]));
  // One path inside another (a hostile template): the partial event depends on their order; keep it.
  if (at.size !== paths.length || paths.some((p) => p.split('.').some((_, j, parts) => j > 0 && at.has(parts.slice(0, j).join('.'))))) return null;
  let ok = true;
  const conv = (x: IR): IR => {
    switch (x.t) {
      case 'const':
        return x;
      case 'not':
        return { t: 'not', e: conv(x.e) };
      case 'and':
      case 'or':
        return { t: x.t, items: x.items.map(conv) };
      case 'test': {
        const get = indexGetter(x.field.name, at, paths);
        if (!get) {
          ok = false;
          return x;
        }
        return { ...x, field: { ...x.field, get: get as unknown as typeof x.field.get } };
      }
    }
  };
  const c = conv(ir);
  return ok ? (toClosure(c) as unknown as ValuesTest) : null;
}

/** A shape's answer: a test that throws (a broken definition) means "may match", as mayMatch says. */
export function valuesMay(test: ValuesTest, values: readonly unknown[]): boolean {
  try {
    return test(values);
  } catch {
    return true;
  }
}

/** How to read field `name` from the values of a template with these paths (`at`: path → index); null when it cannot be. */
function indexGetter(name: string, at: ReadonlyMap<string, number>, paths: readonly string[]): ((values: readonly unknown[]) => FieldValue) | null {
  if (FRAME.has(name)) return null;
  const k = at.get(name);
  if (k !== undefined) return (v) => v[k] as FieldValue;
  const parts = name.split('.');
  // A path of the template above the field: walk into its value (rules/field-getters.ts).
  for (let j = parts.length - 1; j > 0; j--) {
    const i = at.get(parts.slice(0, j).join('.'));
    if (i === undefined) continue;
    const rest = parts.slice(j);
    return (v) => {
      let o: unknown = v[i];
      for (const r of rest) {
        if (o === undefined || o === null) return undefined;
        o = (o as Record<string, unknown>)[r];
      }
      return o as FieldValue;
    };
  }
  // Paths below it: the partial event would hold an object built from them.
  const prefix = `${name}.`;
  if (paths.some((p) => p.startsWith(prefix))) return null;
  return () => undefined;
}
