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
