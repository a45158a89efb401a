/**
 * Validates ECS documents against the official field definitions
 * (ecs_flat.yml of ECS 9.4.0): every field exists in ECS or sits under the
 * custom namespace `ebpf.*`; every value has the declared type; fields ECS
 * normalizes to arrays are arrays and the others are not; allowed and
 * expected values hold (event.kind/category/type/outcome, network.direction,
 * host.os.type …); every event.type is expected with every event.category.
 *
 * Reads `../shared/reference/ecs/ecs_flat.yml` beside the checkout when it
 * exists, else the vendored copy in schemas/ecs/ (clean clones, CI).
 * Unit, kernel and integration tests all call `validateEcs` on what they get.
 */
import { readFileSync, existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot } from '../../src/sources/kernel/paths.js';

interface AllowedValue {
  name: string;
  expected_event_types?: string[];
}

export interface EcsFieldDef {
  flat_name: string;
  type: string;
  normalize?: string[];
  allowed_values?: AllowedValue[];
  expected_values?: string[];
  required?: boolean;
}

export interface EcsDefinitions {
  /** The file the definitions were read from. */
  path: string;
  fields: ReadonlyMap<string, EcsFieldDef>;
  /** Every proper prefix of a field name (object paths such as "process.parent"). */
  prefixes: ReadonlySet<string>;
  /** Object-typed fields that have defined children (so unknown children are errors). */
  objectsWithChildren: ReadonlySet<string>;
}

/** Where the shared reference lives, relative to the repository. */
export const SHARED_ECS_FLAT = join(packageRoot, '../shared/reference/ecs/ecs_flat.yml');
/** The vendored copy. */
export const VENDORED_ECS_FLAT = join(packageRoot, 'schemas/ecs/ecs_flat.yml');

/** Custom namespaces a document may carry besides ECS fields. */
export const CUSTOM_NAMESPACES: readonly string[] = ['ebpf'];

let cached: EcsDefinitions | undefined;

/** The ECS definitions (parsed once per process). */
export function ecsDefinitions(): EcsDefinitions {
  if (cached) return cached;
  const path = existsSync(SHARED_ECS_FLAT) ? SHARED_ECS_FLAT : VENDORED_ECS_FLAT;
  const raw = parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as Record<string, EcsFieldDef>;
  const fields = new Map<string, EcsFieldDef>();
  const prefixes = new Set<string>();
  for (const [name, def] of Object.entries(raw)) {
    fields.set(name, def);
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) prefixes.add(parts.slice(0, i).join('.'));
  }
  const objectsWithChildren = new Set<string>();
  for (const [name, def] of fields) {
    if (def.type === 'object' && prefixes.has(name)) objectsWithChildren.add(name);
  }
  cached = { path, fields, prefixes, objectsWithChildren };
  return cached;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const KEYWORDS = new Set(['keyword', 'constant_keyword', 'wildcard', 'match_only_text', 'text']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Problems with one scalar value of a declared type (empty when it fits). */
function checkScalar(field: string, type: string, v: unknown, out: string[]): void {
  if (KEYWORDS.has(type)) {
    if (typeof v !== 'string') out.push(`${field}: ${type} field holds ${describe(v)} ${JSON.stringify(v)}, not a string`);
    return;
  }
  switch (type) {
    case 'long':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) out.push(`${field}: long field holds ${describe(v)} ${JSON.stringify(v)}, not an integer`);
      return;
    case 'integer':
    case 'short':
    case 'byte':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) {
        out.push(`${field}: ${type} field holds ${describe(v)} ${JSON.stringify(v)}, not a 32-bit integer`);
      }
      return;
    case 'float':
    case 'double':
    case 'half_float':
    case 'scaled_float':
      if (typeof v !== 'number' || !Number.isFinite(v)) out.push(`${field}: ${type} field holds ${describe(v)} ${JSON.stringify(v)}, not a number`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') out.push(`${field}: boolean field holds ${describe(v)} ${JSON.stringify(v)}`);
      return;
    case 'date':
      if (typeof v !== 'string' || !ISO_DATE.test(v) || Number.isNaN(Date.parse(v.replace(/(\.\d{3})\d+/, '$1')))) {
        out.push(`${field}: date field holds ${JSON.stringify(v)}, not an ISO-8601 date-time`);
      }
      return;
    case 'ip':
      if (typeof v !== 'string' || isIP(v) === 0) out.push(`${field}: ip field holds ${JSON.stringify(v)}, not an IPv4/IPv6 address`);
      return;
    case 'geo_point':
      if (!(isPlainObject(v) && typeof v.lat === 'number' && typeof v.lon === 'number') && typeof v !== 'string') {
        out.push(`${field}: geo_point field holds ${describe(v)}`);
      }
      return;
    default:
      out.push(`${field}: the validator does not know ECS type "${type}"`);
  }
}

/** Strings must be valid Unicode (no lone surrogates) and every value JSON. */
function checkJsonValue(field: string, v: unknown, out: string[]): void {
  if (typeof v === 'string') {
    if (!v.isWellFormed()) out.push(`${field}: string holds a lone surrogate (cannot be written as UTF-8)`);
  } else if (typeof v === 'number') {
    if (!Number.isFinite(v)) out.push(`${field}: number ${v} is not finite`);
  } else if (typeof v === 'boolean') {
    // fine
  } else if (v === null) {
    out.push(`${field}: null value (omit the field instead)`);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => checkJsonValue(`${field}[${i}]`, x, out));
  } else if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) checkJsonValue(`${field}.${k}`, x, out);
  } else {
    out.push(`${field}: ${describe(v)} is not a JSON value`);
  }
}

