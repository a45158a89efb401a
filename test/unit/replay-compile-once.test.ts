// Issue 14: a replay compiles its ruleset once per set of runtime lists. Rule
// errors are still reported before any input is read, and that first compile
// uses the first capture's own runtime lists (a live capture records the
// sensor's pid and files), so replaying it does not compile the rules again;
// a second input with other lists gets its own compile, and the lists still
// decide the alerts (self-protection rules read them).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';
import { replay } from '../../src/pipeline/replay.js';
import { AGENT, HOST } from '../helpers/normalize-corpus.js';

const dir = tempDir('ebpf-sensor-replay-compile-');
const RULES = join(dir, 'pids.yaml');
writeFileSync(
  RULES,
  `- list: sensor_paths
  items: [/opt/ebpf-sensor/]
- rule: sensor_file_open
  desc: an open of a file the runtime list names
  condition: ebpf.kind = open and file.path startswith (sensor_paths)
  output: "%{file.path}"
  severity: low
`,
);

/** Replays `inputs` with RULES, counting how often the rule file is read (once per compile). */
async function countReads(inputs: string[]): Promise<{ reads: number; alerts: number }> {
  let reads = 0;
  const s = await replay({
    inputs,
    rules: {
      bundled: false,
      paths: [RULES],
      read: (f: string) => {
        if (f === RULES) reads++;
        return readFileSync(f, 'utf8');
      },
    },
    events: 'alerts',
    speed: 'max',
    skipBad: false,
    sinks: () => [],
    localHost: () => ({ host: HOST, agent: AGENT }),
  });
  return { reads, alerts: s.alerts };
}

describe('replay compiles the ruleset once per runtime lists', () => {
  test('a capture with runtime lists: one compile, and the lists decide', async () => {
    const events = rawEvents(3, 1500, 1);
    const path = String(events.find((ev) => ev.ebpf.kind === 'open' && typeof ev.file?.path === 'string')!.file!.path);
    const withLists = await writeCapture(join(dir, 'lists.capture.gz'), events, { lists: { sensor_paths: [path] } });
    const without = await writeCapture(join(dir, 'none.capture.gz'), events);
    const a = await countReads([withLists]);
    assert.equal(a.reads, 1, 'compiled once');
    assert.ok(a.alerts > 0, 'the header lists are the ones the rules read');
    assert.ok(!path.startsWith('/opt/ebpf-sensor/'));
    const b = await countReads([without]);
    assert.equal(b.reads, 1);
    assert.equal(b.alerts, 0);
    // Two inputs with different lists: one compile each.
    const both = await countReads([withLists, without]);
    assert.equal(both.reads, 2);
    assert.equal(both.alerts, a.alerts);
    // Same alerts as the full path.
    const full = await replayToMemory([withLists], { events: 'alerts', rules: { bundled: false, paths: [RULES] }, noFastPath: true });
    assert.equal(full.summary.alerts, a.alerts);
  });

  test('rule errors still come before any input is read, also when the first input is not a capture', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, '- rule: x\n  desc: x\n  condition: ebpf.kind = = open\n  output: x\n  severity: low\n');
    await assert.rejects(
      replay({ inputs: [join(dir, 'missing.capture.gz')], rules: { bundled: false, paths: [bad] }, events: 'alerts', speed: 'max', skipBad: false, sinks: () => [], localHost: () => ({ host: HOST, agent: AGENT }) }),
      (e: Error & { code?: string }) => e.code === 'ESENSOR_RULE_PARSE' || e.code === 'ESENSOR_RULE',
    );
  });
});
