// issue-14: every process table entry has one V8 hidden class, however it
// was made (seeded from /proc, fork, exec, met acting) and whatever was
// added to it later (exit, leader objects). Entries built with only the
// fields each way knew had dozens of classes, and enrich, fillSession's
// leaders, markExited and expire were deoptimized ("wrong map") and
// recompiled again and again in steady-state storms.
//
// The probe runs in its own node with --allow-natives-syntax (%HaveSameMap:
// V8's own answer, no timing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runV8Probe } from '../helpers/v8-probe.js';

const PROBE = `
const root = process.argv[2];
const { decodeRecord } = await import(root + 'dist/src/decode/decode.js');
const { Enricher } = await import(root + 'dist/src/enrich/enrich.js');
const { buildRecord } = await import(root + 'dist/test/helpers/record-builder.js');
const { EventType } = await import(root + 'dist/src/decode/abi.generated.js');
const { ForkArg } = await import(root + 'dist/src/decode/slots.js');
const ctx = { bootToRealtimeNs: 0n, bootIdPrefix: 'abcdef01', sequence: 0 };
const ev = (s) => { const r = buildRecord({ comm: 'x', tsNs: 9000000000n, ...s }); return decodeRecord(r, 0, r.length, ctx); };
const en = new Enricher({ hostId: 'h', seedFromProc: true, resolveContainers: false, resolveNames: false });
const t = en.table;
const entries = { seeded: t.peek(process.pid) };
const args = [];
args[ForkArg.childPid] = 4242;
args[ForkArg.childTid] = 4242;
args[ForkArg.childStartNs] = 5000000000n;
en.enrich(ev({ type: EventType.SE_EV_FORK, pid: process.pid, tid: process.pid, ppid: 1, startNs: 1000000000n, args: Array.from(args, (a) => a ?? 0) }));
entries.forked = t.peek(4242);
en.enrich(ev({ type: EventType.SE_EV_EXEC, pid: 4343, tid: 4343, ppid: process.pid, startNs: 6000000000n, strs: ['/bin/true', 'true\\0', '/', '/usr/bin/true'] }));
entries.execed = t.peek(4343);
en.enrich(ev({ type: EventType.SE_EV_OPEN, pid: 4444, tid: 4444, ppid: 1, startNs: 7000000000n, strs: ['/etc/passwd'] }));
entries.met = t.peek(4444);
en.enrich(ev({ type: EventType.SE_EV_EXIT, pid: 4242, tid: 4242, ppid: process.pid, startNs: 5000000000n }));
entries.exited = t.peek(4242);
for (const [k, e] of Object.entries(entries)) {
  if (!e) { console.log(k + ' missing'); continue; }
  console.log(k + ' ' + %HaveSameMap(e, entries.seeded));
}
`;

test('issue-14-entry-shape: process table entries share one hidden class however they were made', (t) => {
  const { answers: same, stdout } = runV8Probe(t, PROBE);
  assert.deepEqual(same, { seeded: 'true', forked: 'true', execed: 'true', met: 'true', exited: 'true' }, stdout);
});

/** The two probes below start alike: a table, a task context maker `c`, and pid 1 forked. */
const TABLE_PREAMBLE = `
const root = process.argv[2];
const { ProcessTable } = await import(root + 'dist/src/enrich/process-table.js');
const { forkEntry } = await import(root + 'dist/src/enrich/enrich.js');
const t = new ProcessTable({ hostId: 'h', maxEntries: 1 << 20, exitGraceMs: 10000 });
const c = (pid, ppid) => ({ uid: '0', gid: '0', sid: 1, pgid: 1, tty: 0, pid, ticks: pid, ppid, parentTicks: undefined, start: '2026-12-08T00:00:00.000Z' });
forkEntry(t, c(1, 0), 'init');
`;

// issue-14: a rare rewrite of an entry's field does not throw away the
// optimized code that makes and reads entries. V8 keeps per field whether it
// was ever rewritten (and what it has held); the first comm rename (prctl
// rewrites `name`), the first exec in a fork storm (`cgroupId`), … deoptimized
// enrich, forkEntry, taskContext and fillSession at once in a warm sensor
// (`--log-deopt`: "dependency-change"), and TurboFan compiled them again on
// Node's background threads. forkEntry is optimized on forks, then each field
// a rare event rewrites is rewritten on one entry, the status read after each.
const REWRITE_PROBE = `
${TABLE_PREAMBLE}const optimized = () => (%GetOptimizationStatus(forkEntry) & 16) !== 0;
%PrepareFunctionForOptimization(forkEntry);
for (let i = 2; i < 3000; i++) forkEntry(t, c(i, 1), 'x');
%OptimizeFunctionOnNextCall(forkEntry);
forkEntry(t, c(3000, 1), 'x');
console.log('optimized ' + optimized());
const e = t.peek(2);
for (const [k, v] of [['name', 'renamed'], ['cgroupId', '4242'], ['ppid', 1], ['pgid', 7], ['executable', '/bin/sh'], ['exited', true]]) {
  e[k] = v;
  console.log(k + ' ' + optimized());
}
`;

test('issue-14-entry-shape: rewriting a field of one entry (prctl rename, exec cgroup) keeps forkEntry optimized', (t) => {
  const { answers: status, stdout } = runV8Probe(t, REWRITE_PROBE);
  // Optimized at all, or the test proves nothing.
  assert.equal(status.optimized, 'true', stdout);
  assert.deepEqual(status, { optimized: 'true', name: 'true', cgroupId: 'true', ppid: 'true', pgid: 'true', executable: 'true', exited: 'true' }, stdout);
});

// issue-14: the table's first expiry (10 s into a storm: the exit queue's
// head rewritten for the first time) does not deoptimize the code compiled
// against the table; on main it did ("dependency-change" of expire in the
// live fork storm's V8 log). A reader of the queue is optimized while no exit
// has expired, then the first expiry and the first compaction happen.
const TABLE_PROBE = `
${TABLE_PREAMBLE}for (let pid = 2; pid < 6000; pid++) { forkEntry(t, c(pid, 1), 'x'); t.markExited(pid, pid, 1000 + pid); }
function pending() { return t.pendingExits; }
const optimized = () => (%GetOptimizationStatus(pending) & 16) !== 0;
%PrepareFunctionForOptimization(pending);
for (let i = 0; i < 100; i++) pending();
%OptimizeFunctionOnNextCall(pending);
pending();
console.log('optimized ' + optimized());
t.expire(1000 + 5000 + 10001);
console.log('expired ' + optimized());
console.log('pendingAfterExpiry ' + pending());
t.expire(1e12);
console.log('compacted ' + optimized());
console.log('pendingAfterCompaction ' + pending());
`;

test('issue-14-entry-shape: the process table\'s first expiry keeps the code reading its exit queue optimized', (t) => {
  const { answers: status, stdout } = runV8Probe(t, TABLE_PROBE);
  assert.equal(status.optimized, 'true', stdout);
  assert.deepEqual(status, { optimized: 'true', expired: 'true', pendingAfterExpiry: '999', compacted: 'true', pendingAfterCompaction: '0' }, stdout);
});
