// Live kernel, issue 17 point 1: operations submitted through an io_uring
// ring (never a syscall tracepoint) are the same events as their syscalls,
// with kernel-resolved paths, the outcome, the ring owner's context and the
// opcode; SQPOLL's kernel thread is attributed to the process owning the ring.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, writeFileSync, existsSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelSource } from '../../src/sources/kernel/kernel-source.js';
import { OPEN_FILTER } from '../../src/sources/kernel/filter-maps.js';
import { decodeChunk, type DecodeContext } from '../../src/decode/decode.js';
import type { SensorEvent } from '../../src/model/event.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { skipReason, trigger, triggerBinary, type TriggerResult } from './harness.js';

const skip = skipReason();

describe('io_uring operations are events like their syscalls', { skip }, () => {
  let dir: string;
  let src: KernelSource;
  const events: SensorEvent[] = [];
  const ctx: DecodeContext = { bootToRealtimeNs: 0n, bootIdPrefix: 'test0000', sequence: 0 };
  const stats = { records: 0, errors: 0 };

  before(async () => {
    createLogger({ level: 'warn' });
    triggerBinary();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-iou-')));
    src = new KernelSource({}, OPEN_FILTER);
    await src.start((b) => {
      if (b.kind === 'frames') decodeChunk(b.chunk, b.used, ctx, events, stats);
    });
  });
  after(async () => {
    await src?.stop();
  });

  /** Run the trigger op and wait for its exit: every record of it is decoded then. */
  async function run(...args: string[]): Promise<{ r: TriggerResult; evs: SensorEvent[] }> {
    const r = trigger(...args);
    const deadline = Date.now() + 15000;
    while (!events.some((e) => e.process.pid === r.pid && e.ebpf.kind === 'exit')) {
      if (Date.now() > deadline) throw new Error(`no exit of ${r.pid} within 15 s`);
      await new Promise((res) => setTimeout(res, 20));
    }
    return { r, evs: events.filter((e) => e.process.pid === r.pid) };
  }

  const ofOp = (evs: SensorEvent[], operation: string): SensorEvent[] => evs.filter((e) => e.ebpf.io_uring?.operation === operation);

  for (const mode of ['inline', 'sqpoll'] as const) {
    const extra = mode === 'sqpoll' ? ['sqpoll'] : [];

    test(`${mode}: ring creation, then OPENAT for writing of a file: an open event with the resolved path, the owner's pid and comm, the opcode`, async () => {
      const target = join(dir, `${mode}-written.conf`);
      const { r, evs } = await run('iou-openat', target, '1101', ...extra);
      assert.ok(r.ret >= 0, `the open through the ring worked: ${JSON.stringify(r)}`);
      const setup = evs.filter((e) => e.ebpf.kind === 'io_uring_setup');
      assert.equal(setup.length, 1, 'ring creation is an event');
      assert.equal(setup[0]!.ebpf.io_uring?.setup?.flag_names.includes('SQPOLL'), mode === 'sqpoll');
      const opens = ofOp(evs, 'IORING_OP_OPENAT');
      assert.equal(opens.length, 1, `one open through the ring: ${JSON.stringify(evs.map((e) => [e.ebpf.kind, e.file?.path]))}`);
      const o = opens[0]!;
      assert.equal(o.ebpf.kind, 'open');
      assert.equal(o.ebpf.syscall, 'openat', 'the same action as the syscall');
      assert.equal(o.file?.path, target);
      assert.equal(o.event.outcome, 'success');
      assert.deepEqual([...(o.ebpf.open?.intent ?? [])].sort(), ['create', 'truncate', 'write']);
      assert.equal(o.ebpf.io_uring?.opcode, 18);
      assert.equal(o.ebpf.path_source, 'file', 'resolved from the opened file');
      assert.equal(o.process.pid, r.pid, 'attributed to the process owning the ring');
      assert.equal(o.process.thread?.id, r.pid, "the owner's leader, not the SQPOLL / io-wq thread");
      assert.doesNotMatch(o.process.name ?? '', /^iou-/, "the owner's comm, not iou-sqp-N / iou-wrk-N");
    });

    test(`${mode}: a failed OPENAT is a failure with the caller's path`, async () => {
      const missing = join(dir, 'no-such-dir', 'x');
      const { r, evs } = await run('iou-openat', missing, '0', ...extra);
      assert.equal(r.errno, 2);
      const o = ofOp(evs, 'IORING_OP_OPENAT');
      assert.equal(o.length, 1);
      assert.equal(o[0]!.event.outcome, 'failure');
      assert.equal(o[0]!.ebpf.error, 'ENOENT');
      assert.equal(o[0]!.file?.path, missing);
    });
  }

  for (const mode of ['inline', 'sqpoll'] as const) {
    test(`${mode}: CONNECT and ACCEPT through a ring: connection events with both endpoints, flagged with their opcodes`, async () => {
      const { r, evs } = await run('iou-tcp', ...(mode === 'sqpoll' ? ['sqpoll'] : []));
      assert.equal(r.connect_ret, 0, JSON.stringify(r));
      assert.ok(r.ret >= 0, `accept worked: ${JSON.stringify(r)}`);
      const c = ofOp(evs, 'IORING_OP_CONNECT');
      assert.equal(c.length, 1, JSON.stringify(evs.map((e) => [e.ebpf.kind, e.ebpf.io_uring])));
      assert.equal(c[0]!.ebpf.kind, 'connect');
      assert.equal(c[0]!.event.outcome, 'success');
      assert.equal(c[0]!.destination?.port, r.port);
      assert.equal(c[0]!.destination?.ip, '127.0.0.1');
      assert.equal(c[0]!.source?.port, r.client_port);
      assert.equal(c[0]!.process.pid, r.pid);
      const a = ofOp(evs, 'IORING_OP_ACCEPT');
      assert.equal(a.length, 1);
      assert.equal(a[0]!.ebpf.kind, 'accept');
      assert.equal(a[0]!.source?.port, r.client_port, 'the peer of the accepted connection');
      assert.equal(a[0]!.destination?.port, r.port);
    });
  }

  // Writes through a ring to a file opened for writing: one open-for-write
  // ("modification") event per ring and file however many writes, flagged
  // with the opcode; the syscall name is the write's.
  for (const mode of ['inline', 'sqpoll'] as const) {
    for (const [kind, operation, syscall] of [
      ['write', 'IORING_OP_WRITE', 'write'],
      ['writev', 'IORING_OP_WRITEV', 'writev'],
      ['fixed', 'IORING_OP_WRITE_FIXED', 'write'],
    ] as const) {
      test(`${mode}: 40 ${operation}s to a regular file are one modification event of that file`, async () => {
        const target = join(dir, `w-${mode}-${kind}.bin`);
        const { r, evs } = await run('iou-write', target, '40', kind, ...(mode === 'sqpoll' ? ['sqpoll'] : []));
        assert.equal(r.ret, 23, `the writes through the ring worked: ${JSON.stringify(r)}`);
        const w = ofOp(evs, operation);
        assert.equal(w.length, 1, `one event for 40 writes: ${JSON.stringify(evs.map((e) => [e.ebpf.kind, e.ebpf.io_uring?.operation, e.file?.path]))}`);
        const e = w[0]!;
        assert.equal(e.ebpf.kind, 'open');
        assert.equal(e.event.action, 'modification', 'the action of an open for writing');
        assert.equal(e.ebpf.syscall, syscall);
        assert.equal(e.file?.path, target);
        assert.equal(e.ebpf.path_source, 'file', 'resolved from the written file');
        assert.equal(e.event.outcome, 'success');
        assert.equal(e.ebpf.ret, 23, 'the write result (bytes)');
        assert.ok(e.ebpf.open?.intent.includes('write'));
        assert.equal(e.process.pid, r.pid, 'attributed to the process owning the ring');
        assert.doesNotMatch(e.process.name ?? '', /^iou-/);
      });
    }
  }

  test('a kill rule on writes to a file stops the ring owner at its first write through the ring, in the kernel', async () => {
    const target = join(dir, 'kill-on-write.bin');
    // The file is opened (a syscall, before the rule exists); only the ring's write meets the rule.
    const child = spawn(triggerBinary(), ['iou-write', target, '5', 'write', 'wait'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((res, rej) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('opened')) res();
      });
      child.on('exit', () => rej(new Error(`trigger exited early: ${out}`)));
    });
    ctx.killRules = src.setKillRules([{ ruleId: 'test_kill_ring_write', kind: 'open', writeIntent: true, path: { exact: [target], prefix: [] } }]);
    try {
      const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
      child.stdin!.write('g');
      assert.equal(await exited, 'SIGKILL', 'killed before the ring returned');
      const deadline = Date.now() + 15000;
      const ofChild = (): SensorEvent[] => events.filter((e) => e.process.pid === child.pid && e.ebpf.io_uring?.operation === 'IORING_OP_WRITE');
      while (ofChild().length === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      const w = ofChild();
      assert.equal(w.length, 1);
      assert.equal(w[0]!.file?.path, target);
      assert.equal(w[0]!.ebpf.kernel_kill?.rule, 'test_kill_ring_write');
    } finally {
      src.setKillRules([]);
    }
  });

  test('OPENAT relative to a dirfd and OPENAT2 resolve to the real file', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'rel.txt'), 'x');
    const a = await run('iou-openat-dir', join(dir, 'sub'), 'rel.txt', '2');
    assert.deepEqual(ofOp(a.evs, 'IORING_OP_OPENAT').map((e) => e.file?.path), [join(dir, 'sub', 'rel.txt')]);
    const b = await run('iou-openat2', join(dir, 'sub', 'rel.txt'), '1');
    const o2 = ofOp(b.evs, 'IORING_OP_OPENAT2');
    assert.deepEqual(o2.map((e) => [e.file?.path, e.ebpf.syscall]), [[join(dir, 'sub', 'rel.txt'), 'openat2']]);
  });

  test('MKDIRAT, SYMLINKAT, LINKAT, RENAMEAT, UNLINKAT: each the event of its syscall, flagged with its opcode', async () => {
    const d = join(dir, 'made');
    const mk = await run('iou-mkdirat', d);
    assert.ok(existsSync(d));
    assert.deepEqual(ofOp(mk.evs, 'IORING_OP_MKDIRAT').map((e) => [e.ebpf.kind, e.ebpf.syscall, e.file?.path, e.event.outcome]), [['mkdir', 'mkdirat', d, 'success']]);

    const file = join(dir, 'made', 'f');
    writeFileSync(file, 'x');
    const link = join(dir, 'made', 'sym');
    const sy = await run('iou-symlinkat', '/etc/shadow', link);
    assert.equal(readlinkSync(link), '/etc/shadow');
    const s = ofOp(sy.evs, 'IORING_OP_SYMLINKAT');
    assert.equal(s.length, 1);
    assert.equal(s[0]!.ebpf.kind, 'symlink');
    assert.equal(s[0]!.file?.path, link);

    const hard = join(dir, 'made', 'hard');
    const ln = await run('iou-linkat', file, hard);
    const l = ofOp(ln.evs, 'IORING_OP_LINKAT');
    assert.deepEqual(l.map((e) => [e.ebpf.kind, e.ebpf.syscall, e.file?.path, e.ebpf.source_file?.path]), [['link', 'linkat', hard, file]]);

    const moved = join(dir, 'made', 'moved');
    const rn = await run('iou-renameat', file, moved);
    const m = ofOp(rn.evs, 'IORING_OP_RENAMEAT');
    assert.deepEqual(m.map((e) => [e.ebpf.kind, e.file?.path, e.ebpf.source_file?.path]), [['rename', moved, file]]);

    const un = await run('iou-unlinkat', moved);
    assert.deepEqual(ofOp(un.evs, 'IORING_OP_UNLINKAT').map((e) => [e.ebpf.kind, e.ebpf.syscall, e.file?.path, e.event.outcome]), [['unlink', 'unlinkat', moved, 'success']]);
    const un2 = await run('iou-unlinkat', moved);
    assert.deepEqual(ofOp(un2.evs, 'IORING_OP_UNLINKAT').map((e) => [e.event.outcome, e.ebpf.error]), [['failure', 'ENOENT']]);
  });
});
