/**
 * The JSON Schemas of the package (schemas/) as validators: one ajv factory
 * for the configuration, rule files, rule fixtures and captures. Every
 * instance is strict (unknown keywords and ambiguous schemas are schema
 * bugs) and compiles its schema once, on first use. Takes a schema file
 * (and a definition in it); gives a validator.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type Options, type ValidateFunction } from 'ajv';

/** schemas/ of the package (this file runs from dist/src/model/). */
export const SCHEMAS_DIR = fileURLToPath(new URL('../../../schemas/', import.meta.url));

/** What a use may change from the defaults: strict, every error, union types allowed. */
export type SchemaOptions = Pick<Options, 'strict' | 'strictRequired' | 'allErrors' | 'useDefaults' | 'allowUnionTypes'>;

/** An ajv instance with the project's defaults and `opts` over them. */
export function createAjv(opts: SchemaOptions = {}): Ajv {
  return new Ajv({ strict: true, allErrors: true, allowUnionTypes: true, ...opts });
}

/**
 * A getter of the validator of the schema at `path` (absolute, or a file
 * name in schemas/), or of its `#/definitions/NAME` when `definition` is
 * given: compiled on the first call, the same function afterwards.
 */
export function lazyValidator(path: string, opts: SchemaOptions = {}, definition?: string): () => ValidateFunction {
  let v: ValidateFunction | undefined;
  return () => {
    if (v) return v;
    const file = path.startsWith('/') ? path : SCHEMAS_DIR + path;
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { $id?: string };
    const ajv = createAjv(opts);
    if (definition === undefined) v = ajv.compile(schema);
    else {
      ajv.addSchema(schema);
      v = ajv.getSchema(`${schema.$id}#/definitions/${definition}`)!;
    }
    return v;
  };
}
