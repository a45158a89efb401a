/**
 * Rule files: YAML text → located definitions (rules, lists, macros),
 * validated against schemas/rules.schema.json with ajv. Every problem is
 * reported (not only the first), each as a SensorError naming
 * file:line:column and the offending key.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';
import { lazyValidator } from '../model/schemas.js';
import { parseDocument, isAlias, isMap, isSeq, isScalar, LineCounter, Scalar, type Document, type Node as YamlNode } from 'yaml';
import { SensorError } from '../errors.js';
import { yamlToJs } from '../model/yaml-input.js';
import { makeSourceText } from './source-text.js';
import { snapshotDefs } from './rule-snapshot.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root (dist/src/rules → ../../..). */
export const PACKAGE_ROOT = join(here, '../../..');
export const RULES_SCHEMA_PATH = join(PACKAGE_ROOT, 'schemas/rules.schema.json');
/** The bundled ruleset. */
export const BUNDLED_RULES_DIR = join(PACKAGE_ROOT, 'rules');

/** A place in a rule file. */
export interface Where {
  file: string;
  line: number;
  column: number;
}

/** A string from a rule file that maps its own offsets back to the file (conditions, outputs). */
export interface SourceText {
  text: string;
  /** Position of the character at `offset` of `text`. */
  pos(offset: number): Where;
}

export type Override = Record<string, 'append' | 'replace'>;

export interface ExceptionDef {
  name: string;
  fields: string[];
  comps: string[];
  /** One tuple per entry; a value is a scalar or (for `in`) a list. */
  values: Array<{ tuple: Array<string | number | boolean | Array<string | number>>; where: Where }>;
  /** The single-field form was used (`fields: x`, `values: [a, b]`). */
  single: boolean;
  where: Where;
}

export interface RuleDef {
  type: 'rule';
  id: string;
  name?: string;
  desc?: string;
  condition?: SourceText;
  output?: SourceText;
  severity?: 'low' | 'medium' | 'high' | 'critical';
  tags?: string[];
  enabled?: boolean;
  action?: 'alert' | 'kill';
  exceptions?: ExceptionDef[];
  override?: Override;
  where: Where;
  /** Where each key is, for messages about it. */
  keys: Record<string, Where>;
}

export interface ListDef {
  type: 'list';
  name: string;
  items?: Array<{ value: string; where: Where }>;
  override?: Override;
  where: Where;
}

export interface MacroDef {
  type: 'macro';
  name: string;
  condition?: SourceText;
  override?: Override;
  where: Where;
}

export type Definition = RuleDef | ListDef | MacroDef;

export interface RuleFile {
  file: string;
  /** sha256-free identity of the content for the ruleset version. */
  text: string;
  defs: Definition[];
}

// strictRequired is off: the if/then branches name keys their own subschema defines.
const validate = lazyValidator(RULES_SCHEMA_PATH, { strictRequired: false });

function nodeAt(doc: Document, pointer: string): { node: YamlNode | undefined; key: YamlNode | undefined } {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let key: YamlNode | undefined;
  for (const part of parts) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === part);
      if (!pair) break;
      key = pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(part)];
      key = undefined;
    } else break;
  }
  return { node: node as YamlNode | undefined, key };
}

function whereOf(file: string, lc: LineCounter, node: YamlNode | undefined | null): Where {
  const r = node?.range;
  if (!r) return { file, line: 1, column: 1 };
  const p = lc.linePos(r[0]);
  return { file, line: p.line, column: p.col };
}

