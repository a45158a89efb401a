// issue 13, cases 4 and 5: a YAML alias bomb in a rule file or the config,
// and conditions (or `replay --filter`) nested tens of thousands deep, end in
// a coded error naming the file, line and column — never ESENSOR_INTERNAL,
// a bare ReferenceError or "Maximum call stack size exceeded".
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { isSensorError, SensorError } from '../../src/errors.js';
import { compileRules } from '../../src/rules/compiler.js';
import { compileFilter } from '../../src/rules/filter.js';
import { parseRuleText } from '../../src/rules/source.js';

const dir = mkdtempSync(join(tmpdir(), 'ebpf-sensor-issue13-yaml-'));

/** Nine levels of nine aliases: 9^6 strings once expanded. */
function aliasBomb(indent = ''): string {
  let s = `${indent}a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n`;
  for (let i = 1; i < 7; i++) s += `${indent}a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
  return s;
}

function compile(file: string, text: string): SensorError[] {
  const p = parseRuleText(file, text);
  if (p.errors.length) return p.errors;
  return compileRules([{ file, text, defs: p.defs }]).errors;
}

function assertCoded(errs: SensorError[], code: string, file: string, pattern: RegExp): void {
  assert.ok(errs.length > 0, 'an error is reported');
  const e = errs[0]!;
  assert.ok(isSensorError(e), `a SensorError, not ${String(e)}`);
  assert.equal(e.code, code, String(e));
  assert.equal(e.file, file);
  assert.ok((e.line ?? 0) >= 1 && (e.column ?? 0) >= 1, `has a line and column: ${String(e)}`);
  assert.match(e.message, pattern);
}

describe('issue-13: YAML alias bombs and deep nesting', () => {
  test('issue-13-alias-bomb-rules: a rule file with an alias bomb is ESENSOR_RULE_PARSE at the first alias', () => {
    const bomb = aliasBomb();
    const errs = compile('bomb.yaml', bomb);
    assertCoded(errs, 'ESENSOR_RULE_PARSE', 'bomb.yaml', /alias/);
    assert.equal(errs[0]!.line, 2, 'the first alias is on line 2');
  });

  test('issue-13-alias-bomb-config: a config with an alias bomb is ESENSOR_CONFIG with file, line and column', () => {
    const f = join(dir, 'bomb.yaml');
    writeFileSync(f, `output:\n  format: ecs\nx:\n${aliasBomb('  ')}`, { mode: 0o600 });
    chmodSync(f, 0o600);
    assert.throws(
      () => loadConfig(f, {}),
      (e: unknown) => {
        assert.ok(isSensorError(e, 'ESENSOR_CONFIG'), String(e));
        assert.equal(e.file, f);
        assert.equal(e.line, 5);
        assert.match(e.message, /alias/);
        return true;
      },
    );
  });

  test('issue-13-deep-condition: 50,000 nested parentheses or nots are ESENSOR_RULE_PARSE at the column where the bound is crossed', () => {
    for (const [open, close] of [
      ['(', ')'],
      ['not ', ''],
      ['not (', ')'],
    ] as const) {
      const text = `- rule: deep\n  desc: deep\n  condition: ${open.repeat(50_000)}ebpf.kind = open${close.repeat(50_000)}\n  output: x\n  severity: high\n`;
      const errs = compile('deep.yaml', text);
      assertCoded(errs, 'ESENSOR_RULE_PARSE', 'deep.yaml', /deeper than 100/);
      assert.equal(errs[0]!.line, 3);
    }
  });

  test('issue-13-deep-condition: nesting within the bound still compiles', () => {
    const text = `- rule: ok\n  desc: ok\n  condition: ${'('.repeat(90)}ebpf.kind = open${')'.repeat(90)}\n  output: x\n  severity: high\n`;
    assert.deepEqual(compile('ok.yaml', text).map(String), []);
  });

  test('issue-13-macro-chain: a chain of 1,000 macros is a coded error', () => {
    let text = '';
    for (let i = 0; i < 1000; i++) text += `- macro: m${i}\n  condition: ${i ? `m${i - 1}` : 'ebpf.kind = open'}\n`;
    text += '- rule: chain\n  desc: chain\n  condition: m999\n  output: x\n  severity: high\n';
    const errs = compile('chain.yaml', text);
    assertCoded(errs, 'ESENSOR_RULE_SEMANTIC', 'chain.yaml', /deeper than \d+ levels \(macros included\)/);
  });

  test('issue-13-list-chain: lists nesting 3,000 deep (each naming the next) are a coded error', () => {
    let text = '';
    for (let i = 0; i < 3000; i++) text += `- list: l${i}\n  items: [${i < 2999 ? `l${i + 1}` : 'x'}]\n`;
    text += '- rule: chain\n  desc: chain\n  condition: process.name in (l0)\n  output: x\n  severity: high\n';
    assertCoded(compile('lists.yaml', text), 'ESENSOR_RULE_SEMANTIC', 'lists.yaml', /nest deeper than 100/);
  });

  test('issue-13-deep-filter: replay --filter with 30,000 "(" is ESENSOR_RULE_PARSE at --filter:1:column', () => {
    assert.throws(
      () => compileFilter(`${'('.repeat(30_000)}ebpf.kind = open${')'.repeat(30_000)}`),
      (e: unknown) => {
        assert.ok(isSensorError(e, 'ESENSOR_RULE_PARSE'), String(e));
        assert.equal(e.file, '--filter');
        assert.equal(e.line, 1);
        assert.equal(e.column, 101);
        return true;
      },
    );
  });

  test('issue-13-deep-yaml: YAML nested 50,000 deep is a coded error with a location', () => {
    const errs = compile('flow.yaml', `${'['.repeat(50_000)}${']'.repeat(50_000)}\n`);
    assertCoded(errs, 'ESENSOR_RULE_PARSE', 'flow.yaml', /YAML/);
  });
});
