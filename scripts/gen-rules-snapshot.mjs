#!/usr/bin/env node
// Build step (scripts/setup.sh, after tsc): parse the bundled rule files once and write
// dist/src/rules/rules.snapshot.json (src/rules/rule-snapshot.ts), so a load of the bundled
// ruleset skips the YAML parse and the schema validation. Takes rules/*.yaml and the compiled
// parser in dist/; gives the snapshot. A file with problems, or whose definitions would not
// come back identical from the snapshot, is left out (it is parsed at each load).
import { readFileSync, writeFileSync } from 'node:fs';
import { LineCounter } from 'yaml';
import { BUNDLED_RULES_DIR, expandRulePaths, parseRuleText } from '../dist/src/rules/source.js';
import { SNAPSHOT_PATH, decodeDefs, encodeDefs, parserFingerprint, textHash } from '../dist/src/rules/rule-snapshot.js';

const snap = { parser: parserFingerprint(), files: {} };
const skipped = [];
for (const file of expandRulePaths([BUNDLED_RULES_DIR])) {
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const r = parseRuleText(file, text, lc);
  const entry = { lines: [...lc.lineStarts], defs: encodeDefs(file, r.defs) };
  if (r.errors.length || encodeDefs(file, decodeDefs(file, text, entry)) !== entry.defs) skipped.push(file);
  else snap.files[textHash(text)] = entry;
}
writeFileSync(SNAPSHOT_PATH, JSON.stringify(snap));
if (skipped.length) console.error(`gen-rules-snapshot: parsed at each load (problems or not snapshottable): ${skipped.join(', ')}`);
