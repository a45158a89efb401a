// issue-14: the ECS serializer (fragments cached per run, per process entity
// and per value) writes exactly the bytes of the reference builder
// (ecsJson(toEcs())) on random events: hostile strings, lone surrogates
// (raw kernel bytes), U+2028/2029/0085, huge argv, alerts with several
// matches and kills — and on sequences of events of the same processes whose
// identity changes (exec, cwd, args, parent), so a stale cached fragment
// shows up as a difference.
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import type { ClassifiedEvent, HostInfo, RuleMatch } from '../../src/model/event.js';
import { HOST, AGENT } from '../helpers/normalize-corpus.js';
import { apply, base, change } from '../helpers/hostile-events.js';

const RUNS = Number(process.env.NORMALIZE_PROPERTY_RUNS ?? 150);

test('issue-14: ecsLine equals ecsJson(toEcs()) on random event sequences sharing process entities', () => {
  const d = fc.check(
    fc.property(fc.array(change, { minLength: 1, maxLength: 12 }), (changes) => {
      for (const c of changes) {
        const ce = apply(c);
        const want = ecsJson(toEcs(ce, HOST, AGENT));
        const got = ecsLine(ce, HOST, AGENT);
        if (got !== want) {
          let i = 0;
          while (i < got.length && got[i] === want[i]) i++;
          throw new Error(`differs at ${i}: got …${JSON.stringify(got.slice(Math.max(0, i - 60), i + 60))}… want …${JSON.stringify(want.slice(Math.max(0, i - 60), i + 60))}…`);
        }
      }
    }),
    { numRuns: RUNS },
  );
  if (d.failed) assert.fail(`seed ${d.seed}, path ${d.counterexamplePath}: ${(d.errorInstance as Error)?.message}`);
});

test('issue-14: every corpus event, then each again with its process changed in place, and a host change', () => {
  for (const ce of base) assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
  for (const orig of base) {
    const ce = structuredClone(orig);
    assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
    // Same entity, new image: the cached identity must not be reused.
    ce.event.process.executable = '/usr/bin/other';
    ce.event.process.args = ['other', '--flag'];
    ce.event.process.command_line = 'other --flag';
    ce.event.process.working_directory = '/srv';
    ce.event.process.parent.name = 'newparent';
    assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
    // The same args array changed in place.
    ce.event.process.args[1] = '--other';
    assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
    // ebpf.process (cached per entity): each member changed, added or removed alone, in place.
    const facts = ce.event.ebpf.process;
    if (!facts) continue;
    const check = (): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
    facts.sid = (facts.sid ?? 0) + 1;
    check();
    facts.loginuid = '1001';
    check();
    facts.is_thread = true;
    check();
    delete facts.is_thread;
    check();
    facts.comm = ce.event.process.name; // left out when process.name says it
    check();
    ce.event.process.name = 'renamed';
    check();
    ce.event.process.user = { id: facts.fsuid ?? '0' };
    check();
  }
  // Leaders and capability lists: each value changed alone, in place, must show in the next line.
  for (const orig of base.slice(0, 8)) {
    const ce = structuredClone(orig);
    const p = ce.event.process;
    p.session_leader = { pid: 7, entity_id: 'L', name: 'bash', executable: '/bin/bash', args: ['bash', '-l'], start: '2026-01-01T00:00:00.000000000Z', user: { id: '0', name: 'root' }, group: { id: '0' } };
    p.entry_leader = { pid: 1, entity_id: 'I', name: 'init', entry_meta: { type: 'init' } };
    p.thread.capabilities = { effective: Object.freeze(['CAP_KILL']) as string[], permitted: Object.freeze(['CAP_KILL', 'CAP_BPF']) as string[] };
    const check = (): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)));
    check();
    const l = p.session_leader;
    l.user!.name = 'toor';
    check();
    l.group!.name = 'wheel';
    check();
    l.args!.push('-x');
    check();
    l.start = '2026-01-02T00:00:00.000000000Z';
    check();
    l.executable = '/bin/sh';
    check();
    p.entry_leader.entry_meta = { type: 'sshd' };
    check();
    p.pid = 7;
    p.entity_id = 'L';
    check(); // same_as_process
    p.thread.capabilities = { effective: Object.freeze([] as string[]) as string[], permitted: Object.freeze(['CAP_BPF']) as string[] };
    check();
  }
  const host2: HostInfo = { ...HOST, name: 'other-host', ip: ['10.0.0.9'] };
  for (const ce of base.slice(0, 5)) assert.equal(ecsLine(ce, host2, AGENT), ecsJson(toEcs(ce, host2, AGENT)));
  const rawHost: HostInfo = { ...HOST, hostname: 'h\udcfe' };
  for (const ce of base.slice(0, 5)) assert.equal(ecsLine(ce, rawHost, AGENT), ecsJson(toEcs(ce, rawHost, AGENT)));
});

