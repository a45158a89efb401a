// issue-14: processFits (journal/compact-record.ts) walks the objects events
// share — named users, leaders, capability lists, all frozen — once, and then
// trusts its verdict on them; nothing else is trusted. Counting proxies show a
// frozen object's members are read on the first events only (it is proven
// settled the second time it fits, a leader once its users are); each way an
// object could still change (not frozen, a getter, an unfrozen user or
// entry_meta inside a frozen leader, a leader's unfrozen args, a short list)
// is changed alone and must be seen on the next call; and on random events
// with random parts frozen and random defects, the verdict equals the one on
// an unfrozen copy (which nothing is cached for).
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { processFits } from '../../src/journal/compact-record.js';
import type { LeaderRef, ProcessInfo, UserRef } from '../../src/model/event.js';
import { corpus } from '../helpers/normalize-corpus.js';

const RUNS = Number(process.env.JOURNAL_PROPERTY_RUNS ?? 200);

/** A process that fits, its own objects all fresh (nothing frozen, nothing cached). */
let template: ProcessInfo | undefined;
function fitting(): ProcessInfo {
  if (template === undefined) {
    const ce = corpus().find((c) => processFits(structuredClone(c.event.process)));
    assert.ok(ce, 'no corpus process fits');
    template = structuredClone(ce.event.process);
  }
  return structuredClone(template);
}

/** A proxy over `target` counting reads of members (and key listings) other than `except`. */
function counted<T extends object>(target: T, except: ReadonlySet<string> = new Set()): { proxy: T; reads: () => number } {
  let n = 0;
  const proxy = new Proxy(target, {
    get(t, k, r) {
      if (typeof k === 'string' && !except.has(k)) n++;
      return Reflect.get(t, k, r);
    },
    ownKeys(t) {
      n++;
      return Reflect.ownKeys(t);
    },
  });
  return { proxy, reads: () => n };
}

/** Fits three times: an object trusted at all is trusted by then. */
function thrice(p: () => ProcessInfo): void {
  for (let i = 0; i < 3; i++) assert.equal(processFits(p()), true);
}

const longList = (tag: string): string[] => Array.from({ length: 12 }, (_, i) => `CAP_${tag}_${i}`);

test('issue-14: frozen users, leaders and long capability lists are walked on the first events only', () => {
  const user = counted(Object.freeze({ id: '1000', name: 'u-once' }));
  const group = counted(Object.freeze({ id: '1000', name: 'g-once' }));
  const lu = counted(Object.freeze({ id: '0', name: 'root-once' }));
  const meta = counted(Object.freeze({ type: 'sshd' as const }));
  const args = ['sshd', '-D'];
  const leader = counted(
    Object.freeze({
      pid: 7,
      entity_id: 'lead-once',
      name: 'sshd',
      args,
      user: lu.proxy,
      group: lu.proxy,
      entry_meta: meta.proxy,
    }) as LeaderRef,
    new Set(['args']),
  );
  const effective = counted(Object.freeze(longList('E')), new Set(['length']));
  const permitted = counted(Object.freeze(longList('P')), new Set(['length']));
  const event = (): ProcessInfo => {
    const p = fitting();
    p.user = user.proxy;
    p.real_user = user.proxy;
    p.saved_user = user.proxy;
    p.group = group.proxy;
    p.real_group = group.proxy;
    p.saved_group = group.proxy;
    p.session_leader = leader.proxy;
    p.entry_leader = leader.proxy;
    p.thread.capabilities = {
      effective: effective.proxy as string[],
      permitted: permitted.proxy as string[],
    };
    return p;
  };
  // A user is kept the second time it fits, a leader once its users are: three events.
  for (let i = 0; i < 3; i++) assert.equal(processFits(event()), true);
  const all = [user, group, lu, meta, leader, effective, permitted];
  assert.ok(
    all.every((c) => c.reads() > 0),
    'the first events read each shared object',
  );
  const after = all.map((c) => c.reads());
  // The next events hold the same objects: only the process's own members (and the leader's args list) are read.
  // A user's id is still compared with its saved one's (a per-process fact).
  for (let i = 0; i < 3; i++) assert.equal(processFits(event()), true);
  const readsOf = (c: { reads: () => number }, i: number): number => c.reads() - after[i]!;
  assert.equal(readsOf(lu, 2), 0, 'leader user walked again');
  assert.equal(readsOf(meta, 3), 0, 'entry_meta walked again');
  assert.equal(readsOf(leader, 4), 0, 'leader walked again');
  assert.equal(readsOf(effective, 5), 0, 'effective capability list walked again');
  assert.equal(readsOf(permitted, 6), 0, 'permitted capability list walked again');
  // user and group: read for the saved-id compare only (id, name), not walked (no key listing).
  assert.ok(readsOf(user, 0) <= 3 * 4 && readsOf(group, 1) <= 3 * 4, `users walked again: ${readsOf(user, 0)}, ${readsOf(group, 1)}`);
});

