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
import type { ClassifiedEvent, HostInfo, LeaderRef, RuleMatch } from '../../src/model/event.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';

const RUNS = Number(process.env.NORMALIZE_PROPERTY_RUNS ?? 150);
const base = corpus();

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'bin', '/usr/bin/', 'x y', '0', '1000', 'root', '.so', '-c') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('\n', '\r', '"', '\\', '\t', '\u0000', '\u001f', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '😀', 'é', '\ud800', '\udfff', '{"a":1}', ',"process":{}'),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((b) => String.fromCharCode(0xdc00 + b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);
const text = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
const args = fc.oneof({ weight: 5, arbitrary: fc.array(text, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(text, { minLength: 300, maxLength: 700 }) });

/** Changes applied to a corpus event; the entity (0..2) makes events share process fragments. */
const change = fc.record({
  index: fc.nat({ max: base.length - 1 }),
  entity: fc.nat({ max: 2 }),
  parentEntity: fc.nat({ max: 2 }),
  name: fc.option(text, { nil: undefined }),
  exe: fc.option(text, { nil: undefined }),
  args: fc.option(args, { nil: undefined }),
  cwd: fc.option(text, { nil: undefined }),
  userName: fc.option(text, { nil: undefined }),
  uid: fc.constantFrom('0', '1000', '33'),
  suid: fc.constantFrom('0', '1000'),
  parentName: fc.option(text, { nil: undefined }),
  parentArgs: fc.option(args, { nil: undefined }),
  path: fc.option(text, { nil: undefined }),
  action: fc.option(text, { nil: undefined }),
  matches: fc.nat({ max: 3 }),
  kill: fc.boolean(),
  ruleText: text,
  tag: fc.constantFrom('T1059.004', 'T1003.008', 'x', ''),
  exitCode: fc.option(fc.integer({ min: -1, max: 255 }), { nil: undefined }),
  interactive: fc.option(fc.boolean(), { nil: undefined }),
  // Session View: leaders (cached per slot and entity while their values stay), capability lists (frozen: shared per set)
  leaderName: fc.option(text, { nil: undefined }),
  leaderArgs: fc.option(args, { nil: undefined }),
  leaderUserName: fc.option(text, { nil: undefined }),
  leaderIsSelf: fc.boolean(),
  entryType: fc.option(fc.constantFrom('init' as const, 'sshd' as const, 'terminal' as const), { nil: undefined }),
  caps: fc.option(fc.tuple(fc.constantFrom(0, 1, 2), fc.boolean()), { nil: undefined }),
  previousExe: fc.option(text, { nil: undefined }),
  envVars: fc.option(args, { nil: undefined }),
});

const CAP_SETS = [Object.freeze(['CAP_CHOWN', 'CAP_KILL']), Object.freeze([]), Object.freeze(['CAP_SYS_ADMIN', 'CAP_BPF\u2028'])] as const;

type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

function apply(c: Change): ClassifiedEvent {
  const ce = structuredClone(base[c.index]!);
  const p = ce.event.process;
  p.entity_id = `entity-${c.entity}`;
  p.parent.entity_id = `entity-p${c.parentEntity}`;
  if (c.name !== undefined) p.name = c.name;
  if (c.exe !== undefined) p.executable = c.exe;
  if (c.args !== undefined) {
    p.args = c.args;
    p.args_count = c.args.length;
    p.command_line = c.args.join(' ');
  }
  if (c.cwd !== undefined) p.working_directory = c.cwd;
  p.user = c.userName !== undefined ? { id: c.uid, name: c.userName } : { id: c.uid };
  p.saved_user = { id: c.suid };
  if (c.parentName !== undefined) p.parent.name = c.parentName;
  if (c.parentArgs !== undefined) p.parent.args = c.parentArgs;
  if (c.exitCode !== undefined) p.exit_code = c.exitCode;
  if (c.interactive !== undefined) p.interactive = c.interactive;
  if (c.envVars !== undefined) p.env_vars = c.envVars;
  if (c.path !== undefined && ce.event.file) ce.event.file.path = c.path;
  if (c.leaderName !== undefined || c.leaderArgs !== undefined || c.entryType !== undefined) {
    const l: LeaderRef = { pid: c.leaderIsSelf ? p.pid : 7, entity_id: c.leaderIsSelf ? p.entity_id : `leader-${c.entity}` };
    if (c.leaderName !== undefined) l.name = c.leaderName;
    if (c.leaderArgs !== undefined) l.args = c.leaderArgs;
    l.user = c.leaderUserName !== undefined ? { id: c.uid, name: c.leaderUserName } : { id: c.uid };
    p.session_leader = l;
    p.group_leader = { ...l, pid: 8 };
    p.entry_leader = c.entryType !== undefined ? { ...l, entry_meta: { type: c.entryType } } : { pid: 1 };
  }
  if (c.caps !== undefined) {
    const [i, frozen] = c.caps;
    const e = CAP_SETS[i]!;
    const pm = CAP_SETS[(i + 1) % 3]!;
    p.thread.capabilities = frozen ? { effective: e as string[], permitted: pm as string[] } : { effective: e.slice(), permitted: pm.slice() };
  }
  if (c.previousExe !== undefined) p.previous = [{ executable: c.previousExe, ...(c.leaderArgs ? { args: c.leaderArgs } : {}) }];
  if (c.action !== undefined) ce.event.event.action = c.action;
  if (c.matches > 0) {
    const matches: RuleMatch[] = [];
    for (let i = 0; i < c.matches; i++) {
      matches.push({
        id: `${c.ruleText}-${i}`,
        name: c.ruleText,
        description: 'd',
        severity: (['low', 'medium', 'high', 'critical'] as const)[i]!,
        tags: [c.tag, 'T1059.004'],
        message: `${c.ruleText} by ${p.name}`,
        ruleset: 'site',
        version: '1',
        action: c.kill && i === 0 ? 'kill' : 'alert',
        ...(c.kill && i === 0 ? { kill: { pid: p.pid, signal: 'SIGKILL' as const, result: 'killed' as const, by: 'user' as const, delay_ms: 3 } } : {}),
      });
    }
    ce.verdict = { classification: 'suspicious', matches };
  }
  return ce;
}

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