function checkField(defs: EcsDefinitions, field: string, def: EcsFieldDef, v: unknown, out: string[]): void {
  const isArrayField = def.normalize?.includes('array') ?? false;
  if (v === null || v === undefined) {
    out.push(`${field}: ${v === null ? 'null' : 'undefined'} value (omit the field instead)`);
    return;
  }
  if (Array.isArray(v)) {
    if (!isArrayField && def.type !== 'nested') {
      out.push(`${field}: holds an array but ECS declares a single value`);
      return;
    }
    if (v.length === 0) out.push(`${field}: empty array (omit the field instead)`);
    v.forEach((x, i) => checkOne(defs, `${field}[${i}]`, field, def, x, out));
    return;
  }
  if (isArrayField) {
    out.push(`${field}: ECS normalizes this field to an array, got a single ${describe(v)}`);
    return;
  }
  checkOne(defs, field, field, def, v, out);
}

function checkOne(defs: EcsDefinitions, where: string, field: string, def: EcsFieldDef, v: unknown, out: string[]): void {
  if (def.type === 'flattened') {
    if (!isPlainObject(v)) out.push(`${where}: flattened field holds ${describe(v)}, not an object`);
    else checkJsonValue(where, v, out);
    return;
  }
  if (def.type === 'object' || def.type === 'nested') {
    if (!isPlainObject(v)) {
      out.push(`${where}: ${def.type} field holds ${describe(v)}, not an object`);
      return;
    }
    walk(defs, field, v, out);
    return;
  }
  checkScalar(where, def.type, v, out);
  if (typeof v === 'string') {
    if (!v.isWellFormed()) out.push(`${where}: string holds a lone surrogate (cannot be written as UTF-8)`);
    if (def.allowed_values && !def.allowed_values.some((a) => a.name === v)) {
      out.push(`${where}: "${v}" is not an allowed value (allowed: ${def.allowed_values.map((a) => a.name).join(', ')})`);
    }
    if (def.expected_values && !def.expected_values.includes(v)) {
      out.push(`${where}: "${v}" is not an expected value (expected: ${def.expected_values.join(', ')})`);
    }
  }
}

function walk(defs: EcsDefinitions, base: string, obj: Record<string, unknown>, out: string[]): void {
  for (const [key, v] of Object.entries(obj)) {
    const field = base ? `${base}.${key}` : key;
    if (!base && CUSTOM_NAMESPACES.includes(key)) {
      if (!isPlainObject(v)) out.push(`${field}: the custom namespace must be an object, got ${describe(v)}`);
      else checkJsonValue(field, v, out);
      continue;
    }
    if (key.includes('.')) {
      out.push(`${field}: dotted key "${key}" (documents are nested objects)`);
      continue;
    }
    const def = defs.fields.get(field);
    if (def) {
      checkField(defs, field, def, v, out);
      continue;
    }
    if (defs.prefixes.has(field)) {
      if (!isPlainObject(v)) out.push(`${field}: is an object in ECS, got ${describe(v)} ${JSON.stringify(v)}`);
      else walk(defs, field, v, out);
      continue;
    }
    const parent = defs.fields.get(base);
    if (parent && parent.type === 'object' && !defs.objectsWithChildren.has(base)) {
      // Free-form objects such as labels / container.labels: scalar values.
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        out.push(`${field}: values of ${base} must be scalars, got ${describe(v)}`);
      } else checkJsonValue(field, v, out);
      continue;
    }
    out.push(`${field}: not an ECS 9.4 field (custom facts belong under ${CUSTOM_NAMESPACES.map((n) => `${n}.*`).join(', ')})`);
  }
}

function get(doc: Record<string, unknown>, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

/**
 * Every violation of ECS 9.4 in `doc`, each naming the field; empty when the
 * document is valid.
 */
export function validateEcs(doc: unknown): string[] {
  const defs = ecsDefinitions();
  const out: string[] = [];
  if (!isPlainObject(doc)) return [`(root): document is ${describe(doc)}, not an object`];
  walk(defs, '', doc, out);
  for (const [name, def] of defs.fields) {
    if (def.required && get(doc, name) === undefined) out.push(`${name}: required by ECS but missing`);
  }
  // event.type values must be expected with every event.category value.
  const cats = get(doc, 'event.category');
  const types = get(doc, 'event.type');
  if (Array.isArray(cats) && Array.isArray(types)) {
    const allowed = defs.fields.get('event.category')?.allowed_values ?? [];
    for (const c of cats) {
      const expected = allowed.find((a) => a.name === c)?.expected_event_types;
      if (!expected) continue; // an unknown category was reported above
      for (const t of types) {
        if (!expected.includes(t as string)) {
          out.push(`event.type: "${t}" is not expected with event.category "${c}" (expected: ${expected.join(', ')})`);
        }
      }
    }
  } else if (cats !== undefined || types !== undefined) {
    if (cats === undefined) out.push('event.category: missing while event.type is set');
    if (types === undefined) out.push('event.type: missing while event.category is set');
  }
  return out;
}
