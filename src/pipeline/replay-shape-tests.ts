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
 * A field the template holds is its value; a field it holds nothing at,
 * above or below is absent (checked once per template on its skeleton: a
 * getter that would throw there keeps the partial event). Fields a template
 * holds otherwise (a value above the field, an object built from paths
 * below it, one path inside another: no capture the writer makes has one)
 * keep the partial event for that template (null), so a shape's answer is
 * always mayMatch's on its partial event.
 */
import type { IR } from '../rules/compiler.js';
import { toClosure } from '../rules/compiler.js';
import type { SensorEvent } from '../model/event.js';
import type { FieldSpec, FieldValue } from '../rules/fields.js';
import { emptyPartial } from '../rules/filter.js';

/** The matcher over a shape's values (index k: the value of the template's path k). */
export type ValuesTest = (values: readonly unknown[]) => boolean;

/** The objects emptyPartial() (rules/filter.ts) puts in every partial event: reading one is not reading a value. */
const FRAME = new Set(['event', 'ebpf', 'process', 'process.parent', 'process.user', 'process.group', 'user', 'group']);

/** `ir` over the values of a flat template with these paths; null when one of its fields cannot be read by position. */
export function valuesTest(ir: IR, paths: readonly string[]): ValuesTest | null {
  const at = new Map(paths.map((p, i) => [p, i]));
  // One path inside another (a hostile template): the partial event depends on their order; keep it.
  if (at.size !== paths.length || paths.some((p) => p.split('.').some((_, j, parts) => j > 0 && at.has(parts.slice(0, j).join('.'))))) return null;
  let sk: Record<string, unknown> | undefined;
  const skeleton = (): Record<string, unknown> => (sk ??= skeletonOf(paths));
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
        const get = indexGetter(x.field, at, paths, skeleton);
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

/**
 * How to read a field from the values of a template with these paths (`at`:
 * path → index); null when it cannot be read by position exactly as its
 * getter reads the partial event. A field the template holds is its value
 * (the objects on the way are the frame's or built from paths: never null).
 * A field the template holds nothing at, above or below is what the getter
 * finds on the template's skeleton — the same for every shape of the
 * template — unless that is not "absent" (a getter that would throw there,
 * `ev.orchestrator?.resource.type` under an `orchestrator` built from other
 * paths: the partial event keeps it, mayMatch's "may match" included).
 * Anything else (a value of the template above the field, an object built
 * from paths below it) keeps the partial event: no capture the writer makes
 * has one.
 */
function indexGetter(field: FieldSpec, at: ReadonlyMap<string, number>, paths: readonly string[], skeleton: () => Record<string, unknown>): ((values: readonly unknown[]) => FieldValue) | null {
  const name = field.name;
  if (FRAME.has(name)) return null;
  const k = at.get(name);
  if (k !== undefined) return (v) => v[k] as FieldValue;
  const parts = name.split('.');
  for (let j = 1; j < parts.length; j++) if (at.has(parts.slice(0, j).join('.'))) return null;
  const prefix = `${name}.`;
  if (paths.some((p) => p.startsWith(prefix))) return null;
  try {
    if (field.get(skeleton() as unknown as SensorEvent) !== undefined) return null;
  } catch {
    return null;
  }
  return () => undefined;
}

/** The partial event of a template's shapes with every value a number (absent fields read the same on all of them). */
function skeletonOf(paths: readonly string[]): Record<string, unknown> {
  const o = emptyPartial();
  for (const p of paths) {
    const parts = p.split('.');
    let at = o;
    for (let j = 0; j < parts.length - 1; j++) {
      const next = at[parts[j]!];
      at = (next !== null && typeof next === 'object' ? next : (at[parts[j]!] = {})) as Record<string, unknown>;
    }
    at[parts[parts.length - 1]!] = 0;
  }
  return o;
}
