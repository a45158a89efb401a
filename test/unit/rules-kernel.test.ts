import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRules } from '../../src/rules/engine.js';
import { kernelKillRules, kernelNeeds } from '../../src/rules/kernel-needs.js';
import { ProcessKiller } from '../../src/rules/killer.js';
import { isoToEpochMs } from '../../src/model/time.js';
import { fixtureEvent } from '../../src/rules/fixtures.js';
import { isoFromNs } from '../../src/decode/decode.js';
import { kernelFilter } from '../../src/rules/kernel-filter.js';
import { prefixKey } from '../../src/sources/kernel/filter-maps.js';

const dir = mkdtempSync(join(tmpdir(), 'rules-kernel-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const rules = (text: string) => {
  const p = join(dir, `k${n++}.yaml`);
  writeFileSync(p, text);
  return loadRules({ bundled: false, paths: [p] });
};
const rule = (id: string, condition: string, extra = ''): string =>
  `- rule: ${id}\n  desc: d\n  condition: ${JSON.stringify(condition)}\n  output: o\n  severity: high\n${extra}`;

test('kernelNeeds: families of the enabled rules; telemetry all wants everything', () => {
  const e = rules(rule('a', 'ebpf.kind = exec and process.name = x') + rule('b', 'destination.port = 4444') + rule('c', 'ebpf.kind = bpf', '  enabled: false\n'));
  const n1 = kernelNeeds(e, 'alerts');
  assert.deepEqual([...(n1.kinds as Set<string>)].sort(), ['accept', 'connect', 'exec', 'exit', 'fork', 'setpgid', 'setsid'], 'rules\' families plus the process lifecycle (and the session changes the process table follows)');
  assert.equal(n1.openReads, false);
  assert.equal(n1.failedReads, false);
  const n2 = kernelNeeds(e, 'all');
  assert.equal(n2.kinds, 'all');
  assert.equal(n2.openReads, true);
  assert.equal(n2.failedReads, true);
});

test('kernelNeeds: read-only opens narrowed to the names and prefixes rules on reads can match', () => {
  const e = rules(
    [
      '- macro: w\n  condition: ebpf.kind = open and ebpf.open.intent in (write, create, truncate, append)',
      rule('writes_only', 'w and file.path startswith /etc/'),
      rule('shadow', 'ebpf.kind = open and not ebpf.open.intent in (write, create) and file.path in (/etc/shadow, /etc/gshadow)'),
      rule('keys', 'ebpf.kind = open and file.name = id_rsa and event.outcome = success'),
      rule('dir', 'ebpf.kind = open and (file.directory = /root/.aws or file.path glob "/home/*/.kube/config")'),
      rule('hist', 'ebpf.kind = open and file.path endswith "/.bash_history"'),
    ].join('\n'),
  );
  const n1 = kernelNeeds(e, 'alerts');
  assert.deepEqual(n1.prefixes, ['/home/', '/root/.aws/']);
  assert.deepEqual(n1.paths, ['/etc/gshadow', '/etc/shadow']);
  assert.deepEqual(n1.names, ['.bash_history', 'id_rsa']);
  assert.equal(n1.openReads, false);
  assert.equal(n1.failedReads, false, 'failed reads are narrowed by the same names and prefixes');
  // Which outcomes want each entry: keys asks for successful reads only.
  assert.deepEqual(Object.fromEntries(n1.interest.names), { '.bash_history': 3, id_rsa: 1 });
  assert.deepEqual(Object.fromEntries(n1.interest.paths), { '/etc/gshadow': 3, '/etc/shadow': 3 });
  assert.deepEqual(Object.fromEntries(n1.interest.prefixes), { '/home/': 3, '/root/.aws/': 3 });
  const e2 = rules(rule('any_read', 'ebpf.kind = open and process.name = cat'));
  assert.equal(kernelNeeds(e2, 'alerts').openReads, true);
  const e3 = rules(rule('ok_only', 'ebpf.kind = open and file.name = x and event.outcome = success'));
  assert.equal(kernelNeeds(e3, 'alerts').failedReads, false);
});

test('issue-14: failed read-only opens are all reported only when a rule matches them on any path', () => {
  const any = kernelNeeds(rules(rule('probe', 'ebpf.kind = open and event.outcome = failure and process.name = scanner')), 'alerts');
  assert.equal(any.failedReads, true);
  assert.equal(any.openReads, false, 'successful reads are not wanted by a failure-only rule');
  const bundledLike = kernelNeeds(rules(rule('shadow', 'ebpf.kind = open and file.path = /etc/shadow')), 'alerts');
  assert.equal(bundledLike.failedReads, false);
  assert.deepEqual(Object.fromEntries(bundledLike.interest.paths), { '/etc/shadow': 3 });
});

test('issue-14: a longer prefix keeps the outcome bits of the prefixes covering it (LPM answers with the longest match)', () => {
  const n = kernelNeeds(
    rules(
      rule('etc_failed', 'ebpf.kind = open and file.path startswith /etc/ and event.outcome = failure') +
        rule('cron_ok', 'ebpf.kind = open and file.path startswith /etc/cron and event.outcome = success') +
        rule('ssl_failed', 'ebpf.kind = open and file.path startswith /etc/ssl/ and event.outcome = failure'),
    ),
    'alerts',
  );
  assert.deepEqual(Object.fromEntries(n.interest.prefixes), { '/etc/': 2, '/etc/cron': 3 }, '/etc/ssl/ adds nothing /etc/ does not cover');
  assert.deepEqual(n.prefixes, ['/etc/', '/etc/cron']);
});

test('kernelNeeds of the bundled rules: reads only for the shadow files; writes, execs and the rest by family; always the process lifecycle', () => {
  const n1 = kernelNeeds(loadRules({ bundled: true, paths: [] }), 'alerts');
  assert.ok(n1.kinds !== 'all');
  for (const k of ['exec', 'open', 'connect', 'ptrace', 'module_load', 'bpf', 'setuid', 'mount', 'tamper', 'chmod', 'unlink', 'rename']) assert.ok((n1.kinds as Set<string>).has(k), k);
  for (const k of ['fork', 'exit']) assert.ok((n1.kinds as Set<string>).has(k), `${k}: the process table needs it`);
  for (const k of ['accept', 'listen', 'bind', 'loss']) assert.ok(!(n1.kinds as Set<string>).has(k), k);
  assert.equal(n1.openReads, false);
  assert.deepEqual(n1.prefixes, []);
  // The backups (shadow-) are names of their own: as prefixes merged into /etc/shadow they were
  // once turned into the name "shadow", and reads of /etc/shadow- died in the kernel.
  assert.deepEqual(n1.paths, ['/etc/gshadow', '/etc/gshadow-', '/etc/security/opasswd', '/etc/shadow', '/etc/shadow-']);
  const f = kernelFilter(n1, { telemetry: { events: 'all', openReads: false } }, loadRules({ bundled: true, paths: [] }));
  assert.equal(f.readPrefixes, false, 'no read needs the path walk');
  for (const n of ['gshadow', 'gshadow-', 'opasswd', 'shadow', 'shadow-']) assert.ok(f.names.includes(n), n);
});

test('kernelNeeds: a prefix that ends inside a name stays a prefix (walked); names the kernel cannot hold fall back safely', () => {
  const long = 'n'.repeat(70);
  const e = rules(
    [
      rule('cron', 'ebpf.kind = open and file.path startswith /etc/cron'),
      rule('glob', 'ebpf.kind = open and file.path glob "/var/spool/cron*"'),
      rule('literal_glob', 'ebpf.kind = open and file.path glob "/etc/exact-glob"'),
      rule('long_path', `ebpf.kind = open and file.path = /srv/${long}`),
      rule('under', 'ebpf.kind = open and file.path = /etc/cron.d/job'),
    ].join('\n'),
  );
  const n = kernelNeeds(e, 'alerts');
  assert.deepEqual(n.prefixes, ['/etc/cron', `/srv/${long}`, '/var/spool/cron']);
  assert.deepEqual(n.paths, ['/etc/exact-glob'], 'a path under a prefix needs no name; a glob without wildcards is a path');
  assert.equal(n.openReads, false);
  const f = kernelFilter(n, { telemetry: { events: 'alerts', openReads: false } });
  assert.equal(f.readPrefixes, true);
  assert.deepEqual(f.names, ['exact-glob']);
  assert.ok(!f.names.includes('cron'), 'a partial name is not a name');
  // A file.name the kernel's 64-byte name key cannot hold: every read goes up (nothing missed).
  assert.equal(kernelNeeds(rules(rule('long_name', `ebpf.kind = open and file.name = ${long}`)), 'alerts').openReads, true);
});

test('prefix keys longer than the kernel key are cut, letting more through, not failing', () => {
  const k = prefixKey(`/${'d'.repeat(400)}`);
  assert.equal(k.readUInt32LE(0), 256 * 8);
  assert.equal(k.length, 260);
});

test('kernelKillRules: only kill rules that reduce to exec-of-paths or open-of-paths are kernel-decidable', () => {
  const kill = '  action: kill\n';
  const e = rules(
    [
      '- macro: w\n  condition: ebpf.kind = open and ebpf.open.intent in (write, create, truncate, append)',
      rule('shm', 'ebpf.kind = exec and process.executable startswith (/dev/shm/, /run/shm/)', kill),
      rule('miner', 'event.action = exec and process.executable in (/usr/bin/xmrig)', kill),
      rule('preload', 'w and file.path = /etc/ld.so.preload', kill),
      rule('shadow_any', 'ebpf.kind = open and file.path = /etc/shadow', kill),
      rule('by_name', 'ebpf.kind = exec and process.name = xmrig', kill),
      rule('with_exception', 'ebpf.kind = exec and process.executable startswith /tmp/', `${kill}  exceptions:\n    - name: x\n      fields: process.user.id\n      values: ["0"]\n`),
      rule('alert_only', 'ebpf.kind = exec and process.executable startswith /tmp/'),
    ].join('\n'),
  );
  assert.deepEqual(kernelKillRules(e), [
    { ruleId: 'shm', kind: 'exec', executable: { exact: [], prefix: ['/dev/shm/', '/run/shm/'] } },
    { ruleId: 'miner', kind: 'exec', executable: { exact: ['/usr/bin/xmrig'], prefix: [] } },
    { ruleId: 'preload', kind: 'open', path: { exact: ['/etc/ld.so.preload'], prefix: [] }, writeIntent: true },
    { ruleId: 'shadow_any', kind: 'open', path: { exact: ['/etc/shadow'], prefix: [] } },
  ]);
});

test('kill: SIGKILL to the process the event names, delay measured and reported in the match', () => {
  const proc = join(dir, 'proc');
  mkdirSync(join(proc, '4242'), { recursive: true });
  // start_boot_ns 500000000 = 50 ticks (field 22 of stat)
  writeFileSync(join(proc, '4242', 'stat'), `4242 (evil) S 1 ${Array.from({ length: 17 }, () => '0').join(' ')} 50 0 0`);
  const sent: number[] = [];
  const killer = new ProcessKiller({ procRoot: proc, signal: (pid) => sent.push(pid) });
  const p = join(dir, `kill.yaml`);
  writeFileSync(p, rule('stop', 'ebpf.kind = exec and process.executable startswith /dev/shm/', '  action: kill\n'));
  const e = loadRules({ bundled: false, paths: [p] }, { killer });
  const ts = isoFromNs(BigInt(Date.now() - 5) * 1_000_000n);
  const ev = fixtureEvent({ '@timestamp': ts, 'process.executable': '/dev/shm/x', 'process.pid': 4242, 'ebpf.process.start_boot_ns': '500000000' });
  const m = e.classify(ev).matches[0]!;
  assert.equal(m.action, 'kill');
  assert.deepEqual(sent, [4242]);
  assert.equal(m.kill?.result, 'killed');
  assert.equal(m.kill?.by, 'user');
  assert.ok(m.kill!.delay_ms! >= 4 && m.kill!.delay_ms! < 5000, `delay ${m.kill!.delay_ms}`);
  assert.equal(killer.stats.killed, 1);
  // a reused pid (other start time) is not killed
  const m2 = e.classify({ ...ev, ebpf: { ...ev.ebpf, process: { start_boot_ns: '900000000' } } }).matches[0]!;
  assert.equal(m2.kill?.result, 'gone');
  assert.deepEqual(sent, [4242]);
  // pid 1 and the sensor itself are never killed
  const m3 = e.classify(fixtureEvent({ 'process.executable': '/dev/shm/x', 'process.pid': process.pid })).matches[0]!;
  assert.equal(m3.kill?.result, 'refused');
  // without a killer (replay) kill rules only alert
  const replay = loadRules({ bundled: false, paths: [p] });
  assert.equal(replay.classify(ev).matches[0]!.kill, undefined);
});

test('isoToEpochMs keeps sub-millisecond precision', () => {
  assert.equal(isoToEpochMs('2026-01-01T00:00:00.000250000Z'), Date.parse('2026-01-01T00:00:00Z') + 0.25);
});
