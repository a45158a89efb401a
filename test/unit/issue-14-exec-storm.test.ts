// issue-14: an exec's image is decoded, enriched and written without redoing
// what an earlier exec of the same command did — one args array and command
// line per distinct argv (decode/exec-args.ts), the entity id kept across an
// exec, the `process.previous` text reused while the image left is the same —
// and every one of those gives exactly what it gave before: other argv bytes
// (a prefix, another split, non-UTF-8, a long one) get their own arguments,
// and a new previous image gets its own text.
import test from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, type DecodeContext } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import { decodeRaw } from '../../src/model/raw-text.js';
import { Enricher } from '../../src/enrich/enrich.js';
import { entityId } from '../../src/enrich/process-table.js';
import { toEcs, ecsJson } from '../../src/normalize/ecs/ecs.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import type { ClassifiedEvent, SensorEvent, Verdict } from '../../src/model/event.js';
import { buildRecord } from '../helpers/record-builder.js';
import { HOST, AGENT } from '../helpers/normalize-corpus.js';

const ctx = (): DecodeContext => ({ bootToRealtimeNs: 1_700_000_000_000_000_000n, bootIdPrefix: 'abcd0123', sequence: 0 });
const TICK = 10_000_000n;
const NORMAL = { classification: 'normal', matches: [] } as unknown as Verdict;

function exec(argv: string | Buffer, o: { pid?: number; startNs?: bigint; exe?: string } = {}): SensorEvent {
  const exe = o.exe ?? '/usr/bin/true';
  const r = buildRecord({
    type: EventType.SE_EV_EXEC,
    pid: o.pid ?? 300,
    ppid: 200,
    startNs: o.startNs ?? 700n * TICK,
    parentStartNs: 600n * TICK,
    comm: 'true',
    args: [0, -100, 0, 0, 0, Syscall.SE_SC_EXECVE],
    strs: [exe, argv, '/srv', exe],
  });
  return decodeRecord(r, 0, r.length, ctx());
}

/** What decode gave before: each NUL-terminated argument decoded on its own, a new array. */
function reference(argv: Buffer): string[] {
  const out: string[] = [];
  let s = 0;
  while (s < argv.length) {
    let e = s;
    while (e < argv.length && argv[e] !== 0) e++;
    out.push(decodeRaw(argv, s, e));
    s = e + 1;
  }
  return out;
}

test('issue-14: execs of the same argv share one frozen args array and command line; other argv bytes get their own', () => {
  const a = exec('/bin/sh\0-c\0echo hi\0');
  const b = exec('/bin/sh\0-c\0echo hi\0', { pid: 301 });
  assert.deepEqual(a.process.args, ['/bin/sh', '-c', 'echo hi']);
  assert.equal(a.process.command_line, '/bin/sh -c echo hi');
  assert.equal(b.process.args, a.process.args, 'the same array');
  assert.equal(b.process.command_line, a.process.command_line);
  assert.equal(b.process.args_count, 3);
  assert.ok(Object.isFrozen(a.process.args));
  assert.throws(() => (a.process.args as string[]).push('x'), TypeError, 'a shared array cannot be edited');
  // the same characters split otherwise, a prefix, non-UTF-8 bytes, an empty argument, a long argv
  const cases: Buffer[] = [
    Buffer.from('/bin/sh\0-c echo\0hi\0'),
    Buffer.from('/bin/sh\0-c\0'),
    Buffer.from('/bin/sh\0-c\0echo hi\0extra\0'),
    Buffer.concat([Buffer.from('cat\0'), Buffer.from([0x66, 0xff, 0xfe, 0x00]), Buffer.from('\u00e9t\u00e9\0')]),
    Buffer.from('env\0\0X=1\0'),
    Buffer.from(`python3\0${'a'.repeat(1500)}\0`),
  ];
  for (let round = 0; round < 2; round++) {
    for (const argv of cases) {
      const e = exec(argv);
      const want = reference(argv);
      assert.deepEqual(e.process.args, want, JSON.stringify(argv.toString('latin1')));
      assert.equal(e.process.command_line, want.join(' '));
      assert.notEqual(e.process.args, a.process.args);
    }
  }
  // non-UTF-8 bytes stay lone surrogates (raw-text.ts), shared or not
  assert.equal(exec(cases[3]!).process.args![1], 'f\udcff\udcfe');
});

