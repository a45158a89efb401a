// Live kernel, issue 17 point 4: an exec carries who last wrote the executed
// file (kernel LRU keyed by dev + inode) and whether that writer had connected
// out; the bundled rules alert on a file written by a process that connected
// out and then run, and stay quiet for a binary cc compiled into /tmp.
// The connects here go to loopback, so the sensor runs with
// kernel.provenance.loopbackIsRemote (the default does not count loopback;
// the unit tests of the rules cover that policy, this test the kernel path).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, realpathSync, rmSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { skipReason, startSensor, trigger, triggerBinary, assertEcsValid, type LiveSensor, type Doc } from './harness.js';
import { KernelSource } from '../../src/sources/kernel/kernel-source.js';
import { OPEN_FILTER } from '../../src/sources/kernel/filter-maps.js';
import { decodeChunk, type DecodeContext } from '../../src/decode/decode.js';
import type { SensorEvent } from '../../src/model/event.js';
import { createLogger } from '../../src/telemetry/logger.js';

const skip = skipReason();

function ruleIds(d: Doc): string[] {
  return (d.ebpf?.rules ?? []).map((r: { id: string }) => r.id).concat(d.rule?.id ? [d.rule.id] : []);
}

describe('provenance of executed files, live', { skip }, () => {
  let sensor: LiveSensor;
  let dir: string;
  const made: string[] = [];

  before(async () => {
    triggerBinary();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-prov-')));
    sensor = await startSensor([], { EBPF_SENSOR_KERNEL__PROVENANCE: '{"loopbackIsRemote":true}' });
  });
  after(async () => {
    const code = await sensor?.stop();
    for (const f of made) rmSync(f, { force: true });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, sensor?.stderr());
  });

  /** The exec document of `path` (the run of the written file) and every document of that run. */
  async function execOf(path: string): Promise<Doc> {
    return sensor.waitFor((d) => d.event?.action === 'exec' && d.process?.executable === path, undefined, `exec of ${path}`);
  }

  test('a process that connected out writes, chmods and runs a file: the exec names it as the writer and the dropper rule fires', async () => {
    // Top of /tmp, where droppers put their payload.
    const path = join(tmpdir(), `ebpf-sensor-prov-drop-${randomBytes(4).toString('hex')}`);
    made.push(path);
    const r = trigger('drop-exec', path);
    assert.equal(r.connected, 0, 'the loopback connect worked');
    assert.equal(r.ret, 0, 'the dropped copy of /bin/true ran');
    const ex = await execOf(path);
    const w = ex.ebpf?.provenance?.writer;
    assert.ok(w, `the exec carries its writer: ${JSON.stringify(ex.ebpf)}`);
    assert.equal(w.pid, r.pid, 'the writer is the dropper process');
    assert.equal(w.executable, triggerBinary(), "the writer's executable");
    assert.equal(w.connected_out, true, 'the writer had connected out');
    assert.equal(ex.ebpf.provenance.created, true, 'O_CREAT|O_TRUNC');
    assert.ok(Date.parse(ex.ebpf.provenance.written) <= Date.parse(ex['@timestamp']), 'written before it ran');
    // The writer's entity id is the one its own events carry.
    const own = await sensor.waitFor((d) => d.process?.pid === r.pid && d.event?.action === 'connection_attempted', undefined, "the dropper's connect");
    assert.equal(w.entity_id, own.process.entity_id);
    assert.ok(ruleIds(ex).includes('exec_of_downloaded_file'), `dropper rule: ${JSON.stringify(ruleIds(ex))}`);
    assert.equal(ex.event.kind, 'alert');
    assert.equal(ex.event.severity >= 73, true, `high severity: ${ex.event.severity}`);
    assertEcsValid([ex]);
  });

  test('the same without the connect: the writer is known, not connected out, and the dropper rule stays quiet', async () => {
    const path = join(dir, 'sub', 'quiet');
    execFileSync('mkdir', ['-p', join(dir, 'sub')]);
    const r = trigger('drop-exec', path, 'noconnect');
    assert.equal(r.ret, 0);
    const ex = await execOf(path);
    assert.equal(ex.ebpf?.provenance?.writer?.pid, r.pid);
    assert.equal(ex.ebpf.provenance.writer.connected_out, false);
    assert.ok(!ruleIds(ex).includes('exec_of_downloaded_file'), JSON.stringify(ruleIds(ex)));
  });

  test("a #! script: the interpreter's writer is not reported as the script's", async () => {
    // An interpreter this test wrote (so the kernel knows its writer), and a script that names it.
    const interp = join(dir, 'mysh');
    copyFileSync('/bin/sh', interp);
    chmodSync(interp, 0o755);
    const script = join(dir, 'script.sh');
    writeFileSync(script, `#!${interp}\nexit 0\n`, { mode: 0o755 });
    execFileSync(script);
    const ex = await sensor.waitFor((d) => d.event?.action === 'exec' && d.ebpf?.exec?.filename === script, undefined, `exec of ${script}`);
    assert.equal(ex.process.executable, interp);
    assert.equal(ex.ebpf.provenance, undefined, `no provenance borrowed from the interpreter: ${JSON.stringify(ex.ebpf.provenance)}`);
    // Run directly, the interpreter has its writer (this test's process).
    execFileSync(interp, ['-c', 'exit 0']);
    const direct = await sensor.waitFor((d) => d.event?.action === 'exec' && d.ebpf?.exec?.filename === interp, undefined, `exec of ${interp}`);
    assert.equal(direct.ebpf?.provenance?.writer?.pid, process.pid);
  });

  test('cc compiles into the top of /tmp and the binary runs: the linker is the writer and nothing alerts', async () => {
    const src = join(dir, 'hello.c');
    writeFileSync(src, 'int main(void) { return 0; }\n');
    const bin = join(tmpdir(), `ebpf-sensor-prov-cc-${randomBytes(4).toString('hex')}`);
    made.push(bin);
    execFileSync('cc', ['-o', bin, src]);
    execFileSync(bin);
    const ex = await execOf(bin);
    const w = ex.ebpf?.provenance?.writer;
    assert.ok(w, `the exec carries its writer: ${JSON.stringify(ex.ebpf)}`);
    assert.match(w.name, /^(ld|collect2|ld\.bfd|ld\.gold|ld\.lld|mold)$/, `the linker wrote it: ${JSON.stringify(w)}`);
    assert.match(w.executable ?? '', /^\/usr\//);
    assert.equal(ex.event.kind, 'event', `no alert: ${JSON.stringify(ruleIds(ex))}`);
  });
});

