// issue 13, point 1: the nesting bounds are configurable — rule conditions and
// `replay --filter` (`rules.maxNesting`, `replay --max-nesting`, default 100)
// and capture templates (`replay --max-template-depth`, default 32). A lowered
// bound turns an input that passed into the coded error naming the file and
// line/column, field or record; a raised one accepts what the default
// refuses; values outside 1-1000 are refused naming the key or option.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { isSensorError } from '../../src/errors.js';
import { DEFAULT_INPUT_LIMITS, setInputLimits } from '../../src/model/limits.js';
import { compileRules } from '../../src/rules/compiler.js';
import { compileFilter } from '../../src/rules/filter.js';
import { parseRuleText } from '../../src/rules/source.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import type { InputDamage } from '../../src/sources/replay/capture-reader.js';
import { rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-issue13-limits-');
const nested = (n: number): string => `${'('.repeat(n)}process.name = curl${')'.repeat(n)}`;
const nots = (n: number): string => `${'not '.repeat(n)}process.name = curl`;
function ruleErrors(file: string, condition: string) {
  const text = `- rule: r\n  desc: d\n  condition: ${condition}\n  output: o\n  severity: low\n`;
  const p = parseRuleText(file, text);
  return p.errors.length ? p.errors : compileRules([{ file, text, defs: p.defs }]).errors;
}

describe('issue-13: configurable nesting bounds', { concurrency: false }, () => {
  test.afterEach(() => setInputLimits({ ...DEFAULT_INPUT_LIMITS }));

  test('condition nesting: lowered, a rule file and --filter are refused at file:line:column; raised, 150 levels are accepted', () => {
    assert.deepEqual(ruleErrors('ok.yaml', nested(30)), []);
    setInputLimits({ conditionDepth: 20 });
    const errs = ruleErrors('low.yaml', nested(30));
    assert.equal(errs.length, 1);
    assert.ok(isSensorError(errs[0], 'ESENSOR_RULE_PARSE'), String(errs[0]));
    assert.equal(errs[0].file, 'low.yaml');
    assert.equal(errs[0].line, 3);
    assert.equal(errs[0].column, 'condition: '.length + 3 + 20);
    assert.equal(errs[0].field, 'condition');
    assert.match(errs[0].message, /deeper than 20 levels/);
    assert.throws(
      () => compileFilter(nots(30)),
      (e: unknown) => isSensorError(e, 'ESENSOR_RULE_PARSE') && e.file === '--filter' && e.line === 1 && e.column === 4 * 20 + 1 && e.field === 'filter',
    );
    setInputLimits({ conditionDepth: 100 });
    assert.match(ruleErrors('default.yaml', nested(150))[0]?.message ?? '', /deeper than 100 levels/);
    setInputLimits({ conditionDepth: 200 });
    assert.deepEqual(ruleErrors('high.yaml', nested(150)), []);
    assert.equal(compileFilter(nots(150)).text, nots(150));
  });

  test('condition nesting at the top of the range (1000) compiles without exhausting the stack', () => {
    setInputLimits({ conditionDepth: 1000 });
    assert.deepEqual(ruleErrors('top.yaml', nested(1000)), []);
    assert.deepEqual(ruleErrors('top-not.yaml', `not (${nots(998)})`), []);
    assert.match(ruleErrors('over.yaml', nested(1001))[0]?.message ?? '', /deeper than 1000 levels/);
  });

  test('limits outside 1-1000 are refused naming the key; rules.maxNesting is validated by the config schema', () => {
    assert.throws(() => setInputLimits({ conditionDepth: 0 }, { conditionDepth: '--max-nesting' }), (e: unknown) => isSensorError(e, 'ESENSOR_USAGE') && /--max-nesting must be an integer 1-1000/.test(e.message));
    assert.throws(() => setInputLimits({ templateDepth: 1001 }), (e: unknown) => isSensorError(e, 'ESENSOR_USAGE') && e.field === 'templateDepth');
    const f = join(dir, 'config.yaml');
    writeFileSync(f, 'rules:\n  maxNesting: 5000\n', { mode: 0o600 });
    assert.throws(() => loadConfig(f, {}), (e: unknown) => isSensorError(e, 'ESENSOR_CONFIG') && e.field === 'rules.maxNesting' && e.line === 2);
    writeFileSync(f, 'rules:\n  maxNesting: 300\n', { mode: 0o600 });
    assert.equal(loadConfig(f, {}).rules.maxNesting, 300);
    assert.equal(loadConfig(undefined, {}).rules.maxNesting, 100);
  });

  test('template depth: lowered, every record of a capture is a coded error naming the file, record and why; raised, it replays whole', async () => {
    const file = await writeCapture(join(dir, 't.capture.gz'), rawEvents(11, 40, 1));
    const rules = { bundled: false, paths: [join(packageRoot, 'rules/00-base.yaml')] };
    const whole = await replayToMemory([file], { rules });
    assert.equal(whole.summary.written, 40);
    setInputLimits({ templateDepth: 2 });
    const damage: InputDamage[] = [];
    const low = await replayToMemory([file], { rules, skipBad: true, onDamage: (d) => damage.push(d) });
    assert.ok(low.summary.written < 40, `records refused (${low.summary.written} written)`);
    assert.ok(damage.length > 0);
    for (const d of damage) {
      assert.ok(isSensorError(d.error, 'ESENSOR_CAPTURE_FORMAT'), String(d.error));
      assert.equal(d.file, file);
      assert.match(String(d.error), /record \d+|records? /);
      assert.match(d.error.message, /nested deeper than 2 levels/);
    }
    setInputLimits({ templateDepth: 1000 });
    assert.equal((await replayToMemory([file], { rules })).summary.written, 40);
  });

  test('replay --max-nesting and --max-template-depth: usage errors name the option; a raised --max-nesting accepts a deep --filter', async () => {
    const file = await writeCapture(join(dir, 'cli.capture.gz'), rawEvents(3, 10, 1));
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, [join(packageRoot, 'bin/ebpf-sensor.js'), 'replay', file, '-o', `file:${join(dir, 'out.ndjson')}`, '--no-progress', ...extra], {
        encoding: 'utf8',
        env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'warn' },
      });
    const deep = run('--filter', nested(150));
    assert.equal(deep.status, 2, deep.stderr);
    assert.match(deep.stderr, /ESENSOR_RULE_PARSE: --filter:1:101: .*deeper than 100 levels/);
    const raised = run('--filter', nested(150), '--max-nesting', '200');
    assert.equal(raised.status, 0, raised.stderr);
    const bad = run('--max-template-depth', 'x');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /ESENSOR_USAGE: --max-template-depth must be an integer 1-1000/);
    const help = spawnSync(process.execPath, [join(packageRoot, 'bin/ebpf-sensor.js'), 'replay', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--max-nesting N/);
    assert.match(help.stdout, /--max-template-depth N/);
  });
});