const mutators: Array<(p: ClassifiedEvent['event']['process']) => void> = [
    (p) => (p.name = `${p.name}x`),
    (p) => (p.executable = '/opt/x'),
    (p) => (p.args_count = (p.args_count ?? 0) + 1),
    (p) => (p.command_line = 'cmd line'),
    (p) => (p.working_directory = '/w1'),
    (p) => (p.start = '2026-01-03T00:00:00.000000000Z'),
    (p) => (p.end = '2026-01-04T00:00:00.000000000Z'),
    (p) => (p.exit_code = 3),
    (p) => (p.env_vars = ['A=1']),
    (p) => (p.thread.id += 1),
    (p) => (p.interactive = !p.interactive),
    (p) => (p.tty = { char_device: { major: 136, minor: 9 } }),
    (p) => (p.tty = { char_device: { major: 137, minor: 9 } }),
    (p) => (p.user = { id: '5', name: 'five' }),
    (p) => (p.user.name = 'renamed'),
    (p) => (p.group = { id: '6' }),
    (p) => (p.real_user = { id: '7' }),
    (p) => (p.real_group = { id: '8', name: 'eight' }),
    (p) => (p.saved_user = { id: '9' }),
    (p) => (p.saved_user.name = 'nine'),
    (p) => (p.saved_group = { id: '10' }),
    (p) => (p.previous = [{ executable: '/bin/prev' }]),
    (p) => (p.previous = [{ executable: '/bin/prev', args: ['prev'] }]),
    (p) => (p.parent.pid += 1),
    (p) => (p.parent.name = 'pn'),
    (p) => (p.parent.executable = '/bin/pe'),
    (p) => (p.parent.args = ['pe', '1']),
    (p) => (p.parent.command_line = 'pe 1'),
    (p) => (p.parent.start = '2026-01-05T00:00:00.000000000Z'),
    (p) => (p.parent.working_directory = '/pw'),
    (p) => (p.parent.working_directory = '/pw2'),
    (p) => (p.parent.interactive = true),
    (p) => (p.parent.tty = { char_device: { major: 136, minor: 1 } }),
    (p) => (p.parent.tty!.char_device.minor = 2),
    (p) => (p.parent.tty!.char_device.major = 4),
    (p) => (p.parent.user = { id: '11', name: 'pu' }),
    (p) => (p.parent.user!.name = 'pu2'),
    (p) => (p.parent.group = { id: '12' }),
    (p) => (p.session_leader = { pid: 20, entity_id: 'S', name: 'sh', args: ['sh'] }),
    (p) => (p.session_leader!.name = 'sh2'),
    (p) => (p.group_leader = { pid: 21, entity_id: 'G', user: { id: '0' } }),
    (p) => (p.group_leader!.user = { id: '0', name: 'root' }),
    (p) => (p.entry_leader = { pid: 1, entity_id: 'E', entry_meta: { type: 'init' } }),
    (p) => (p.entry_leader!.entry_meta = { type: 'sshd' }),
    (p) => (p.thread.capabilities = { effective: Object.freeze(['CAP_KILL']) as string[], permitted: Object.freeze([] as string[]) as string[] }),
];

test('issue-14: every value a cached process fragment is written from, changed alone, shows in the next line', () => {
  for (const orig of base.slice(0, 40)) {
    const ce = structuredClone(orig);
    const check = (i: number): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), `after mutator ${i}`);
    check(-1);
    mutators.forEach((m, i) => {
      m(ce.event.process);
      check(i);
    });
  }
});

test('issue-14: siblings share fragments (the tail per parent, the image per executable) only while every value they are written from is the same', () => {
  // Two children of one parent with one executable, as a fork storm makes them: the
  // tail (tty, users, parent, leaders) is cached per parent entity and the image
  // (executable, args, cwd) per executable. Each value changed in one sibling alone
  // must show in its line and not in the other's, whichever is written first.
  for (const orig of base.slice(0, 24)) {
    const a = structuredClone(orig);
    a.event.process.entity_id = 'sibling-a';
    a.event.process.pid = 70001;
    a.event.process.thread.id = 70001;
    a.event.process.parent.entity_id = 'the-parent';
    const b = structuredClone(a);
    b.event.process.entity_id = 'sibling-b';
    b.event.process.pid = 70002;
    b.event.process.thread.id = 70002;
    const check = (ce: ClassifiedEvent, what: string): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), what);
    check(a, 'a before');
    check(b, 'b before');
    // Cumulative (a mutator may change what an earlier one set): after each step both siblings are alike again.
    mutators.forEach((m, i) => {
      m(b.event.process);
      check(b, `mutator ${i}: b changed`);
      check(a, `mutator ${i}: a after b changed`);
      check(b, `mutator ${i}: b again`);
      m(a.event.process);
      check(a, `mutator ${i}: a changed alike`);
      check(b, `mutator ${i}: b after a changed alike`);
    });
  }
});

