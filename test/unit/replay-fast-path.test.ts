// The fast path (skip events no rule can match, updating the process table
// as enrich() would) gives byte for byte what materializing and enriching
// every event gives: on complete captures, on events recorded without
// enrichment, partly enriched ones, pid reuse, exits and forks; with the
// bundled rules, rules that test enrich-filled fields, a filter, a window.
// Keeps src/pipeline/replay-facts.ts `tableEffect` and `forkEffect` in step
// with src/enrich/enrich.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SensorEvent } from '../../src/model/event.js';
import type { ReplayOptions } from '../../src/pipeline/replay.js';
import { corpus } from '../helpers/normalize-corpus.js';
import { rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-fast-path-');

/**
 * Rules whose conditions read what enrich() fills in from the process
 * table (executable, name, working directory, the parent), and which skip
 * execs entirely (so the table learns them from skipped events only).
 */
const FILLED = join(dir, 'filled.yaml');
writeFileSync(
  FILLED,
  `- rule: shadow_any
  desc: any read of the password hashes
  condition: ebpf.kind = open and file.path = /etc/shadow
  output: "%{process.executable} %{process.name} %{process.args} %{process.parent.executable} %{process.working_directory}"
  severity: high
- rule: cwd_root_connect
  desc: a connection from a process working in /root
  condition: ebpf.kind = connect and process.working_directory = /root
  output: "%{process.executable}"
  severity: low
- rule: child_of_bash_unlinks
  desc: a child of bash removes a file
  condition: ebpf.kind = unlink and process.parent.executable = /usr/bin/bash
  output: "%{process.parent.name}"
  severity: low
- rule: cat_by_name
  desc: cat (by name) connects or removes a file
  condition: ebpf.kind in (unlink, connect) and process.name = cat
  output: "%{process.name}"
  severity: medium
`,
);

type Case = [name: string, opts: Partial<Omit<ReplayOptions, 'inputs'>>];
const CASES: Case[] = [
  ['bundled rules, alerts', { events: 'alerts' }],
  ['rules on enrich-filled fields, alerts', { events: 'alerts', rules: { bundled: false, paths: [FILLED] } }],
  ['all events matching a filter', { events: 'all', filter: 'process.name in (bash, nc) or file.path startswith /etc' }],
  ['alerts matching a filter in a window', { events: 'alerts', filter: 'not process.name = nginx', since: '2025-11-23T12:13:26.000000000Z', until: '2025-11-23T12:13:28.000000000Z' }],
];

async function same(file: string, name: string, opts: Partial<Omit<ReplayOptions, 'inputs'>>): Promise<number> {
  const full = await replayToMemory([file], { ...opts, noFastPath: true });
  const fast = await replayToMemory([file], opts);
  assert.equal(full.summary.skipped, 0);
  assert.equal(fast.lines.length, full.lines.length, `${name}: as many documents`);
  for (let i = 0; i < full.lines.length; i++) assert.equal(fast.lines[i], full.lines[i], `${name}: document ${i} differs`);
  assert.deepEqual(fast.summary.byRule, full.summary.byRule);
  return fast.summary.skipped;
}

describe('replay fast path', () => {
  for (const liveEnrich of [0, 0.5, 1]) {
    test(`same output as full materialization: ${liveEnrich * 100}% of events enriched when recorded`, async () => {
      let skipped = 0;
      let records = 0;
      for (const seed of [1, 2, 3]) {
        const events = rawEvents(seed, 2500, liveEnrich);
        records += events.length;
        const file = await writeCapture(join(dir, `raw-${seed}-${liveEnrich}.capture.gz`), events, { blockBytes: 40_000 });
        for (const [name, opts] of CASES) skipped += await same(file, `seed ${seed}: ${name}`, opts);
      }
      // The comparison means something only if the fast path did skip.
      assert.ok(skipped > records, `skipped ${skipped} of ${records * CASES.length}`);
    });
  }

  test('same output on decoded events of every kind (normalizer corpus)', async () => {
    const file = await writeCapture(join(dir, 'corpus.capture.gz'), corpus().map((ce) => ce.event));
    for (const [name, opts] of CASES) await same(file, name, opts);
  });

  test('events before a window still teach the process table: an alert replays the same with or without --since', async () => {
    const events = rawEvents(9, 3000, 0);
    const file = await writeCapture(join(dir, 'window.capture.gz'), events);
    const mid = events[1500]!['@timestamp'];
    const rules = { bundled: false, paths: [FILLED] };
    const inWindow = await replayToMemory([file], { events: 'alerts', since: mid, rules });
    const whole = await replayToMemory([file], { events: 'alerts', rules });
    const later = whole.events.filter((ce) => ce.event['@timestamp'] >= mid).length;
    assert.ok(later > 10 && later < whole.lines.length);
    assert.deepEqual(inWindow.lines, whole.lines.slice(whole.lines.length - later));
    assert.ok(inWindow.summary.skipped > 1500, 'the events before the window were skipped, not parsed');
  });

  test('issue-14: forks no rule can match are skipped with the child\'s table entry (sessions, groups, tty, entry leaders)', async () => {
    let forks = 0;
    for (const seed of [4, 5]) {
      const events = withSessions(rawEvents(seed, 3000, seed === 5 ? 0.5 : 0));
      const file = await writeCapture(join(dir, `sessions-${seed}.capture.gz`), events, { blockBytes: 40_000 });
      // What the children do later (their leaders, their parent's tty, names and images from the table) is written the same.
      for (const [name, opts] of CASES) await same(file, `seed ${seed}: ${name}`, opts);
      // And the forks are not built: a capture of forks alone is skipped whole.
      const only = events.filter((ev) => ev.ebpf.kind === 'fork');
      forks += only.length;
      const forksFile = await writeCapture(join(dir, `forks-${seed}.capture.gz`), only);
      assert.equal(await same(forksFile, `seed ${seed}: forks only`, { events: 'alerts' }), only.length);
    }
    assert.ok(forks > 500, `${forks} forks`);
  });
});

/**
 * Sessions, process groups and terminals on rawEvents: some processes lead
 * their session (entry leaders), some records carry no session (a fork then
 * takes its parent's), some a tty.
 */
function withSessions(events: SensorEvent[]): SensorEvent[] {
  for (const ev of events) {
    const pid = ev.process.pid;
    const facts = ev.ebpf.process!;
    if (pid % 4 === 0) {
      facts.sid = pid;
      facts.pgid = pid;
    } else if (pid % 4 === 1) {
      delete facts.sid;
      delete facts.pgid;
    } else {
      facts.sid = 1;
      facts.pgid = ev.process.parent.pid;
    }
    if (pid % 3 === 0) ev.process.tty = { char_device: { major: 136, minor: pid % 7 } };
    else delete ev.process.tty;
  }
  return events;
}
