// Live: `ebpf-sensor run --capture` records a scripted attack (a backdoor
// account appended to /etc/passwd in a private mount namespace over a
// bind-mounted copy — the host's file is never touched —, a program run
// from /dev/shm, a reverse shell to 127.0.0.1); replaying the capture, as an
// unprivileged user, raises the alerts the bundled rules must raise, the same
// documents the live sensor wrote, byte-identical from one replay to the next;
// an added rule adds its alerts; the live journal exported replays the same.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import { skipReason, startSensor, type Doc, type LiveSensor, WAIT_MS } from './harness.js';

const skip = skipReason();
const CLI = join(packageRoot, 'bin/ebpf-sensor.js');
const MARKER = 'ebpf-sensor-replay-marker';

function ruleIds(d: Doc): string[] {
  return d.rule?.id ? [d.rule.id as string, ...((d.ebpf?.rules ?? []) as Array<{ id: string }>).map((r) => r.id)] : [];
}

function ndjson(file: string): Doc[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Doc);
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('replay of a capture recorded live during an attack', { skip }, () => {
  let dir: string;
  let capture: string;
  let sensor: LiveSensor;
  let server: Server;
  const pid = { passwd: 0, shm: 0, shell: 0, marker: 0 };
  let shmExe = '';
  let hostPasswd = '';

  /** The replay command, as nobody when we are root. */
  function replay(args: string[], asNobody = true): SpawnSyncReturns<string> {
    const cmd = [process.execPath, CLI, 'replay', ...args];
    const full = asNobody && process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', ...cmd] : cmd;
    return spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', cwd: dir, env: { ...process.env, EBPF_SENSOR_LOG_LEVEL: 'warn' } });
  }

  before(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-replay-live-')));
    chmodSync(dir, 0o777);
    capture = join(dir, 'attack.capture.gz');
    hostPasswd = sha('/etc/passwd');
    sensor = await startSensor(['--capture', capture]);
    server = createServer((s) => s.resume());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    // 1. A backdoor account appended to /etc/passwd — a bind-mounted copy in a private mount namespace.
    const passwd = join(dir, 'passwd.copy');
    copyFileSync('/etc/passwd', passwd);
    let r = spawnSync('unshare', ['-m', 'sh', '-c', `echo $$; mount --make-rprivate / && mount --bind ${passwd} /etc/passwd && echo 'backdoor:x:0:0::/root:/bin/sh' >> /etc/passwd`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    pid.passwd = Number(r.stdout.trim().split('\n')[0]);
    // 2. A dropped program run from /dev/shm.
    shmExe = `/dev/shm/ebpf-sensor-replay-${process.pid}`;
    copyFileSync('/bin/true', shmExe);
    chmodSync(shmExe, 0o755);
    const shm = spawnSync(shmExe, [], { encoding: 'utf8' });
    assert.equal(shm.status, 0);
    pid.shm = shm.pid!;
    rmSync(shmExe, { force: true });
    // 3. A reverse shell: bash itself connects to a listener on 127.0.0.1.
    r = spawnSync('bash', ['-c', `echo $$; exec 3<>/dev/tcp/127.0.0.1/${port}; echo id >&3`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    pid.shell = Number(r.stdout.trim());
    // 4. Something only an added rule will care about.
    const m = spawnSync('sh', ['-c', 'true', MARKER], { encoding: 'utf8' });
    pid.marker = m.pid!;

    // The live sensor saw it all (its own alerts are in its output) before it stops and closes the capture.
    await sensor.waitFor((d) => ruleIds(d).includes('account_file_modified') && d.process?.pid === pid.passwd, WAIT_MS, 'live passwd alert');
    await sensor.waitFor((d) => ruleIds(d).includes('exec_from_dev_shm') && d.process?.pid === pid.shm, WAIT_MS, 'live /dev/shm alert');
    await sensor.waitFor((d) => ruleIds(d).includes('shell_connects_out') && d.process?.pid === pid.shell, WAIT_MS, 'live reverse-shell alert');
    await sensor.waitFor((d) => d.ebpf?.syscall === 'execve' && d.process?.pid === pid.marker, WAIT_MS, 'the marker exec');
    const code = await sensor.stop();
    assert.equal(code, 0, sensor.stderr());
    assert.match(sensor.stderr(), /capture .*attack\.capture\.gz: \d+ events/);
    chmodSync(capture, 0o644);
  });

  after(async () => {
    await sensor?.stop();
    await new Promise((r) => server?.close(r));
    rmSync(shmExe, { force: true });
  });

  test('the host\'s own /etc/passwd was never touched', () => {
    assert.equal(sha('/etc/passwd'), hostPasswd);
  });

  test('replayed as nobody, the capture raises the attack\'s alerts — the documents the live sensor wrote', () => {
    const out = join(dir, 'replay-1.ndjson');
    const r = replay([capture, '--events', 'alerts', '-o', `file:${out}`]);
    assert.equal(r.status, 0, r.stderr);
    const docs = ndjson(out);
    const find = (rule: string, p: number): Doc => {
      const d = docs.find((x) => ruleIds(x).includes(rule) && x.process?.pid === p);
      assert.ok(d, `no ${rule} alert for pid ${p} in the replay; got ${docs.map((x) => `${ruleIds(x).join('+')}@${x.process?.pid}`).join(' ')}`);
      return d;
    };
    const passwd = find('account_file_modified', pid.passwd);
    assert.equal(passwd.file.path, '/etc/passwd');
    assert.ok(passwd.ebpf.open.intent.includes('append'));
    const shm = find('exec_from_dev_shm', pid.shm);
    assert.equal(shm.process.executable, shmExe);
    const shell = find('shell_connects_out', pid.shell);
    assert.equal(shell.destination.ip, '127.0.0.1');
    assert.equal(shell.destination.port, (server.address() as { port: number }).port);
    // Replay gives what the live sensor gave for the same events, byte for byte.
    const live = new Map(sensor.docs().map((d) => [d.event.id as string, d]));
    for (const d of [passwd, shm, shell]) assert.deepEqual(d, live.get(d.event.id), `${d.rule.id}: replay differs from live`);
    assert.match(r.stderr, /alerts: \d+ \(critical \d+, high \d+/);
  });

  test('replaying twice gives identical bytes, and the live sensor\'s documents', () => {
    const outs = ['replay-2.ndjson', 'replay-3.ndjson'].map((f) => join(dir, f));
    for (const out of outs) {
      const r = replay([capture, '-o', `file:${out}`]);
      assert.equal(r.status, 0, r.stderr);
    }
    const [a, b] = outs.map((f) => readFileSync(f));
    assert.ok(a!.length > 0);
    assert.ok(a!.equals(b!), 'two replays of the same capture differ');
    // Every event the live sensor wrote comes out of the replay as the same document.
    const live = sensor.docs();
    const replayed = new Map(ndjson(outs[0]!).map((d) => [d.event.id as string, d]));
    assert.equal(replayed.size, live.length);
    let differ = 0;
    for (const d of live) if (JSON.stringify(replayed.get(d.event.id)) !== JSON.stringify(d)) differ++;
    assert.equal(differ, 0, `${differ} of ${live.length} replayed documents differ from the live ones`);
  });

  test('the same capture with an added rule yields the new alerts as well', () => {
    // Rule files must sit in a directory only root can write (the run dir is 0777 for the workload).
    const rulesDir = join(dir, 'rules');
    mkdirSync(rulesDir, { mode: 0o755 });
    const rules = join(rulesDir, 'added.yaml');
    writeFileSync(
      rules,
      `- rule: marker_exec\n  name: Marked program started\n  desc: a program started with the test marker argument\n  condition: spawned and process.args contains ${MARKER}\n  output: "%{process.command_line}"\n  severity: low\n  tags: [TA0002]\n`,
      { mode: 0o644 },
    );
    const out = join(dir, 'added.ndjson');
    // As root: root refuses rule files others can write, and this one is root's.
    const r = replay([capture, '--events', 'alerts', '--rules', rules, '-o', `file:${out}`], false);
    assert.equal(r.status, 0, r.stderr);
    const docs = ndjson(out);
    const marker = docs.filter((d) => ruleIds(d).includes('marker_exec'));
    assert.equal(marker.length, 1, `marker alerts: ${marker.length}`);
    assert.equal(marker[0]!.process.pid, pid.marker);
    assert.match(marker[0]!.message, new RegExp(MARKER));
    for (const rule of ['account_file_modified', 'exec_from_dev_shm', 'shell_connects_out']) {
      assert.ok(docs.some((d) => ruleIds(d).includes(rule)), `${rule} is still raised with the added rule`);
    }
    assert.match(r.stderr, /marker_exec\s+low\s+1\n/);
  });

  test('the live journal, exported to a capture, replays to the same alerts', () => {
    const journal = join(dirname(sensor.outFile), 'journal');
    const exported = join(dir, 'exported.capture.gz');
    const e = spawnSync(process.execPath, [CLI, 'journal', 'export', '--journal', journal, '-o', exported], { encoding: 'utf8' });
    assert.equal(e.status, 0, e.stderr);
    chmodSync(exported, 0o644);
    const a = join(dir, 'from-capture.ndjson');
    const b = join(dir, 'from-journal.ndjson');
    assert.equal(replay([capture, '--events', 'alerts', '-o', `file:${a}`]).status, 0);
    const r = replay([exported, '--events', 'alerts', '-o', `file:${b}`]);
    assert.equal(r.status, 0, r.stderr);
    const key = (d: Doc): string => `${d.event.id} ${ruleIds(d).join(',')}`;
    const fromJournal = new Set(ndjson(b).map(key));
    // The journal holds what the pipeline classified; every recorded alert is there.
    for (const d of ndjson(a)) assert.ok(fromJournal.has(key(d)), `${key(d)} missing from the journal export`);
  });
});
