// issue 15, point 4: the rule compiler's errors come out in one total order —
// file (in the order the files were compiled), then line, then column. The
// old comparator ordered errors of different files by discovery and errors
// of one file by line, which is not transitive: errors of different files
// interleaved, and the result depended on the order they were found in.
import test from 'node:test';
import assert from 'node:assert/strict';
import { SensorError } from '../../src/errors.js';
import { compileRules } from '../../src/rules/compiler.js';
import { sortErrors } from '../../src/rules/compile/errors.js';
import { parseRuleText } from '../../src/rules/source.js';

function err(file: string, line: number, column: number, tag: string): SensorError {
  return new SensorError('ESENSOR_RULE_SEMANTIC', `problem ${tag}`, { file, line, column });
}

const key = (e: SensorError): string => `${e.file}:${e.line}:${e.column}`;

/** A deterministic shuffle (mulberry32), so a failure names its seed. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('sortErrors: a total order — every permutation of errors from several files sorts to one list, by file, line, column', () => {
  const files = ['base.yaml', 'site.yaml', 'local.yaml'];
  const errors: SensorError[] = [];
  // Lines that interleave across files, and several errors on one line.
  for (let i = 0; i < 36; i++) errors.push(err(files[i % 3]!, 1 + ((i * 7) % 13), 1 + (i % 4), String(i)));
  errors.push(err('(runtime)', 0, 0, 'runtime'));
  const sorted = sortErrors(errors, files);
  const want = sorted.map(key);
  // The expected order, written out: file rank, then line, then column.
  const rank = (f: string | undefined): number => (files.indexOf(f ?? '') < 0 ? files.length : files.indexOf(f ?? ''));
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1]!, sorted[i]!];
    const cmp = rank(a.file) - rank(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);
    assert.ok(cmp < 0, `${key(a)} before ${key(b)}`);
  }
  for (let seed = 1; seed <= 50; seed++) {
    assert.deepEqual(sortErrors(shuffled(errors, seed), files).map(key), want, `seed ${seed}`);
  }
});

test('sortErrors: without a file order, files come in the order of their first error; duplicates are dropped', () => {
  const out = sortErrors([err('b.yaml', 9, 1, 'x'), err('a.yaml', 1, 1, 'y'), err('b.yaml', 2, 1, 'z'), err('b.yaml', 9, 1, 'x')]);
  assert.deepEqual(out.map(key), ['b.yaml:2:1', 'b.yaml:9:1', 'a.yaml:1:1']);
});

test('compileRules: errors of two files do not interleave — all of the first file, by line, then the second', () => {
  const base =
    '- rule: r1\n  desc: d\n  condition: process.nam = x\n  output: o\n  severity: high\n' +
    '- rule: r2\n  desc: d\n  condition: file.pat = y\n  output: o\n  severity: high\n';
  // The override's appended condition is found while r1 is compiled, before r2's error.
  const site = '- rule: r1\n  condition: and process.exe = z\n  override:\n    condition: append\n';
  const files = [
    { file: 'base.yaml', text: base },
    { file: 'site.yaml', text: site },
  ].map((f) => {
    const p = parseRuleText(f.file, f.text);
    assert.deepEqual(p.errors, []);
    return { ...f, defs: p.defs };
  });
  const errors = compileRules(files).errors;
  assert.deepEqual(
    errors.map((e) => `${e.file}:${e.line}`),
    ['base.yaml:3', 'base.yaml:8', 'site.yaml:2'],
    errors.map(String).join('\n'),
  );
  assert.match(errors[0]!.message, /unknown field "process\.nam"/);
  assert.match(errors[2]!.message, /unknown field "process\.exe"/);
});
