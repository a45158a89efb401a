/**
 * The bundled rule files, parsed once at build time: a snapshot
 * (dist/src/rules/rules.snapshot.json, written by scripts/gen-rules-snapshot.mjs
 * during `npm run build`) of each file's definitions, keyed by the sha256 of
 * the file's text. Takes a rule file's name and text; gives its definitions
 * exactly as parseRuleText (source.ts) would, or undefined when the snapshot
 * does not hold that text — any other or changed file is parsed and
 * validated as before, with the same coded errors. The snapshot also records
 * a fingerprint of the parser (its compiled code, the rules schema, the yaml
 * version): a snapshot written by another build is ignored.
 *
 * Why: parsing the YAML and compiling the rules schema with ajv was about
 * half the CPU of loading the bundled ruleset, paid by every start, replay
 * and `rules lint` (docs/benchmarks.md).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter } from 'yaml';
import { makeSourceText, spanOf } from './source-text.js';
import { SCHEMAS_DIR } from '../model/schemas.js';
import type { Definition, SourceText } from './source.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the build writes the snapshot (next to this file in dist/). */
export const SNAPSHOT_PATH = join(here, 'rules.snapshot.json');

export interface SnapshotEntry {
  /** The line starts the parser's LineCounter recorded. */
  lines: number[];
  /** The definitions as JSON: each Where's file is "" and each SourceText is {"$st": [text, start, end]}. */
  defs: string;
}

export interface Snapshot {
  parser: string;
  /** sha256 of a file's text → its entry. */
  files: Record<string, SnapshotEntry>;
}

/** What the definitions a text parses to depend on besides the text. */
export function parserFingerprint(): string {
  const h = createHash('sha256');
  for (const f of ['source.js', 'source-text.js', 'rule-snapshot.js', '../model/yaml-input.js']) h.update(readFileSync(join(here, f)));
  h.update(readFileSync(join(SCHEMAS_DIR, 'rules.schema.json')));
  h.update(readFileSync(createRequire(import.meta.url).resolve('yaml/package.json')));
  return h.digest('hex');
}

export function textHash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

let loaded: Snapshot | null | undefined;

/** Forget the snapshot read (after the build wrote a new one; for tests). */
export function resetSnapshot(): void {
  loaded = undefined;
}

function snapshot(): Snapshot | null {
  if (loaded !== undefined) return loaded;
  try {
    const s = JSON.parse(readFileSync(SNAPSHOT_PATH, 'utf8')) as Snapshot;
    loaded = s.parser === parserFingerprint() ? s : null;
  } catch {
    loaded = null;
  }
  return loaded;
}

/** The definitions of `text` (read from `file`) from the snapshot, or undefined when it does not hold this text. */
export function snapshotDefs(file: string, text: string): Definition[] | undefined {
  const e = snapshot()?.files[textHash(text)];
  return e ? decodeDefs(file, text, e) : undefined;
}

/** An entry's definitions for `file`, whose text is `text`. */
export function decodeDefs(file: string, text: string, e: SnapshotEntry): Definition[] {
  const lc = new LineCounter();
  for (const o of e.lines) lc.addNewLine(o);
  return JSON.parse(e.defs, (key, value: unknown) => {
    if (key === 'file' && value === '') return file;
    if (value !== null && typeof value === 'object' && '$st' in value) {
      const [t, start, end] = (value as { $st: [string, number, number] }).$st;
      return makeSourceText(file, text, lc.linePos, t, start, end);
    }
    return value;
  }) as Definition[];
}

/** Definitions parsed from `file` as an entry's JSON. */
export function encodeDefs(file: string, defs: readonly Definition[]): string {
  return JSON.stringify(defs, (key, value: unknown) => {
    if (key === 'file' && value === file) return '';
    if (value !== null && typeof value === 'object' && 'pos' in value) {
      const span = spanOf(value as SourceText);
      if (!span) throw new Error(`${file}: a SourceText without a span`);
      return { $st: [(value as SourceText).text, span[0], span[1]] };
    }
    return value;
  });
}