test('issue-14: what could still change is checked again on every event (each change alone)', () => {
  // A user not frozen: trusted once, then named by a number.
  {
    const u: UserRef = { id: '5', name: 'five' };
    const p = (): ProcessInfo => Object.assign(fitting(), { user: u, saved_user: { ...u } });
    thrice(p);
    (u as { name: unknown }).name = 5;
    assert.equal(processFits(p()), false, 'an unfrozen user was trusted');
  }
  // A frozen user whose name is a getter: its answer may change.
  {
    let good = true;
    const u = Object.freeze({
      id: '6',
      get name(): unknown {
        return good ? 'six' : 6;
      },
    }) as UserRef;
    const p = (): ProcessInfo => Object.assign(fitting(), { real_user: u });
    thrice(p);
    good = false;
    assert.equal(processFits(p()), false, 'a frozen user with a getter was trusted');
  }
  // A frozen user whose id is a getter that for-in does not list (not enumerable): still read by processFits.
  {
    let good = true;
    const u = Object.freeze(
      Object.defineProperty({ name: 'seven' }, 'id', {
        get: (): unknown => (good ? '7' : 7),
        enumerable: false,
      }),
    ) as unknown as UserRef;
    const p = (): ProcessInfo => Object.assign(fitting(), { real_group: u });
    thrice(p);
    good = false;
    assert.equal(processFits(p()), false, 'a frozen user with a hidden getter was trusted');
  }
  // A frozen leader: its args list (shared, not frozen) changed in place.
  {
    const args = ['bash', '-l'];
    const l = Object.freeze({
      pid: 9,
      entity_id: 'lead-args',
      name: 'bash',
      args,
    }) as LeaderRef;
    const p = (): ProcessInfo => Object.assign(fitting(), { session_leader: l });
    thrice(p);
    (args as unknown[]).push(7);
    assert.equal(processFits(p()), false, 'a frozen leader hid a non-string arg');
    args.length = 0;
    assert.equal(processFits(p()), false, 'a frozen leader hid an empty argv (not written by ECS)');
    args.push('bash');
    thrice(p);
  }
  // A frozen leader whose user is not frozen: the leader is not trusted either.
  {
    const lu: UserRef = { id: '0', name: 'root' };
    const l = Object.freeze({
      pid: 10,
      entity_id: 'lead-user',
      name: 'sh',
      user: lu,
    }) as LeaderRef;
    const p = (): ProcessInfo => Object.assign(fitting(), { group_leader: l });
    thrice(p);
    (lu as unknown as Record<string, unknown>).home = '/root';
    assert.equal(processFits(p()), false, 'a frozen leader with an unfrozen user was trusted');
  }
  // A frozen leader whose entry_meta is not frozen.
  {
    const meta = { type: 'init' as const };
    const l = Object.freeze({
      pid: 1,
      entity_id: 'lead-meta',
      name: 'init',
      entry_meta: meta,
    }) as LeaderRef;
    const p = (): ProcessInfo => Object.assign(fitting(), { entry_leader: l });
    thrice(p);
    (meta as Record<string, unknown>).since = 'boot';
    assert.equal(processFits(p()), false, 'a frozen leader with an unfrozen entry_meta was trusted');
  }
  // A leader not frozen, changed in place.
  {
    const l: LeaderRef = { pid: 11, entity_id: 'lead-open', name: 'sh' };
    const p = (): ProcessInfo => Object.assign(fitting(), { session_leader: l });
    thrice(p);
    (l as unknown as Record<string, unknown>).note = 'x';
    assert.equal(processFits(p()), false, 'an unfrozen leader was trusted');
  }
  // Capability lists: a long unfrozen one, a frozen one with a getter element.
  {
    const eff = longList('X');
    const p = (): ProcessInfo => {
      const q = fitting();
      q.thread.capabilities = { effective: eff, permitted: [] };
      return q;
    };
    thrice(p);
    (eff as unknown[])[3] = 3;
    assert.equal(processFits(p()), false, 'an unfrozen capability list was trusted');
    let good = true;
    const odd = longList('Y');
    Object.defineProperty(odd, 5, {
      get: () => (good ? 'CAP_Y_5' : 5),
      enumerable: true,
    });
    Object.freeze(odd);
    const r = (): ProcessInfo => {
      const q = fitting();
      q.thread.capabilities = { effective: odd, permitted: [] };
      return q;
    };
    thrice(r);
    good = false;
    assert.equal(processFits(r()), false, 'a frozen list with a getter was trusted');
  }
});

