/**
 * Random hostile classified events for the property tests of the ECS
 * serializer (ecs-serializer-property.test.ts) and of the journal record
 * written from its parts (issue-14-ecs-parts.test.ts).
 *
 * Takes: nothing. Gives: `change` (a fast-check arbitrary of changes to a
 * corpus event: hostile strings — LF, quotes, NUL, U+0085/2028/2029, U+FFFD,
 * lone surrogates (raw kernel bytes), binary — huge argv, alerts with several
 * matches and kills, shared process entities, leaders and capabilities) and
 * `apply` (the classified event a change makes).
 */
import fc from 'fast-check';
import type { ClassifiedEvent, LeaderRef, RuleMatch } from '../../src/model/event.js';
import { corpus } from './normalize-corpus.js';

export const base = corpus();

export const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'bin', '/usr/bin/', 'x y', '0', '1000', 'root', '.so', '-c') },
  {
    weight: 3,
    arbitrary: fc.constantFrom('\n', '\r', '"', '\\', '\t', '\u0000', '\u001f', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '\ufffd', '😀', 'é', '\ud800', '\udfff', '{"a":1}', ',"process":{}'),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((b) => String.fromCharCode(0xdc00 + b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);
export const text = fc.array(piece, { maxLength: 8 }).map((p) => p.join(''));
export const args = fc.oneof({ weight: 5, arbitrary: fc.array(text, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(text, { minLength: 300, maxLength: 700 }) });

/** Changes applied to a corpus event; the entity (0..2) makes events share process fragments. */
export const change = fc.record({
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
  // ebpf.process (cached per entity while its members are the same): values, members present, comm against process.name
  sid: fc.option(fc.nat({ max: 3 }), { nil: undefined }),
  loginuid: fc.option(fc.constantFrom('0', '4294967295', 'x\u2028'), { nil: undefined }),
  isThread: fc.boolean(),
  comm: fc.option(text, { nil: undefined }),
  // The parent's Session View fields (written into the parent's cached text)
  parentUser: fc.option(text, { nil: undefined }),
  parentCwd: fc.option(text, { nil: undefined }),
  parentTty: fc.option(fc.nat({ max: 2 }), { nil: undefined }),
  // Args arrays shared between events and processes (as enrich shares a table entry's), changed in place between events
  sharedArgs: fc.nat({ max: 3 }),
  mutateShared: fc.option(text, { nil: undefined }),
});

const SHARED_ARGS: string[][] = [['/bin/sh', '-c', 'x'], ['a'], ['node', '\u2029', 'y']];

const CAP_SETS = [Object.freeze(['CAP_CHOWN', 'CAP_KILL']), Object.freeze([]), Object.freeze(['CAP_SYS_ADMIN', 'CAP_BPF\u2028'])] as const;

export type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

export function apply(c: Change): ClassifiedEvent {
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
  if (c.sharedArgs > 0) {
    const shared = SHARED_ARGS[c.sharedArgs - 1]!;
    if (c.mutateShared !== undefined) shared[shared.length - 1] = c.mutateShared;
    p.args = shared;
    p.args_count = shared.length;
    p.command_line = shared.join(' ');
    p.parent.args = shared;
  }
  const facts = ce.event.ebpf.process;
  if (facts) {
    if (c.sid !== undefined) facts.sid = c.sid;
    if (c.loginuid !== undefined) facts.loginuid = c.loginuid;
    if (c.isThread) facts.is_thread = true;
    else delete facts.is_thread;
    if (c.comm !== undefined) facts.comm = c.comm;
  }
  if (c.parentUser !== undefined) p.parent.user = { id: c.uid, name: c.parentUser };
  if (c.parentCwd !== undefined) p.parent.working_directory = c.parentCwd;
  if (c.parentTty !== undefined) {
    p.parent.interactive = c.parentTty > 0;
    if (c.parentTty > 0) p.parent.tty = { char_device: { major: 136, minor: c.parentTty } };
    else delete p.parent.tty;
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