/** A scalar's value with its offsets mapped back to the file (source-text.ts). */
function sourceText(file: string, src: string, lc: LineCounter, node: Scalar): SourceText {
  const range = node.range ?? [0, 0, 0];
  let p = range[0];
  if (node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE') p++;
  else if (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') {
    const nl = src.indexOf('\n', p);
    p = nl < 0 ? range[1] : nl + 1;
  }
  return makeSourceText(file, src, lc.linePos, String(node.value), p, range[1]);
}

function describe(err: ErrorObject): { pointer: string; key?: string; message: string } {
  const pointer = err.instancePath;
  const path = pointer.split('/').slice(1).join('.');
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = (err.params as { additionalProperty: string }).additionalProperty;
      return { pointer, key, message: `unknown key "${key}"` };
    }
    case 'required': {
      const missing = (err.params as { missingProperty: string }).missingProperty;
      return { pointer, message: `missing key "${missing}"` };
    }
    case 'enum':
      return {
        pointer,
        message: `${path.split('.').filter((x) => !/^\d+$/.test(x)).join('.') || 'value'} must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'propertyNames': {
      const name = (err.params as { propertyName: string }).propertyName;
      return { pointer, key: name, message: `"${name}" cannot be overridden here` };
    }
    default:
      return { pointer, message: `${path || 'value'} ${err.message ?? 'is invalid'}` };
  }
}

/** Errors ajv reports for if/then/anyOf plumbing repeat the real cause: keep the useful ones. */
function usefulErrors(errs: ErrorObject[]): ErrorObject[] {
  const plumbing = new Set(['if', 'anyOf', 'allOf', 'not']);
  const kept = errs.filter((e) => !plumbing.has(e.keyword));
  // A missing "rule" at an item that is neither list nor macro means "not a definition".
  return kept.length ? kept : errs;
}

/** Parse one rule file. Returns its definitions and every problem found (`lc` learns the file's line starts). */
export function parseRuleText(file: string, src: string, lc = new LineCounter()): { defs: Definition[]; errors: SensorError[] } {
  const errors: SensorError[] = [];
  const doc = parseDocument(src, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    for (const e of doc.errors) {
      const p = lc.linePos(e.pos[0]);
      errors.push(new SensorError('ESENSOR_RULE_PARSE', `invalid YAML: ${e.message.split('\n')[0]}`, { file, line: p.line, column: p.col }));
    }
    return { defs: [], errors };
  }
  let data: unknown;
  try {
    data = yamlToJs(doc, lc, file, 'ESENSOR_RULE_PARSE') ?? [];
  } catch (e) {
    return { defs: [], errors: [e as SensorError] };
  }
  const v = validate();
  // Items with schema errors are reported and skipped; the others are still
  // checked further, so lint shows every problem of the file at once.
  const badItems = new Set<number>();
  if (!v(data)) {
    const seen = new Set<string>();
    for (const e of usefulErrors(v.errors ?? [])) {
      const d = describe(e);
      const { node, key } = nodeAt(doc, d.pointer);
      let target: YamlNode | undefined = node ?? key;
      if (d.key !== undefined && isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === d.key);
        if (pair) target = pair.key as YamlNode;
      }
      const w = whereOf(file, lc, target);
      const field = d.pointer.split('/').slice(1).join('.') + (d.key ? `.${d.key}` : '');
      const sig = `${w.line}:${w.column}:${d.message}`;
      if (seen.has(sig)) continue;
      seen.add(sig);
      errors.push(new SensorError('ESENSOR_RULE_SCHEMA', d.message, { ...w, field: field || '(root)' }));
      const item = /^\/(\d+)/.exec(d.pointer);
      if (item) badItems.add(Number(item[1]));
      else return { defs: [], errors };
    }
  }
  const defs: Definition[] = [];
  const root = doc.contents;
  if (!isSeq(root)) return { defs, errors };
  // An alias (`*name`) stands for the node its anchor marks: values come from the resolved document
  // (`data`, which the schema checked), positions from the anchored node (issue 13: an alias used to
  // read as "[object Object]").
  const deref = (n: unknown): YamlNode | undefined => (isAlias(n) ? (n.resolve(doc) as YamlNode | undefined) : ((n ?? undefined) as YamlNode | undefined));
  const items = Array.isArray(data) ? (data as unknown[]) : [];
  root.items.forEach((item, index) => {
    if (!isMap(item) || badItems.has(index)) return;
    const plain = items[index] as Record<string, unknown>;
    const get = (k: string): YamlNode | undefined => {
      const pair = item.items.find((it) => isScalar(it.key) && String(it.key.value) === k);
      return deref(pair?.value);
    };
    const keyWhere: Record<string, Where> = {};
    for (const pair of item.items) if (isScalar(pair.key)) keyWhere[String(pair.key.value)] = whereOf(file, lc, pair.key as YamlNode);
    const js = (k: string): unknown => plain[k];
    const text = (k: string): SourceText | undefined => {
      const n = get(k);
      return isScalar(n) ? sourceText(file, src, lc, n) : undefined;
    };
    const override = js('override') as Override | undefined;
    const where = whereOf(file, lc, item);
    if (get('rule') !== undefined) {
      const def: RuleDef = { type: 'rule', id: String(js('rule')), where, keys: keyWhere };
      if (get('name') !== undefined) def.name = String(js('name'));
      if (get('desc') !== undefined) def.desc = String(js('desc'));
      const cond = text('condition');
      if (cond) def.condition = cond;
      const out = text('output');
      if (out) def.output = out;
      if (get('severity') !== undefined) def.severity = js('severity') as RuleDef['severity'];
      if (get('tags') !== undefined) def.tags = js('tags') as string[];
      if (get('enabled') !== undefined) def.enabled = js('enabled') as boolean;
      if (get('action') !== undefined) def.action = js('action') as RuleDef['action'];
      const ex = get('exceptions');
      if (isSeq(ex)) def.exceptions = ex.items.map((n, i) => exceptionDef(file, lc, deref(n)!, (js('exceptions') as unknown[])[i], deref));
      if (override) def.override = override;
      defs.push(def);
    } else if (get('list') !== undefined) {
      const def: ListDef = { type: 'list', name: String(js('list')), where };
      const items = get('items');
      const values = js('items') as unknown[];
      if (isSeq(items)) def.items = items.items.map((n, i) => ({ value: String(values[i]), where: whereOf(file, lc, deref(n)) }));
      if (override) def.override = override;
      defs.push(def);
    } else if (get('macro') !== undefined) {
      const def: MacroDef = { type: 'macro', name: String(js('macro')), where };
      const cond = text('condition');
      if (cond) def.condition = cond;
      if (override) def.override = override;
      defs.push(def);
    }
  });
  return { defs, errors };
}

function exceptionDef(file: string, lc: LineCounter, n: YamlNode, plain: unknown, deref: (n: unknown) => YamlNode | undefined): ExceptionDef {
  const o = plain as { name: string; fields: string | string[]; comps?: string | string[]; values: unknown[] };
  const single = typeof o.fields === 'string';
  const fields = single ? [o.fields as string] : (o.fields as string[]);
  const comps = o.comps === undefined ? fields.map(() => '=') : typeof o.comps === 'string' ? [o.comps] : o.comps;
  const valuesNode = isMap(n) ? deref(n.items.find((it) => isScalar(it.key) && it.key.value === 'values')?.value) : undefined;
  const valueNodes = isSeq(valuesNode) ? valuesNode.items.map(deref) : [];
  const values = o.values.map((v, i) => ({
    tuple: (single ? [v] : v) as ExceptionDef['values'][number]['tuple'],
    where: whereOf(file, lc, valueNodes[i] as YamlNode | undefined),
  }));
  return { name: o.name, fields, comps, values, single, where: whereOf(file, lc, n) };
}

/** Rule files named by a path: a file, or the *.yaml / *.yml files directly in a directory, by name. */
export function expandRulePaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new SensorError('ESENSOR_RULE_PARSE', `cannot read rule path ${p}: ${(e as Error).message}`, { file: p, cause: e });
    }
    if (st.isDirectory()) {
      for (const f of readdirSync(p).sort()) {
        if (/\.ya?ml$/.test(f) && statSync(join(p, f)).isFile()) out.push(join(p, f));
      }
    } else out.push(p);
  }
  return out;
}

/**
 * Read and parse rule files; `read` (default: unchecked) may refuse a file (ownership) by throwing.
 * A file whose text the build's snapshot holds (rule-snapshot.ts) is not parsed again.
 */
export function readRuleFiles(files: readonly string[], read?: (file: string) => string): { files: RuleFile[]; errors: SensorError[] } {
  const out: RuleFile[] = [];
  const errors: SensorError[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = read ? read(file) : readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof SensorError) errors.push(e);
      else errors.push(new SensorError('ESENSOR_RULE_PARSE', `cannot read rule file: ${(e as Error).message}`, { file, cause: e }));
      continue;
    }
    // The bundled files come from the build's snapshot when their text is the one it parsed.
    const snap = snapshotDefs(file, text);
    const r = snap ? { defs: snap, errors: [] } : parseRuleText(file, text);
    errors.push(...r.errors);
    out.push({ file, text, defs: r.defs });
  }
  return { files: out, errors };
}
