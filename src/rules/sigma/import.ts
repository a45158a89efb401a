/**
 * `rules import-sigma`: Sigma rule files → our rule files.
 *
 * Takes files and directories of Sigma rules (*.yml, *.yaml, searched
 * recursively, in name order); gives one converted rule per Sigma rule —
 * each checked by our own compiler, alone, so a rule that converts but does
 * not compile (a regex RE2 cannot run, say) is reported with the compiler's
 * message instead of written — and every rule not converted with the reason.
 * Output is deterministic (same input ⇒ same bytes), so re-importing over an
 * output directory rewrites identical files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { compileRules } from '../compiler.js';
import { parseRuleText } from '../source.js';
import { convertSigma, type Conversion } from './convert.js';

/** Convert one parsed Sigma document and compile the result alone: a rule that does not load is a rule not converted. */
export function convertChecked(doc: Record<string, unknown>, fileName: string): Conversion {
  const c = convertSigma(doc, fileName);
  if ('reason' in c) return c;
  const parsed = parseRuleText(`${c.id}.yaml`, c.text);
  const errors = parsed.errors.length ? parsed.errors : compileRules([{ file: `${c.id}.yaml`, text: c.text, defs: parsed.defs }]).errors;
  return errors.length ? { id: c.id, logsource: c.logsource, reason: `does not compile: ${errors[0]!.message}` } : c;
}

export interface ImportedRule {
  id: string;
  /** The Sigma file it came from. */
  source: string;
  logsource: string;
  /** Our rule file text (YAML, with the attribution comments). */
  text: string;
}

export interface SkippedRule {
  source: string;
  logsource: string;
  reason: string;
}

export interface SigmaImport {
  converted: ImportedRule[];
  skipped: SkippedRule[];
}

/** Sigma files under the given paths, sorted, deduplicated. */
export function sigmaFiles(paths: readonly string[]): string[] {
  const out = new Set<string>();
  const walk = (p: string, top: boolean): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e), false);
    } else if (top || /\.ya?ml$/i.test(p)) out.add(p);
  };
  for (const p of paths) walk(p, true);
  return [...out].sort();
}

/** Convert every Sigma rule under `paths`. */
export function importSigma(paths: readonly string[]): SigmaImport {
  const converted: ImportedRule[] = [];
  const skipped: SkippedRule[] = [];
  const seen = new Map<string, string>();
  for (const file of sigmaFiles(paths)) {
    const shown = relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file);
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    if (!Array.isArray(docs) || docs.length !== 1) {
      skipped.push({ source: shown, logsource: 'unknown', reason: 'multi-document Sigma files (rule collections) are not converted' });
      continue;
    }
    const doc = docs[0]!;
    if (doc.errors.length) {
      skipped.push({ source: shown, logsource: 'unknown', reason: `YAML: ${doc.errors[0]!.message.split('\n')[0]}` });
      continue;
    }
    const value = doc.toJS() as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      skipped.push({ source: shown, logsource: 'unknown', reason: 'not a Sigma rule (a YAML map)' });
      continue;
    }
    const c = convertChecked(value as Record<string, unknown>, file);
    if ('reason' in c) {
      skipped.push({ source: shown, logsource: c.logsource, reason: c.reason });
      continue;
    }
    const dup = seen.get(c.id);
    if (dup) {
      skipped.push({ source: shown, logsource: c.logsource, reason: `rule id ${c.id} already taken by ${dup}` });
      continue;
    }
    seen.set(c.id, shown);
    converted.push({ id: c.id, source: shown, logsource: c.logsource, text: c.text });
  }
  return { converted, skipped };
}
