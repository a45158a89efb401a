/**
 * The JSON Schemas of the package (schemas/) as validators: one ajv factory
 * for the configuration, rule files, rule fixtures and captures. Every
 * instance is strict (unknown keywords and ambiguous schemas are schema
 * bugs) and compiles its schema once, on first use. Takes a schema file
 * (and a definition in it); gives a validator.
 *
 * The build (scripts/gen-validators.mjs) writes each declared validator as
 * ajv standalone code in dist/src/model/validators/, named by a hash of the
 * schema text, the options, the definition and ajv's version: a first use
 * loads that module instead of generating and compiling the code again
 * (the configuration schema took ~150 ms of CPU at every start). When the
 * module is missing or stale (another hash), ajv compiles the schema as
 * before, so the result is the same either way; ajv itself is then loaded.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv, Options, ValidateFunction } from 'ajv';

const require = createRequire(import.meta.url);

/** schemas/ of the package (this file runs from dist/src/model/). */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));
/** Where the build writes the standalone validators. */
export const VALIDATORS_DIR = fileURLToPath(new URL('./validators/', import.meta.url));

/** What a use may change from the defaults: strict, every error, union types allowed. */
export type SchemaOptions = Pick<Options, 'strict' | 'strictRequired' | 'allErrors' | 'useDefaults' | 'allowUnionTypes'>;

/** An ajv instance with the project's defaults and `opts` over them (`extra`: ajv options beyond those, e.g. code generation). */
export function createAjv(opts: SchemaOptions = {}, extra: Options = {}): Ajv {
  const { Ajv: AjvClass } = require('ajv') as typeof import('ajv');
  return new AjvClass({ strict: true, allErrors: true, allowUnionTypes: true, ...opts, ...extra });
}

/** A validator the code declares (lazyValidator): what the build turns into standalone code. */
export interface DeclaredValidator {
  /** Absolute path of the schema file. */
  file: string;
  opts: SchemaOptions;
  definition: string | undefined;
}

/** Every validator declared so far (modules declare theirs when loaded). */
export const declaredValidators: DeclaredValidator[] = [];

/** The standalone module of a validator whose schema text is `text`. */
export function standalonePath(d: DeclaredValidator, text: string): string {
  const ajvVersion = (JSON.parse(readFileSync(require.resolve('ajv/package.json'), 'utf8')) as { version: string }).version;
  const hash = createHash('sha256')
    .update(JSON.stringify([text, d.opts, d.definition ?? null, ajvVersion]))
    .digest('hex')
    .slice(0, 16);
  return join(VALIDATORS_DIR, `${basename(d.file, '.json')}${d.definition ? `.${d.definition}` : ''}.${hash}.cjs`);
}

/** Compile a declared validator with ajv (`extra`: e.g. `{ code: { source: true } }` for standalone code). */
export function compileValidator(d: DeclaredValidator, text: string, extra: Options = {}): { ajv: Ajv; validate: ValidateFunction } {
  const schema = JSON.parse(text) as { $id?: string };
  const ajv = createAjv(d.opts, extra);
  if (d.definition === undefined) return { ajv, validate: ajv.compile(schema) };
  ajv.addSchema(schema);
  return { ajv, validate: ajv.getSchema(`${schema.$id}#/definitions/${d.definition}`)! };
}

/**
 * A getter of the validator of the schema at `path` (absolute, or a file
 * name in schemas/), or of its `#/definitions/NAME` when `definition` is
 * given: loaded (standalone) or compiled on the first call, the same
 * function afterwards.
 */
export function lazyValidator(path: string, opts: SchemaOptions = {}, definition?: string): () => ValidateFunction {
  const d: DeclaredValidator = { file: path.startsWith('/') ? path : SCHEMAS_DIR + path, opts, definition };
  declaredValidators.push(d);
  let v: ValidateFunction | undefined;
  return () => {
    if (v) return v;
    const text = readFileSync(d.file, 'utf8');
    const pre = standalonePath(d, text);
    v = existsSync(pre) ? (require(pre) as ValidateFunction) : compileValidator(d, text).validate;
    return v;
  };
}
