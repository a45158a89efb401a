/**
 * The compiled form of a rule condition: an IR of typed tests of one field
 * each, joined by and/or/not, with constants where a test is decided. Made
 * by resolve.ts and check.ts, folded per event family by specialize.ts,
 * turned into closures there too. Types only.
 */
import type { SensorEvent } from '../../model/event.js';
import type { Op } from '../condition.js';
import type { FieldSpec, FieldValue } from '../fields.js';

/** A typed, checked test of one field. */
export interface TestIR {
  t: 'test';
  field: FieldSpec;
  op: Op;
  /** Operands after list expansion and type conversion. */
  values: ReadonlyArray<string | number | boolean>;
  /** Evaluates the test on a field value (undefined = absent). */
  pred: (v: FieldValue) => boolean;
}

export type IR =
  | TestIR
  | { t: 'and'; items: IR[] }
  | { t: 'or'; items: IR[] }
  | { t: 'not'; e: IR }
  | { t: 'const'; value: boolean };

export type EventPredicate = (ev: SensorEvent) => boolean;