type Part = 'user' | 'real_group' | 'saved_user' | 'leader' | 'leaderUser' | 'meta' | 'caps' | 'args';
const PARTS: Part[] = ['user', 'real_group', 'saved_user', 'leader', 'leaderUser', 'meta', 'caps', 'args'];
const DEFECTS = ['none', 'extra', 'number', 'emptyArgs'] as const;

/** The shared objects of one random process: each frozen or not. */
interface Shared {
  user: UserRef;
  realGroup: UserRef;
  savedUser: UserRef;
  leaderUser: UserRef;
  meta: Record<string, unknown>;
  args: unknown[];
  caps: unknown[];
  leader: LeaderRef;
}

function shared(frozen: ReadonlySet<Part>, names: { user: string; leader: string }): Shared {
  const f = <T extends object>(part: Part, o: T): T => (frozen.has(part) ? Object.freeze(o) : o);
  const user = f('user', { id: '42', name: names.user });
  const leaderUser = f('leaderUser', { id: '0', name: 'root' });
  const meta = f('meta', { type: 'sshd' });
  const args = f('args', ['sshd', names.leader]);
  const caps = f('caps', longList(names.leader.length % 2 ? 'A' : 'B'));
  const leader = f('leader', {
    pid: 3,
    entity_id: 'rand-lead',
    name: names.leader,
    args,
    user: leaderUser,
    group: leaderUser,
    entry_meta: meta,
  } as unknown as LeaderRef);
  return {
    user,
    realGroup: f('real_group', { id: '42', name: 'g' }),
    savedUser: f('saved_user', { id: '42', name: names.user }),
    leaderUser,
    meta,
    args,
    caps,
    leader,
  };
}

function processOf(s: Shared): ProcessInfo {
  const p = fitting();
  p.user = s.user;
  p.real_group = s.realGroup;
  p.saved_user = s.savedUser;
  p.session_leader = s.leader;
  p.thread.capabilities = {
    effective: s.caps as string[],
    permitted: s.caps as string[],
  };
  return p;
}

/** Damage one part in place, if it can be (a frozen one cannot). */
function damage(s: Shared, part: Part, defect: (typeof DEFECTS)[number]): void {
  const target: Record<Part, object> = {
    user: s.user,
    real_group: s.realGroup,
    saved_user: s.savedUser,
    leader: s.leader,
    leaderUser: s.leaderUser,
    meta: s.meta,
    caps: s.caps,
    args: s.args,
  };
  const o = target[part] as Record<string | number, unknown>;
  if (Object.isFrozen(o) || defect === 'none') return;
  if (defect === 'extra') {
    if (Array.isArray(o)) o.push(1);
    else o.extra = 'x';
  } else if (defect === 'number') {
    if (Array.isArray(o)) o[0] = 0;
    else if ('name' in o) o.name = 1;
    else if ('type' in o) o.type = 1;
  } else if (Array.isArray(o)) o.length = 0;
}

test('issue-14: on random processes with random parts frozen and random damage, the verdict is the one on an unfrozen copy', () => {
  const arb = fc.record({
    frozen: fc.subarray(PARTS),
    names: fc.record({
      user: fc.constantFrom('alice', 'bob'),
      leader: fc.constantFrom('-D', '-i', ''),
    }),
    steps: fc.array(
      fc.record({
        part: fc.constantFrom(...PARTS),
        defect: fc.constantFrom(...DEFECTS),
      }),
      { maxLength: 4 },
    ),
  });
  const d = fc.check(
    fc.property(arb, ({ frozen, names, steps }) => {
      const s = shared(new Set(frozen), names);
      const check = (): void => {
        const p = processOf(s);
        const want = processFits(structuredClone(p));
        assert.equal(processFits(p), want);
        for (let i = 0; i < 2; i++) assert.equal(processFits(processOf(s)), want); // again, from whatever was kept
      };
      check();
      for (const st of steps) {
        damage(s, st.part, st.defect);
        check();
      }
    }),
    { numRuns: RUNS },
  );
  if (d.failed) assert.fail(`seed ${d.seed}, path ${d.counterexamplePath}: ${(d.errorInstance as Error)?.message}`);
});
