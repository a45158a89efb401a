// The bundled rules' build-time snapshot (src/rules/rule-snapshot.ts): it gives exactly what
// parsing gives (definitions, every position a message can name), and only for the text it was
// made from — a changed rule file is parsed again, with the same coded errors (file, line, field).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { SensorError } from '../../src/errors.js';
import { compileRules } from '../../src/rules/compiler.js';
import { snapshotDefs } from '../../src/rules/rule-snapshot.js';
import { BUNDLED_RULES_DIR, expandRulePaths, parseRuleText, readRuleFiles, type Definition, type SourceText } from '../../src/rules/source.js';

const bundled = expandRulePaths([BUNDLED_RULES_DIR]);

/** Definitions as plain data: each SourceText becomes its text and the position of every offset. */
function plain(defs: readonly Definition[]): unknown {
  return JSON.parse(
    JSON.stringify(defs, (_k, v: unknown) => {
      if (v !== null && typeof v === 'object' && typeof (v as SourceText).pos === 'function') {
        const st = v as SourceText;
        return { text: st.text, at: Array.from({ length: st.text.length + 1 }, (_, i) => st.pos(i)) };
      }
      return v;
    }),
  );
}

function errs(es: readonly SensorError[]): unknown[] {
  return es.map((e) => ({ code: e.code, location: e.location, field: e.field, message: e.message }));
}

function tmpCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rules-snapshot-'));
  cpSync(BUNDLED_RULES_DIR, dir, { recursive: true });
  return dir;
}

describe('bundled rules snapshot', () => {
  test('the build snapshotted every bundled file, and it gives what parsing gives', () => {
    assert.ok(bundled.length > 5);
    for (const file of bundled) {
      const text = readFileSync(file, 'utf8');
      const snap = snapshotDefs(file, text);
      assert.ok(snap, `${basename(file)} is in the snapshot (npm run build writes it)`);
      const parsed = parseRuleText(file, text);
      assert.deepEqual(parsed.errors, []);
      assert.deepEqual(plain(snap), plain(parsed.defs), basename(file));
    }
  });

  test('the same text at another path names that path', () => {
    const dir = tmpCopy();
    try {
      const file = join(dir, basename(bundled[1]!));
      const snap = snapshotDefs(file, readFileSync(file, 'utf8'));
      assert.ok(snap);
      assert.deepEqual(plain(snap), plain(parseRuleText(file, readFileSync(file, 'utf8')).defs));
      assert.ok(JSON.stringify(plain(snap)).includes(JSON.stringify(file)));
      assert.ok(!JSON.stringify(plain(snap)).includes(JSON.stringify(bundled[1])));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a changed rule file is parsed again: shifted positions and coded errors come from its new text', () => {
    const dir = tmpCopy();
    try {
      const file = join(dir, 'execution.yaml');
      const orig = readFileSync(file, 'utf8');
      // Two lines more at the top: every position moves; the definitions stay the same.
      writeFileSync(file, `# local note\n# another\n${orig}`);
      const files = expandRulePaths([dir]);
      const shifted = readRuleFiles(files);
      assert.deepEqual(shifted.errors, []);
      assert.equal(snapshotDefs(file, readFileSync(file, 'utf8')), undefined);
      const fresh = shifted.files.find((f) => f.file === file)!;
      assert.deepEqual(plain(fresh.defs), plain(parseRuleText(file, readFileSync(file, 'utf8')).defs));
      const first = (fresh.defs[0] as Definition).where;
      const before = parseRuleText(file, orig).defs[0]!.where;
      assert.equal(first.line, before.line + 2);
      assert.equal(compileRules(shifted.files).errors.length, 0);

      // A broken edit: the schema error names this file, the edited line and the field.
      const lines = orig.split('\n');
      const at = lines.findIndex((l) => l === '  severity: high');
      assert.ok(at > 0);
      lines[at] = '  severity: urgent';
      writeFileSync(file, lines.join('\n'));
      const broken = readRuleFiles(files);
      const expected = parseRuleText(file, lines.join('\n')).errors;
      assert.deepEqual(errs(broken.errors), errs(expected));
      assert.equal(broken.errors.length, 1);
      const e = broken.errors[0]!;
      assert.equal(e.code, 'ESENSOR_RULE_SCHEMA');
      assert.match(e.location ?? '', new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${at + 1}:`));
      assert.match(e.field ?? '', /\.severity$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a semantic error in a changed file points into its new text', () => {
    const dir = tmpCopy();
    try {
      const file = join(dir, 'execution.yaml');
      const orig = readFileSync(file, 'utf8');
      const bad = orig.replace('condition: process.executable glob (tmp_toplevel_globs)', 'condition: process.no_such_field glob (tmp_toplevel_globs)');
      assert.notEqual(bad, orig);
      writeFileSync(file, bad);
      const read = readRuleFiles(expandRulePaths([dir]));
      assert.deepEqual(read.errors, []);
      const c = compileRules(read.files);
      const line = bad.split('\n').findIndex((l) => l.includes('process.no_such_field')) + 1;
      assert.ok(c.errors.length > 0);
      assert.ok(
        c.errors.some((e) => e.code === 'ESENSOR_RULE_SEMANTIC' && e.location?.startsWith(`${file}:${line}:`)),
        JSON.stringify(errs(c.errors)),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