test('issue-14: an exec keeps the entity id of its process; its exit names the exec command line', () => {
  const en = new Enricher({ hostId: 'host-x', seedFromProc: false, resolveContainers: false, resolveNames: false });
  const fork = buildRecord({ type: EventType.SE_EV_FORK, pid: 200, ppid: 1, startNs: 600n * TICK, parentStartNs: 1n * TICK, comm: 'sh', args: [300, 300, 700n * TICK] });
  const f = decodeRecord(fork, 0, fork.length, ctx());
  en.enrich(f);
  const x = exec('/bin/true\0--version\0');
  en.enrich(x);
  assert.equal(x.process.entity_id, f.process.entity_id);
  assert.equal(x.process.entity_id, entityId('host-x', 300, 700));
  assert.deepEqual(x.process.previous, undefined, 'the fork left no image (the parent had none)');
  const exitRec = buildRecord({ type: EventType.SE_EV_EXIT, pid: 300, ppid: 200, startNs: 700n * TICK, parentStartNs: 600n * TICK, comm: 'true', args: [0, 0] });
  const y = decodeRecord(exitRec, 0, exitRec.length, ctx());
  en.enrich(y);
  assert.equal(y.process.entity_id, x.process.entity_id);
  assert.equal(y.process.args, x.process.args);
  assert.equal(y.process.command_line, '/bin/true --version');
  // a second exec of the same process: previous is the first image
  const z = exec('/bin/echo\0', { exe: '/usr/bin/echo' });
  en.enrich(z);
  assert.equal(z.process.entity_id, x.process.entity_id);
  assert.deepEqual(z.process.previous, [{ executable: '/usr/bin/true', args: ['/bin/true', '--version'] }]);
});

function withPrevious(executable: string | undefined, args: string[] | undefined): ClassifiedEvent {
  const e = exec('/bin/true\0');
  e.process.entity_id = 'exec-prev';
  e.process.previous = [{ ...(executable !== undefined ? { executable } : {}), ...(args !== undefined ? { args } : {}) }];
  return { event: e, verdict: NORMAL };
}

test('issue-14: process.previous written once per image left, and again when that image changes', () => {
  const check = (ce: ClassifiedEvent, why: string): void => {
    const got = ecsLine(ce, HOST, AGENT);
    assert.equal(got, ecsJson(toEcs(ce, HOST, AGENT)), why);
    assert.ok(got.includes(',"previous":{'), why);
  };
  const args = ['/opt/storm', 'exec', '3000'];
  check(withPrevious('/opt/storm', args), 'first');
  check(withPrevious('/opt/storm', args), 'again, the same array');
  check(withPrevious('/opt/storm', ['/opt/storm', 'exec', '3000']), 'an equal array');
  check(withPrevious('/opt/other', args), 'another executable, the same args array');
  args[2] = '4000';
  check(withPrevious('/opt/other', args), 'the same array changed in place');
  check(withPrevious('/opt/other', ['/opt/storm', 'exec']), 'fewer args');
  check(withPrevious('/opt/other', undefined), 'no args');
  check(withPrevious('/opt/other', []), 'empty args');
  check(withPrevious(undefined, args), 'no executable');
  check(withPrevious('/opt/wei\u2028rd"', args), 'a string that needs escaping');
  // raw bytes: the reference builder writes the line, and nothing of it is cached
  check(withPrevious('/opt/raw\udcff', args), 'raw bytes');
  check(withPrevious('/opt/other', args), 'back after raw bytes');
});