test('issue-14: one user text (and one user + group pair) answers again only while ids and names are the same', () => {
  const ce = structuredClone(base[0]!);
  const p = ce.event.process;
  const check = (what: string): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), what);
  const users: Array<{ id: string; name?: string }> = [{ id: '0', name: 'root' }, { id: '0' }, { id: '1000', name: 'root' }, { id: '1000', name: 'u' }, { id: '0', name: 'root' }, { id: '0', name: 'r\u2028' }];
  for (const u of users) {
    p.user = { ...u };
    check(`process.user ${JSON.stringify(u)}`);
    ce.event.user = { ...u };
    check(`user ${JSON.stringify(u)}`);
    ce.event.group = { ...u };
    check(`group ${JSON.stringify(u)}`);
    p.real_group = { ...u };
    check(`real_group ${JSON.stringify(u)}`);
  }
});

test('issue-14: the event head (kind, categorization, action, outcome) cached per action follows each of them changed alone', () => {
  const check = (ce: ClassifiedEvent, what: string): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), what);
  for (const orig of base) {
    const ce = structuredClone(orig);
    check(ce, 'as is');
    ce.event.event.outcome = ce.event.event.outcome === 'success' ? 'failure' : 'success';
    check(ce, 'outcome');
    ce.event.event.action = 'some-other-action';
    check(ce, 'action');
    const other = structuredClone(ce);
    other.event.ebpf.kind = other.event.ebpf.kind === 'exit' ? 'fork' : 'exit'; // another categorization, same action
    check(other, 'categorization');
    const m: RuleMatch = { id: 'r', name: 'n', description: 'd', severity: 'high', tags: [], message: 'm', ruleset: 'site', version: '1', action: 'alert' };
    other.verdict = { classification: 'suspicious', matches: [m] };
    check(other, 'kind alert');
    other.verdict = { classification: 'normal', matches: [] };
    check(other, 'kind event again');
    other.event.ebpf.kind = 'loss';
    check(other, 'kind metric');
  }
});

test('issue-14: two variants of one parent (comm on forks, the file name later) alternate, and each follows its own changes', () => {
  const parentMutators: Array<(p: ClassifiedEvent['event']['process']['parent']) => void> = [
    (p) => (p.user = { id: '11', name: 'pu' }),
    (p) => (p.group = { id: '12' }),
    (p) => (p.working_directory = '/pw'),
    (p) => (p.interactive = !p.interactive),
    (p) => (p.tty = { char_device: { major: 136, minor: 3 } }),
    (p) => (p.args = ['x', String(p.args?.length ?? 0)]),
    (p) => (p.command_line = 'x y'),
    (p) => (p.executable = '/bin/pe2'),
    (p) => (p.start = '2026-01-06T00:00:00.000000000Z'),
  ];
  for (const orig of base.slice(0, 12)) {
    const a = structuredClone(orig);
    a.event.process.parent.entity_id = 'two-names';
    a.event.process.parent.name = 'ebpf-sensor-sto';
    const b = structuredClone(a);
    b.event.process.entity_id = 'other-child';
    b.event.process.parent.name = 'ebpf-sensor-storm-1234';
    const c = structuredClone(a);
    c.event.process.parent.name = 'third';
    const check = (ce: ClassifiedEvent, what: string): void => assert.equal(ecsLine(ce, HOST, AGENT), ecsJson(toEcs(ce, HOST, AGENT)), what);
    for (let i = 0; i < 3; i++) {
      check(a, `a ${i}`);
      check(b, `b ${i}`);
    }
    check(c, 'a third variant');
    check(a, 'a after the third');
    check(b, 'b after the third');
    parentMutators.forEach((m, i) => {
      m((i % 2 ? a : b).event.process.parent);
      check(a, `mutator ${i}: a`);
      check(b, `mutator ${i}: b`);
      check(a, `mutator ${i}: a again`);
    });
  }
});
