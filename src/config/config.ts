/**
 * config: one YAML file, validated (strict ajv, src/model/schemas.ts) against
 * schemas/config.schema.json (closed objects, defaults from the schema),
 * then environment overrides, then frozen. Errors name the file, line,
 * column and the dotted field.
 *
 * The SensorConfig type is generated from the same schema
 * (config.generated.ts, checked for drift by a test).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';
import { lazyValidator } from '../model/schemas.js';
import { parseDocument, isMap, isSeq, isScalar, type Node as YamlNode, LineCounter } from 'yaml';
import { SensorError } from '../errors.js';
import { yamlToJs } from '../model/yaml-input.js';
import type { SensorConfig } from './config.generated.js';

export type { SensorConfig } from './config.generated.js';

const schemaPath = join(dirname(fileURLToPath(import.meta.url)), '../../../schemas/config.schema.json');

const validate = lazyValidator(schemaPath, { useDefaults: true, allowUnionTypes: false });

/** The raw JSON Schema (for generators and docs). */
export function configSchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
}

interface Located {
  line?: number;
  column?: number;
}

/** Find the YAML node at a JSON pointer, for line/column of an error. */
function locate(doc: ReturnType<typeof parseDocument>, lc: LineCounter, pointer: string, key?: string): Located {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let keyNode: YamlNode | undefined;
  for (const part of parts) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === part);
      if (!pair) break;
      keyNode = pair.key as YamlNode;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(part)];
      keyNode = undefined;
    } else break;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === key);
    if (pair) keyNode = pair.key as YamlNode;
  }
  const target = (key !== undefined ? keyNode : (node as YamlNode | undefined) ?? keyNode) as YamlNode | undefined;
  const range = target?.range;
  if (!range) return {};
  const pos = lc.linePos(range[0]);
  return { line: pos.line, column: pos.col };
}

function fieldOf(err: ErrorObject): { pointer: string; field: string; key?: string } {
  const pointer = err.instancePath;
  const base = pointer.split('/').slice(1).join('.');
  if (err.keyword === 'additionalProperties') {
    const key = (err.params as { additionalProperty: string }).additionalProperty;
    return { pointer, field: base ? `${base}.${key}` : key, key };
  }
  return { pointer, field: base || '(root)' };
}

function describe(err: ErrorObject, field: string): string {
  switch (err.keyword) {
    case 'additionalProperties':
      return `unknown key "${field}"`;
    case 'enum':
      return `${field} must be one of ${(err.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${field} ${err.message ?? 'is invalid'}`;
  }
}

/**
 * Validate an already-parsed object (file text given for locations).
 * `fileOf(field)`: where a field's value came from when not from `file`
 * (`env:EBPF_SENSOR_…` for an environment override).
 */
export function validateConfig(obj: unknown, file: string, text?: string, fileOf?: (field: string) => string | undefined): SensorConfig {
  const v = validate();
  const data = obj ?? {};
  if (!v(data)) {
    const errs = v.errors ?? [];
    const lc = new LineCounter();
    const doc = text !== undefined ? parseDocument(text, { lineCounter: lc }) : undefined;
    const first = errs[0]!;
    const { pointer, field, key } = fieldOf(first);
    const loc = doc ? locate(doc, lc, pointer, key) : {};
    // The first error's location is the SensorError's own (printed in front of the message, so not
    // repeated in it); further errors carry theirs in their line.
    const all = errs.map((e, i) => {
      const f = fieldOf(e);
      if (i === 0) return describe(e, f.field);
      const l = doc ? locate(doc, lc, f.pointer, f.key) : {};
      return `${fileOf?.(f.field) ?? file}${l.line !== undefined ? `:${l.line}:${l.column}` : ''}: ${describe(e, f.field)}`;
    });
    throw new SensorError('ESENSOR_CONFIG', all.join('\n'), {
      file: fileOf?.(field) ?? file,
      field,
      ...(loc.line !== undefined ? { line: loc.line, column: loc.column! } : {}),
    });
  }
  return data as SensorConfig;
}

/**
 * Apply EBPF_SENSOR_<SECTION>__<KEY>=value overrides (values parsed as JSON
 * when the schema wants non-strings); returns which variable set which
 * field ("section.key" → variable name).
 */
export function applyEnv(cfg: SensorConfig, env: NodeJS.ProcessEnv): Map<string, string> {
  const setBy = new Map<string, string>();
  const schema = configSchema() as { properties: Record<string, { properties?: Record<string, { type?: string }> }> };
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('EBPF_SENSOR_') || value === undefined) continue;
    const rest = name.slice('EBPF_SENSOR_'.length);
    const [sec, key] = rest.split('__');
    if (!sec || !key) continue;
    const secName = Object.keys(schema.properties).find((s) => s.toLowerCase() === sec.toLowerCase());
    if (!secName) {
      // A typo must not change nothing silently (names without "__" are not config: EBPF_SENSOR_LOG_LEVEL …).
      throw new SensorError('ESENSOR_CONFIG', `no section "${sec}" in the configuration (sections: ${Object.keys(schema.properties).join(', ')})`, {
        field: sec,
        file: `env:${name}`,
      });
    }
    const props = schema.properties[secName]!.properties ?? {};
    const keyName = Object.keys(props).find((k) => k.toLowerCase() === key.toLowerCase().replace(/_/g, ''));
    if (!keyName) {
      throw new SensorError('ESENSOR_CONFIG', `no key "${key}" in section "${secName}"`, {
        field: `${secName}.${key}`,
        file: `env:${name}`,
      });
    }
    let parsed: unknown = value;
    if (props[keyName]!.type !== 'string') {
      try {
        parsed = JSON.parse(value);
      } catch {
        // Never echo the value: it may hold a password (EBPF_SENSOR_KAFKA__SASL, …).
        throw new SensorError('ESENSOR_CONFIG', `the value (${value.length} characters, not shown) is not a valid ${props[keyName]!.type}`, {
          field: `${secName}.${keyName}`,
          file: `env:${name}`,
        });
      }
    }
    const section = ((cfg as unknown as Record<string, unknown>)[secName] ??= {}) as Record<string, unknown>;
    section[keyName] = parsed;
    setBy.set(`${secName}.${keyName}`, name);
  }
  return setBy;
}

