/**
 * The fields rules may address: every dotted name a rule condition or output
 * template may use, its type, whether it holds an array, which event families
 * carry it, and how to read it.
 *
 * Takes: the registry table (field-registry.ts, checked against the canonical
 * model at build time) and the getters (field-getters.ts). Gives: FIELDS and
 * fieldSpec() for the compiler; the per-family value sets (field-values.ts)
 * are re-exported here, where the compiler looks for field facts.
 *
 * Types:
 *  - keyword: a string compared byte for byte (ECS keyword);
 *  - id: a keyword holding a decimal number (user.id, file.uid, …). `=`/`in`
 *    compare the decimal text (a number literal is written in canonical
 *    decimal, so `user.id = 0` and `user.id = "0"` are the same test), and
 *    `<`, `<=`, `>`, `>=` compare numerically;
 *  - long: a number; boolean.
 */
import { EVENT_KINDS, type EventKind, type SensorEvent } from '../model/event.js';
import { getter, type FieldValue } from './field-getters.js';
import { REGISTRY } from './field-registry.js';

export type { FieldValue } from './field-getters.js';
export { ACTIONS_OF_KIND, CLOSED_VALUES, SYSCALLS_OF_KIND } from './field-values.js';

export type FieldType = 'keyword' | 'id' | 'long' | 'boolean';

/** What the compiler knows about one field. */
export interface FieldSpec {
  name: string;
  type: FieldType;
  array: boolean;
  /** Families whose events can carry it. */
  kinds: ReadonlySet<EventKind>;
  /** Reads the value from an event (undefined when absent). */
  get: (ev: SensorEvent) => FieldValue;
}

const ALL_KINDS: ReadonlySet<EventKind> = new Set(EVENT_KINDS);

/** name → spec, for every field rules may address. */
export const FIELDS: ReadonlyMap<string, FieldSpec> = new Map(
  Object.entries(REGISTRY).map(([name, [spec, carriers]]) => {
    const array = spec.endsWith('[]');
    const type = (array ? spec.slice(0, -2) : spec) as FieldType;
    const kinds = carriers === 'all' ? ALL_KINDS : new Set<EventKind>(carriers);
    return [name, { name, type, array, kinds, get: getter(name) }];
  }),
);

/** Look up a field; undefined when rules may not use that name. */
export function fieldSpec(name: string): FieldSpec | undefined {
  return FIELDS.get(name);
}
