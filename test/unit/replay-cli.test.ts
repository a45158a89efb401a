// `ebpf-sensor replay` and `journal export` as a user runs them: byte-identical
// output run after run, as an unprivileged user and without ever loading the
// native addon; a progress bar only when asked or on a terminal; clear usage
// and damage errors with their exit codes; the summary as JSON.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { rawEvents, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const CLI = join(packageRoot, 'bin/ebpf-sensor.js');
const dir = tempDir('ebpf-sensor-replay-cli-');
chmodSync(dir, 0o777);
const capture = (async () => {
  const f = await writeCapture(join(dir, 'cli.capture.gz'), rawEvents(21, 3000, 0.7), { blockBytes: 50_000 });
  chmodSync(f, 0o644);
  return f;
})();

/** Throws if anything loads a native addon (the sensor's libbpf binding is the only one it has). */
const GUARD = join(dir, 'no-native.mjs');
writeFileSync(GUARD, "process.dlopen = (_m, file) => { throw new Error(`replay loaded a native addon: ${file}`); };\n");
chmodSync(GUARD, 0o644);

function cli(args: string[], opts: { asNobody?: boolean } = {}): SpawnSyncReturns<string> {
  const node = [process.execPath, '--import', pathToFileURL(GUARD).href, CLI, ...args];
  const cmd = opts.asNobody && process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...node] : node;
  return spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', cwd: dir, env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'warn' } });
}

describe('replay and journal export commands', () => {
  test('same capture, same rules: byte-identical output, ECS and CEF, run after run', async () => {
    const file = await capture;
    for (const format of ['ecs', 'cef']) {
      const outs = [1, 2].map((n) => {
        const out = join(dir, `det-${format}-${n}.out`);
        const r = cli(['replay', file, '--events', 'alerts', '--format', format, '-o', `file:${out}`]);
        assert.equal(r.status, 0, r.stderr);
        return readFileSync(out);
      });
      assert.ok(outs[0]!.length > 1000, `${format}: ${outs[0]!.length} bytes of alerts`);
      assert.ok(outs[0]!.equals(outs[1]!), `${format}: the two replays differ`);
    }
  });

  test('runs as an unprivileged user (nobody) without loading the native addon, with the same output as root', async () => {
    const file = await capture;
    const mine = join(dir, 'as-me.ndjson');
    const theirs = join(dir, 'as-nobody.ndjson');
    const a = cli(['replay', file, '-o', `file:${mine}`]);
    assert.equal(a.status, 0, a.stderr);
    const b = cli(['replay', file, '-o', `file:${theirs}`], { asNobody: true });
    assert.equal(b.status, 0, b.stderr);
    assert.doesNotMatch(b.stderr, /native addon/);
    assert.ok(readFileSync(mine).equals(readFileSync(theirs)));
    assert.equal(readFileSync(theirs, 'utf8').split('\n').length - 1, 3000);
    // The guard works: the live sensor, which does load the addon, trips it.
    const run = cli(['run', '--duration', '1'], { asNobody: true });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /native addon|ESENSOR_PRIVILEGE|ESENSOR_BUILD_MISSING/);
  });

  test('progress bar (events, events/s, ETA) when asked; quiet when stderr is not a terminal', async () => {
    const file = await capture;
    const quiet = cli(['replay', file, '-o', `file:${join(dir, 'p1.out')}`]);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /ETA/);
    const bar = cli(['replay', file, '-o', `file:${join(dir, 'p2.out')}`, '--progress']);
    assert.equal(bar.status, 0, bar.stderr);
    assert.match(bar.stderr, /\r\[[#.]{24}\] +\d+% +[\d,]+ events +[\d,]+ events\/s +ETA \d+:\d\d/);
    // The summary comes after the bar is cleared.
    assert.match(bar.stderr, /\r\x1b\[Kreplayed 3000 events from 1 input/);
  });

  test('summary on stderr and as JSON', async () => {
    const file = await capture;
    const json = join(dir, 'summary.json');
    const r = cli(['replay', file, '--events', 'alerts', '-o', `file:${join(dir, 's.out')}`, '--summary-json', json]);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(readFileSync(json, 'utf8')) as { alerts: number; written: number; byRule: Array<{ rule: string; severity: string; count: number }>; records: number };
    assert.equal(s.records, 3000);
    assert.equal(s.written, readFileSync(join(dir, 's.out'), 'utf8').split('\n').length - 1);
    assert.ok(s.alerts > 0 && s.byRule.length > 0);
    for (const x of s.byRule) assert.match(r.stderr, new RegExp(`${x.rule}\\s+${x.severity}\\s+${x.count}\\n`));
  });

  test('usage errors exit 2 and say what is wrong', () => {
    const cases: Array<[string[], RegExp]> = [
      [['replay'], /replay needs at least one INPUT/],
      [['replay', 'x', '--since', 'yesterday'], /--since "yesterday" is not an ISO-8601 time/],
      [['replay', 'x', '--speed', '0'], /--speed must be max, recorded or a positive factor/],
      [['replay', 'x', '--events', 'some'], /--events must be all or alerts/],
      [['replay', 'x', '--output', 'kafka://x'], /--output must be stdout or file:PATH/],
      [['replay', 'x', '--bogus'], /ESENSOR_USAGE/],
      [['replay', 'x', '--no-bundled-rules'], /--no-bundled-rules needs --rules PATH/],
      [['journal', 'export'], /journal export needs --output FILE/],
      [['journal', 'prune'], /unknown journal command "prune"/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    const f = cli(['replay', join(dir, 'x'), '--filter', 'file.path startswith']);
    assert.equal(f.status, 2);
    assert.match(f.stderr, /ESENSOR_RULE_PARSE: --filter:1:21: condition: expected a value/);
  });

  test('a damaged capture: exit 1 naming file and record; --skip-bad replays the rest and says what was lost', async () => {
    const file = await capture;
    const bytes = readFileSync(file);
    const cut = join(dir, 'cut.capture.gz');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const r = cli(['replay', cut, '-o', `file:${join(dir, 'cut.out')}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`ebpf-sensor: ESENSOR_CAPTURE_FORMAT: ${cut.replace(/[.]/g, '\\.')}: records \\d+–\\d+: the file is cut short`));
    const s = cli(['replay', cut, '-o', `file:${join(dir, 'cut2.out')}`, '--skip-bad']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stderr, /\(skipped\)/);
    assert.match(s.stderr, /damaged: \d+ records lost in 2 places \(--skip-bad\)/);
    const kept = readFileSync(join(dir, 'cut2.out'), 'utf8').split('\n').length - 1;
    assert.ok(kept > 1000 && kept < 3000, `${kept} records replayed`);
  });

  test('help', () => {
    for (const [args, re] of [
      [['help', 'replay'], /Usage: ebpf-sensor replay \[options\] INPUT\.\.\./],
      [['replay', '--help'], /--process ENTITY_ID/],
      [['help', 'journal'], /Usage: ebpf-sensor journal export/],
      [['--help'], /replay INPUT\.\.\. +Replay captures or a journal/],
    ] as Array<[string[], RegExp]>) {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, re);
    }
  });
});