/**
 * `env:VARIABLE` for the override(s) that set `field` or a value around or
 * inside it, so an error found after the overrides names the variable, not
 * the config file (which was valid without them).
 */
function overrideOf(setBy: ReadonlyMap<string, string>, field: string): string | undefined {
  const vars: string[] = [];
  for (const [f, name] of setBy) {
    if (field === f || field.startsWith(`${f}.`) || f.startsWith(`${field}.`)) vars.push(`env:${name}`);
  }
  return vars.length ? vars.join(', ') : undefined;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** A system error's reason without the path node appends (the error's location names the file). */
function ioReason(e: unknown): string {
  return (e as Error).message.replace(/, \w+ '.*'$/s, '');
}

function unsafeFile(file: string, why: string): SensorError {
  return new SensorError('ESENSOR_CONFIG_UNSAFE', `${why}: refusing it; chown root and chmod go-w (docs/security.md)`, { file });
}

/** Why a file or directory others than root and this user could change is not to be trusted, or undefined. */
function writableByOthers(st: Stats, euid: number): string | undefined {
  if (st.uid !== 0 && st.uid !== euid) return `is owned by uid ${st.uid} (neither root nor the sensor's uid ${euid})`;
  if (st.mode & 0o002 && !(st.isDirectory() && st.mode & 0o1000)) return `is writable by others (mode ${(st.mode & 0o7777).toString(8)})`;
  if (st.mode & 0o020 && st.gid !== 0) return `is writable by group ${st.gid} (mode ${(st.mode & 0o7777).toString(8)})`;
  return undefined;
}

/**
 * Read a rule or config file that only root (or the sensor's own user) can
 * change: the sensor's rules and config decide what is reported. The file is
 * opened once and the open file checked (fstat), so it cannot be swapped
 * between the check and the read; its directory is checked too (others
 * could replace the file in it). Applies whatever the euid: the documented
 * capability deployment runs as a dedicated user. Throws
 * ESENSOR_CONFIG_UNSAFE, or ESENSOR_CONFIG when it cannot be read.
 */
export function readSafeFile(file: string): string {
  const euid = process.geteuid?.() ?? 0;
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted under the name must not hang the sensor before fstat refuses it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new SensorError('ESENSOR_CONFIG', `cannot read it: ${ioReason(e)}`, { file, cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw unsafeFile(file, 'is not a regular file');
    const why = writableByOthers(st, euid);
    if (why) throw unsafeFile(file, why);
    const dir = dirname(resolve(file));
    let dst: Stats | undefined;
    try {
      dst = statSync(dir);
    } catch {
      dst = undefined;
    }
    const dirWhy = dst && writableByOthers(dst, euid);
    if (dirWhy) throw unsafeFile(file, `is in ${dir}, which ${dirWhy}`);
    return readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof SensorError) throw e;
    throw new SensorError('ESENSOR_CONFIG', `cannot read it: ${ioReason(e)}`, { file, cause: e });
  } finally {
    closeSync(fd);
  }
}

/** Throw ESENSOR_CONFIG_UNSAFE for a file readSafeFile() refuses. */
export function assertSafeFile(file: string): void {
  readSafeFile(file);
}

/** Load, validate, override from the environment and freeze. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Readonly<SensorConfig> {
  let obj: unknown = {};
  let text: string | undefined;
  const name = file ?? '(defaults)';
  if (file !== undefined) {
    text = readSafeFile(file);
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const pos = lc.linePos(e.pos[0]);
      throw new SensorError('ESENSOR_CONFIG', `invalid YAML: ${e.message.split('\n')[0]}`, {
        file,
        line: pos.line,
        column: pos.col,
      });
    }
    try {
      obj = yamlToJs(doc, lc, file, 'ESENSOR_CONFIG') ?? {};
    } catch (e) {
      const se = e as SensorError;
      throw new SensorError('ESENSOR_CONFIG', se.message, { file, line: se.line!, column: se.column!, cause: se.cause });
    }
  }
  const cfg = validateConfig(obj, name, text);
  const setBy = applyEnv(cfg, env);
  // Validate again: overrides must obey the schema too; an error names the variable that caused it.
  const final = validateConfig(JSON.parse(JSON.stringify(cfg)), `${name} + environment`, undefined, (field) => overrideOf(setBy, field));
  return deepFreeze(final);
}
