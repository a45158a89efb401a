/**
 * The template model of captures (capture-format.ts): a template is an
 * object whose leaves say where a record's values go (1: the next value,
 * 0: a place that a context, a shape or the timestamp fills). Takes parsed
 * templates and values; gives checked templates, built objects, the flat
 * (dotted-path) form that shapes use, and values put back at their path.
 * Nothing here reads bytes (capture-json.ts) or knows blocks (capture-block.ts).
 */
import { cloneJson, splitPath, unsafePath } from './capture-format.js';
import { inputLimits } from '../../model/limits.js';

/** A template: an object whose leaves are 0 (a hoisted value) or 1 (the next of the event's values). */
export type Template = { [key: string]: 0 | 1 | Template };

/** A flat template of dotted paths (shapes), prepared for reading. */
export interface FlatTemplate {
  paths: string[];
  index: ReadonlyMap<string, number>;
  nested: Template;
  /** For each leaf of `nested`, in order: the index of its value. */
  order: number[];
}

/**
 * A template value, or why it is not one. Keys that would reach an object's
 * prototype (`__proto__`, also as part of a dotted path) are refused, and
 * nesting is bounded, so filling a template can neither pollute nor
 * exhaust the stack.
 */
export function checkTemplate(v: unknown, depth = 0): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
  const max = inputLimits().templateDepth;
  if (depth >= max) return `nested deeper than ${max} levels (replay --max-template-depth)`;
  for (const k in v as Record<string, unknown>) {
    if (unsafePath(k)) return `the key ${JSON.stringify(k)} is not allowed`;
    const x = (v as Record<string, unknown>)[k];
    if (x === 0 || x === 1) continue;
    const why = checkTemplate(x, depth + 1);
    if (why) return why;
  }
  return undefined;
}

/**
 * Build an object from its template and values (`at.i` ends at the number of
 * values used). With `copy`, array values are copied, so objects built from
 * shared values share nothing.
 */
export function fill(t: Template, values: unknown[], at: { i: number }, copy = false): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k in t) {
    const x = t[k]!;
    if (x === 1) {
      const v = values[at.i++];
      o[k] = copy && Array.isArray(v) ? cloneJson(v) : v;
    } else if (x === 0) o[k] = 0;
    else o[k] = fill(x, values, at, copy);
  }
  return o;
}

/** Calls `leaf(path)` for every leaf 1 of the template, in order, with its dotted path. */
export function eachValueLeaf(t: Template, leaf: (path: string) => void, prefix = ''): void {
  for (const k in t) {
    const x = t[k]!;
    const path = prefix ? `${prefix}.${k}` : k;
    if (x === 1) leaf(path);
    else if (x !== 0) eachValueLeaf(x, leaf, path);
  }
}

/**
 * A template as a flat one (shapes: every key a dotted path taking a value):
 * its paths in value order, where each is, and how to build the nested
 * partial event from the values; undefined when it is not flat.
 */
export function flatten(tmpl: Template): FlatTemplate | undefined {
  const paths = Object.keys(tmpl);
  if (!paths.every((p) => tmpl[p] === 1)) return undefined;
  // The nested form of the paths, and for each of its leaves (in order) the value it takes.
  const nested: Template = {};
  const slot = new Map<string, number>();
  paths.forEach((p, i) => {
    const parts = splitPath(p);
    let o = nested;
    for (let k = 0; k < parts.length - 1; k++) o = (o[parts[k]!] ??= {}) as Template;
    o[parts[parts.length - 1]!] = 1;
    slot.set(p, i);
  });
  const order: number[] = [];
  eachValueLeaf(nested, (path) => order.push(slot.get(path)!));
  return { paths, index: slot, nested, order };
}

/** The values of a flat template set into `into` as nested objects (a partial event). */
export function putFlat(f: FlatTemplate, values: readonly unknown[], into: Record<string, unknown>): void {
  const at = { i: 0 };
  const put = (o: Template, target: Record<string, unknown>): void => {
    for (const k in o) {
      const x = o[k]!;
      if (x === 1) target[k] = values[f.order[at.i++]!];
      else if (x !== 0) {
        const next = target[k];
        put(x, (target[k] = next !== null && typeof next === 'object' ? next : {}) as Record<string, unknown>);
      }
    }
  };
  put(f.nested, into);
}

/**
 * Put `value` at the dotted `path` of a built object, where its template
 * left a place (0); false when there is no such place.
 */
export function restorePath(obj: Record<string, unknown>, path: string, value: unknown): boolean {
  const parts = splitPath(path);
  let o: unknown = obj;
  for (let k = 0; k < parts.length - 1; k++) {
    o = (o as Record<string, unknown>)[parts[k]!];
    if (o === null || typeof o !== 'object') return false;
  }
  const key = parts[parts.length - 1]!;
  const parent = o as Record<string, unknown>;
  if (parent[key] !== 0) return false;
  parent[key] = value;
  return true;
}
