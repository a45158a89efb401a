// issue-16: Session View fields from the process table — session, group and
// entry leaders through fork, exec and setsid (seen as a new sid on the next
// event), process.previous on exec, the parent's user/cwd/tty, seeding from /proc.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Enricher } from '../../src/enrich/enrich.js';
import { fixtureEvent } from '../../src/rules/fixtures.js';
import type { SensorEvent } from '../../src/model/event.js';
import { toEcs } from '../../src/normalize/ecs/ecs.js';
import { HOST, AGENT } from '../helpers/normalize-corpus.js';
import { validateEcs } from '../helpers/ecs-validator.js';

const NS = (ticks: number): string => String(BigInt(ticks) * 10_000_000n);

function ev(kind: string, pid: number, ppid: number, ticks: number, pticks: number, sid: number, pgid: number, extra: Record<string, unknown> = {}): SensorEvent {
  const e = fixtureEvent({ 'ebpf.kind': kind, 'process.pid': pid, 'process.parent.pid': ppid, ...extra });
  e.process.entity_id = '';
  e.process.parent = { pid: ppid };
  delete e.process.working_directory;
  e.ebpf.process = { start_boot_ns: NS(ticks), parent_start_boot_ns: NS(pticks), sid, pgid, comm: e.process.name };
  return e;
}

function procFs(): string {
  const root = mkdtempSync(join(tmpdir(), 'procfs-'));
  const add = (pid: number, comm: string, ppid: number, pgid: number, sid: number, tty: number, start: number, uid: number, exe: string): void => {
    const d = join(root, String(pid));
    mkdirSync(d);
    const rest = Array.from({ length: 40 }, () => '0');
    rest[0] = 'S'; rest[1] = String(ppid); rest[2] = String(pgid); rest[3] = String(sid); rest[4] = String(tty); rest[19] = String(start);
    writeFileSync(join(d, 'stat'), `${pid} (${comm}) ${rest.join(' ')}`);
    writeFileSync(join(d, 'status'), `Name:\t${comm}\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nGid:\t${uid}\t${uid}\t${uid}\t${uid}\n`);
    writeFileSync(join(d, 'cmdline'), `${exe}\0`);
    symlinkSync(exe, join(d, 'exe'));
    symlinkSync('/', join(d, 'cwd'));
  };
  add(1, 'systemd', 0, 1, 1, 0, 1, 0, '/usr/lib/systemd/systemd');
  add(500, 'sshd', 1, 500, 500, 0, 10, 0, '/usr/sbin/sshd');
  // sshd's session child: a login shell on pts/3 (tty_nr = 136 << 8 | 3), uid 1000
  add(600, 'bash', 500, 600, 600, (136 << 8) | 3, 20, 1000, '/usr/bin/bash');
  return root;
}

test('issue-16: leaders, entry type, previous and parent context through fork, exec and setsid + exec', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: true, resolveContainers: false, resolveNames: false, procRoot: procFs() });
  assert.equal(en.seeded, 3);
  // bash (600) forks 700, which execs curl in bash's session and a new process group 700
  const fork = ev('fork', 700, 600, 30, 20, 600, 600);
  en.enrich(fork);
  const exec = ev('exec', 700, 600, 30, 20, 600, 700, { 'process.executable': '/usr/bin/curl', 'process.args': ['curl', 'x'] });
  en.enrich(exec);
  const p = exec.process;
  assert.equal(p.session_leader?.pid, 600);
  assert.equal(p.session_leader?.executable, '/usr/bin/bash');
  assert.equal(p.session_leader?.user?.id, '1000');
  assert.equal(p.group_leader?.pid, 700, 'the new process group');
  assert.equal(p.group_leader?.executable, '/usr/bin/curl');
  assert.equal(p.entry_leader?.pid, 600, 'the sshd session entered the host with bash');
  assert.equal(p.entry_leader?.entry_meta?.type, 'sshd');
  assert.deepEqual(p.previous, [{ executable: '/usr/bin/bash', args: ['/usr/bin/bash'] }], 'the image before exec');
  assert.equal(p.parent.user?.id, '1000');
  assert.equal(p.parent.working_directory, '/');
  assert.equal(p.parent.interactive, true);
  assert.deepEqual(p.parent.tty, { char_device: { major: 136, minor: 3 } });
  const doc = toEcs({ event: exec, verdict: { classification: 'normal', matches: [] } }, HOST, AGENT) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(doc.process.entry_leader.entry_meta.type, 'sshd');
  assert.equal(doc.process.group_leader.same_as_process, true);
  assert.equal(doc.process.session_leader.same_as_process, false);
  assert.equal(doc.process.previous.executable, '/usr/bin/bash');
  assert.deepEqual(validateEcs(doc), []);
  // 700 calls setsid and execs: the exec carries sid 700; the entry session stays the shell's
  const after = ev('exec', 700, 600, 30, 20, 700, 700, { 'process.executable': '/usr/bin/sleep', 'process.args': ['sleep', '1'] });
  en.enrich(after);
  assert.equal(after.process.session_leader?.pid, 700);
  assert.equal(after.process.session_leader?.executable, '/usr/bin/sleep');
  assert.equal(after.process.entry_leader?.pid, 600, 'a setsid under a shell stays in the entry session');
  assert.deepEqual(after.process.previous, [{ executable: '/usr/bin/curl', args: ['curl', 'x'] }]);
  // a child of init that leads its own session is a service: an init entry
  const svcFork = ev('fork', 800, 1, 40, 1, 1, 1);
  en.enrich(svcFork);
  const svc = ev('exec', 800, 1, 40, 1, 800, 800, { 'process.executable': '/usr/sbin/cron', 'process.args': ['cron'] });
  en.enrich(svc);
  assert.equal(svc.process.entry_leader?.pid, 800);
  assert.equal(svc.process.entry_leader?.entry_meta?.type, 'init');
});

test('issue-16: a setuid/setgid document names the id before the call (uid_change with old and new ids)', () => {
  const en = new Enricher({ hostId: 'h', seedFromProc: true, resolveContainers: false, resolveNames: false, procRoot: procFs() });
  // bash (600, uid 1000) calls setuid(0) and succeeds: the record, taken at exit, has uid 0
  const su = ev('setuid', 600, 500, 20, 10, 600, 600, { 'ebpf.ids.requested': [0], 'process.user.id': '0', 'user.id': '0' });
  en.enrich(su);
  assert.equal(su.event.action, 'uid_change');
  assert.equal(su.ebpf.ids?.previous, '1000');
  assert.equal(su.process.user.id, '0');
  const sg = ev('setgid', 600, 500, 20, 10, 600, 600, { 'ebpf.ids.requested': [0], 'process.user.id': '0', 'process.group.id': '0' });
  en.enrich(sg);
  assert.equal(sg.event.action, 'gid_change');
  assert.equal(sg.ebpf.ids?.previous, '1000');
  // the table follows: the next change starts from 0
  const back = ev('setuid', 600, 500, 20, 10, 600, 600, { 'ebpf.ids.requested': [1000], 'process.user.id': '1000' });
  en.enrich(back);
  assert.equal(back.ebpf.ids?.previous, '0');
});