describe('provenance: loopback is not "out" by default', { skip }, () => {
  test('with kernel.provenance.loopbackIsRemote off, a loopback connect before the write leaves connected_out false', async () => {
    createLogger({ level: 'warn' });
    const events: SensorEvent[] = [];
    const ctx: DecodeContext = { bootToRealtimeNs: 0n, bootIdPrefix: 'test0000', sequence: 0 };
    const stats = { records: 0, errors: 0 };
    const src = new KernelSource({}, OPEN_FILTER);
    await src.start((b) => {
      if (b.kind === 'frames') decodeChunk(b.chunk, b.used, ctx, events, stats);
    });
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'ebpf-sensor-prov-lo-')));
    try {
      const path = join(dir, 'dropped');
      const r = trigger('drop-exec', path);
      assert.equal(r.connected, 0);
      const deadline = Date.now() + 15000;
      const find = (): SensorEvent | undefined => events.find((e) => e.ebpf.kind === 'exec' && e.process.executable === path);
      while (!find() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      const ex = find();
      assert.ok(ex, 'the exec of the dropped file');
      assert.equal(ex.ebpf.provenance?.writer.pid, r.pid, 'the writer is known');
      assert.equal(ex.ebpf.provenance?.writer.connected_out, false, 'a loopback connect is not connecting out');
      assert.equal(ex.ebpf.provenance?.writer.name.length > 0, true);
    } finally {
      await src.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
