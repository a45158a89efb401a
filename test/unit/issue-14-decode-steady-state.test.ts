// issue-14: a record family decodeRecord has not met since V8 optimized it
// does not deoptimize it. In the live storms `--trace-deopt` showed
// decodeRecord (≈ 100 ms of TurboFan each time, on Node's background
// threads) thrown away again and again as the host produced a kind not seen
// since the last compile ("Insufficient type feedback for call" at a switch
// case); the family decoders are now called from one call site through a
// table, which goes megamorphic and stays so.
//
// The probe runs in its own node with --allow-natives-syntax (V8's own
// optimization status, no timing) and --single-threaded: with TurboFan and
// the GC on background threads, a loaded machine changed when callees were
// compiled and the probe saw a deopt 1 run in 10 that was not the one asked
// about; on one thread it is the same every run (60/60 under load, and the
// switch-dispatch decodeRecord still fails it every time): optimize decodeRecord on six families,
// then decode families it never met (other decoders: ptrace, bind, setns,
// symlink) and read the status after each. The event-id suffixes are cached
// first, so only the family decoders' call is new for an unmet family.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runV8Probe } from '../helpers/v8-probe.js';

const PROBE = `
const root = process.argv[2];
const { decodeRecord, idSuffix } = await import(root + 'dist/src/decode/decode.js');
const { buildRecord } = await import(root + 'dist/test/helpers/record-builder.js');
const { EventType } = await import(root + 'dist/src/decode/abi.generated.js');
const ctx = { bootToRealtimeNs: 0n, bootIdPrefix: 'abcdef01', sequence: 0 };
const mk = (type, strs) => buildRecord({ type, pid: 100, tid: 100, startNs: 5000000000n, parentStartNs: 1000000000n, comm: 'x', strs });
const met = [mk(EventType.SE_EV_FORK), mk(EventType.SE_EV_EXIT), mk(EventType.SE_EV_EXEC, ['/bin/true', 'true\\0', '/', '/usr/bin/true']),
  mk(EventType.SE_EV_OPEN, ['/etc/passwd']), mk(EventType.SE_EV_UNLINK, ['/tmp/x']), mk(EventType.SE_EV_CONNECT)];
const unmet = ['SE_EV_PTRACE', 'SE_EV_BIND', 'SE_EV_SETNS', 'SE_EV_SYMLINK'].map((t) => [t, mk(EventType[t], ['/tmp/y', '/tmp/z'])]);
const one = (r) => decodeRecord(r, 0, r.length, ctx);
// The event-id suffix of every (tid, type) pair is cached before decodeRecord is optimized: the
// cache's miss path is not what this probe asks about (on a loaded machine V8 may have allocated
// decodeRecord's feedback only after the warm-up's misses, and the first unmet type then deopted it
// there, "insufficient type feedback" in the inlined idSuffix).
for (const t of Object.values(EventType)) if (typeof t === 'number') idSuffix(100, t);
const optimized = () => (%GetOptimizationStatus(decodeRecord) & 16) !== 0;
%PrepareFunctionForOptimization(decodeRecord);
for (let i = 0; i < 2000; i++) for (const r of met) one(r);
%OptimizeFunctionOnNextCall(decodeRecord);
one(met[0]);
%FinalizeOptimization();
console.log('met ' + optimized());
for (const [t, r] of unmet) { one(r); console.log(t + ' ' + optimized()); }
`;

test('issue-14-decode-steady-state: a family decodeRecord has not met does not deoptimize it', (t) => {
  const { answers: status, stdout } = runV8Probe(t, PROBE);
  // Optimized at all, or the test proves nothing.
  assert.equal(status.met, 'true', stdout);
  assert.deepEqual(status, { met: 'true', SE_EV_PTRACE: 'true', SE_EV_BIND: 'true', SE_EV_SETNS: 'true', SE_EV_SYMLINK: 'true' }, stdout);
});
