// issue 14: the file output's durable position. The file sink no longer
// fsyncs every batch (≈ 3 µs of event-loop time per event in a fork storm);
// it syncs at most every output.syncIntervalMs, and the delivery commits its
// cursor only up to what a resolved sync covered. What must hold, watched
// through the real journal, delivery and file sink with node's fs bindings
// observed or made to fail (syncBuiltinESMExports carries the patch into the
// named ESM imports):
// (a) lines written but not yet synced never move the cursor file; stop()
//     forces the last sync and commit;
// (b) an fsync that fails (EIO) keeps the cursor back, is reported with its
//     code, and everything written since the last good sync is written again:
//     nothing lost;
// (c) sinks without deferredSync (every network sink) commit after each
//     confirmed batch as before, or at most every commitIntervalMs;
// (d) the config key reaches the sink (default 100 ms, 0 = fsync per batch);
// (e) sinks.commitIntervalMs reaches the deliveries Outputs starts;
// (f) a rotation during a background fsync does not close the fd under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Journal } from '../../src/journal/journal.js';
import { CursorStore } from '../../src/journal/cursor-store.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import { RotatingFile } from '../../src/sinks/rotating-file.js';
import { loadConfig } from '../../src/config/config.js';
import { Outputs, buildSinks } from '../../src/pipeline/outputs.js';
import { MemorySink, batchOf, readLines, tempDir } from '../helpers/journal-fixtures.js';
import { AGENT, HOST } from '../helpers/normalize-corpus.js';

const DEADLINE_MS = 30_000;

/** Poll `cond` until true, failing after the deadline (no fixed sleep asserted on). */
async function until(what: string, cond: () => boolean): Promise<void> {
  const end = Date.now() + DEADLINE_MS;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The cursor position stored on disk for `name` (what a restart after a crash would use). */
function cursorOnDisk(journalDir: string, name: string): number | undefined {
  return new CursorStore(journalDir, false).load().cursors.get(name)?.position;
}

/** Replace fs.fsync for the test; the returned function restores it. */
function hookFsync(hook: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void, real: typeof fs.fsync) => void): () => void {
  const real = fs.fsync;
  fs.fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => hook(fd, cb, real)) as typeof fs.fsync;
  syncBuiltinESMExports();
  return () => {
    fs.fsync = real;
    syncBuiltinESMExports();
  };
}

const pathOf = (fd: number): string => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '?';
  }
};

const idLine = (ce: { event: { event: { id: string } } }): string => JSON.stringify({ id: ce.event.event.id });

interface FileDelivery {
  jdir: string;
  out: string;
  j: Journal;
  sink: NdjsonSink;
  d: Delivery;
}

/**
 * The real journal → delivery → file sink chain in a temp dir, for `body`; everything is stopped and
 * removed after it, and the fsync hook (if any) undone.
 */
async function withFileDelivery(
  prefix: string,
  opts: { syncIntervalMs: number; batchCount: number; retry?: { initialMs: number; maxMs: number }; hook?: (out: string) => () => void },
  body: (f: FileDelivery) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = tempDir(prefix);
  const jdir = join(dir, 'journal');
  const out = join(dir, 'out.ndjson');
  const restore = opts.hook?.(out);
  const j = Journal.open(jdir, { fsyncIntervalMs: 0 });
  const sink = new NdjsonSink({ target: out, format: idLine, syncIntervalMs: opts.syncIntervalMs });
  const d = Delivery.start(j, sink, { batch: { count: opts.batchCount, bytes: 1 << 20, ms: 0 }, ...(opts.retry ? { retry: opts.retry } : {}) });
  try {
    await body({ jdir, out, j, sink, d });
  } finally {
    restore?.();
    await d.stop();
    await sink.close();
    await j.close();
    cleanup();
  }
}

test('issue-14-durable-position (a): written but unsynced lines never move the cursor file; stop() syncs and commits', async () => {
  let outSyncs = 0;
  const hook = (out: string) =>
    hookFsync((fd, cb, real) => {
      if (pathOf(fd) === out) outSyncs++;
      real(fd, cb);
    });
  // An interval far longer than the test: only stop() may sync.
  await withFileDelivery('issue14-durable-a-', { syncIntervalMs: 600_000, batchCount: 20, hook }, async ({ jdir, out, j, sink, d }) => {
    j.append(batchOf(0, 100));
    await until('100 lines written', () => readLines(out).length === 100);
    await until('the delivery to note them confirmed', () => d.stats().written === 100);
    assert.equal(outSyncs, 0, 'no fsync of the output yet');
    assert.equal(d.stats().committed, 0, 'the cursor stays at the synced position');
    assert.equal(cursorOnDisk(jdir, sink.name), undefined, 'no cursor file claims the unsynced lines');
    assert.equal(j.cursor(sink.name), undefined);
    assert.equal((await d.drained(50)), false, 'not drained: nothing durable was committed');

    await d.stop();
    assert.equal(outSyncs, 1, 'stop() forced one fsync of the output');
    assert.equal(d.stats().syncs, 1);
    assert.equal(d.stats().committed, 100);
    assert.equal(cursorOnDisk(jdir, sink.name), 100, 'and then committed the cursor');
  });
});

test('issue-14-durable-position (a2): once the interval elapsed the delivery syncs and commits by itself, one fsync for many batches', async () => {
  await withFileDelivery('issue14-durable-a2-', { syncIntervalMs: 50, batchCount: 10 }, async ({ jdir, out, j, sink, d }) => {
    j.append(batchOf(0, 500));
    assert.equal(await d.drained(DEADLINE_MS), true, 'committed without stop()');
    assert.equal(cursorOnDisk(jdir, sink.name), 500);
    const s = d.stats();
    assert.equal(s.delivered.batches, 50);
    // Every commit followed a sync: at most one commit per sync, none without one.
    assert.ok(s.syncs >= 1 && s.syncs <= s.delivered.batches, `${s.syncs} syncs for ${s.delivered.batches} batches`);
    assert.equal(readLines(out).length, 500);
  });
});

test('issue-14-durable-position (b): a failed fsync (EIO) keeps the cursor back, is reported with its code, and nothing is lost', async () => {
  let failing = true;
  let failed = 0;
  const hook = (out: string) =>
    hookFsync((fd, cb, real) => {
      if (failing && pathOf(fd) === out) {
        failed++;
        const e = Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', errno: -5, syscall: 'fsync' }) as NodeJS.ErrnoException;
        setImmediate(() => cb(e));
        return;
      }
      real(fd, cb);
    });
  const retry = { initialMs: 10, maxMs: 50 };
  await withFileDelivery('issue14-durable-b-', { syncIntervalMs: 20, batchCount: 25, retry, hook }, async ({ jdir, out, j, sink, d }) => {
    j.append(batchOf(0, 100));
    await until('two failed syncs', () => d.stats().syncErrors >= 2);
    const s = d.stats();
    assert.equal(s.committed, 0, 'the cursor stays where the last good sync left it');
    assert.equal(cursorOnDisk(jdir, sink.name), undefined, 'no cursor file past the synced position');
    assert.equal(s.lastErrorCode, 'ESENSOR_OUTPUT');
    assert.match(s.lastError ?? '', /cannot fsync .*out\.ndjson: EIO/);
    // Each failed sync sent the reader back to the cursor (0): the next pass began at the first event
    // again. (How many lines a pass wrote before its sync depends on the machine's load: at least one batch.)
    const before = readLines(out).map((l) => (JSON.parse(l) as { id: string }).id);
    assert.ok(before.filter((id) => id === before[0]).length >= 2, `the unsynced lines were written again after the failure: ${before.length} lines`);

    failing = false;
    assert.equal(await d.drained(DEADLINE_MS), true, 'delivered once fsync works again');
    assert.equal(cursorOnDisk(jdir, sink.name), 100);
    assert.ok(failed >= 2);
    // At least once: every event is in the file, in journal order from each restart.
    const ids = readLines(out).map((l) => Number((JSON.parse(l) as { id: string }).id.slice(3)));
    assert.deepEqual([...new Set(ids)].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i), 'every event written');
    assert.deepEqual(ids.slice(-100), Array.from({ length: 100 }, (_, i) => i), 'the last pass wrote all 100 in order after the cursor');
  });
});

test('issue-14-durable-position (c): sinks without deferredSync commit per confirmed batch, or at most every commitIntervalMs', async () => {
  const { dir, cleanup } = tempDir('issue14-durable-c-');
  const jdir = join(dir, 'journal');
  const j = Journal.open(jdir, { fsyncIntervalMs: 0 });
  // Confirmed = durable at the server: the cursor moves once send() resolved.
  const net = new MemorySink('net');
  let seenAtSend: Array<number | undefined> = [];
  net.onSend = () => seenAtSend.push(cursorOnDisk(jdir, 'net'));
  const d1 = Delivery.start(j, net, { batch: { count: 10, bytes: 1 << 20, ms: 0 } });
  // The same kind of sink, committing at most every 10 minutes: only stop() commits.
  const slow = new MemorySink('slow');
  const d2 = Delivery.start(j, slow, { batch: { count: 10, bytes: 1 << 20, ms: 0 }, commitIntervalMs: 600_000 });
  try {
    j.append(batchOf(0, 30));
    assert.equal(await d1.drained(DEADLINE_MS), true);
    assert.deepEqual(seenAtSend, [undefined, 10, 20], 'each batch found the previous one committed');
    assert.equal(d1.stats().syncs, 0);
    await until('the slow sink got every batch', () => slow.events.length === 30);
    await until('its delivery to note them confirmed', () => d2.stats().written === 30);
    assert.equal(cursorOnDisk(jdir, 'slow'), undefined, 'commitIntervalMs holds the commit back');
    await d2.stop();
    assert.equal(cursorOnDisk(jdir, 'slow'), 30, 'stop() commits what was confirmed');
  } finally {
    seenAtSend = [];
    await d1.stop();
    await d2.stop();
    await j.close();
    cleanup();
  }
});

test('issue-14-durable-position (d): output.syncIntervalMs reaches the file sink (default 100 ms; 0 = fsync per batch); stdout has no deferred sync', () => {
  const { dir, cleanup } = tempDir('issue14-durable-d-');
  try {
    const target = `file:${join(dir, 'o.ndjson')}`;
    const make = (env: NodeJS.ProcessEnv) => buildSinks(loadConfig(undefined, { EBPF_SENSOR_LOG_LEVEL: 'silent', EBPF_SENSOR_OUTPUT__TARGET: target, ...env }), HOST, AGENT)[0]!.sink as NdjsonSink;
    const def = make({});
    assert.equal(def.deferredSync?.syncIntervalMs, 100);
    const every = make({ EBPF_SENSOR_OUTPUT__SYNC_INTERVAL_MS: '0' });
    assert.equal(every.deferredSync, undefined);
    const stdout = buildSinks(loadConfig(undefined, { EBPF_SENSOR_LOG_LEVEL: 'silent' }), HOST, AGENT)[0]!.sink as NdjsonSink;
    assert.equal(stdout.deferredSync, undefined);
    for (const s of [def, every]) void s.close();
  } finally {
    cleanup();
  }
});

test('issue-14-durable-position (e): sinks.commitIntervalMs reaches every delivery of Outputs (default 100 ms); close() commits what was confirmed', async () => {
  const { dir, cleanup } = tempDir('issue14-durable-e-');
  const jdir = join(dir, 'journal');
  assert.equal(loadConfig(undefined, { EBPF_SENSOR_LOG_LEVEL: 'silent' }).sinks.commitIntervalMs, 100);
  const cfg = loadConfig(undefined, {
    EBPF_SENSOR_LOG_LEVEL: 'silent',
    EBPF_SENSOR_JOURNAL__DIR: jdir,
    EBPF_SENSOR_SINKS__STARTAT: 'oldest',
    EBPF_SENSOR_SINKS__COMMIT_INTERVAL_MS: '60000',
  });
  const net = new MemorySink('net');
  const outputs = Outputs.open({ config: cfg, host: HOST, agent: AGENT, sinks: [{ sink: net, kind: 'kafka', batch: { count: 10, bytes: 1 << 20, ms: 0 } }] });
  try {
    outputs.start(() => undefined);
    outputs.append(batchOf(0, 40));
    await outputs.journal.sync();
    await until('the sink got every event', () => net.events.length === 40);
    await until('its delivery to note them confirmed', () => outputs.stats().sinks[0]!.delivery?.written === 40);
    assert.equal(cursorOnDisk(jdir, 'net'), undefined, 'no commit within the interval');
    await outputs.close(0);
    assert.equal(cursorOnDisk(jdir, 'net'), 40, 'close() committed');
  } finally {
    await outputs.close(0);
    cleanup();
  }
});

test('issue-14-durable-position (f): a rotation during a background fsync closes the old fd only after that fsync; the sync covers what was written before it', async () => {
  const { dir, cleanup } = tempDir('issue14-durable-f-');
  const path = join(dir, 'rot.ndjson');
  const f = new RotatingFile({ path, maxBytes: 100, keep: 2 });
  try {
    f.write('x'.repeat(80) + '\n');
    const fdsBefore = new Set(fs.readdirSync('/proc/self/fd'));
    const synced = f.syncInBackground();
    // Synchronously, before the thread pool's answer can run: this write rotates (FILE → FILE.1).
    f.write('y'.repeat(80) + '\n');
    assert.equal(f.rotations, 1);
    const old = [...fdsBefore].filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`) === path + '.1';
      } catch {
        return false;
      }
    });
    assert.equal(old.length, 1, 'the rotated file is still open while its fsync runs');
    await synced;
    assert.throws(() => fs.readlinkSync(`/proc/self/fd/${old[0]}`), 'closed once the fsync answered');
    assert.equal(fs.readFileSync(path + '.1', 'utf8'), 'x'.repeat(80) + '\n');
    assert.equal(fs.readFileSync(path, 'utf8'), 'y'.repeat(80) + '\n');
  } finally {
    f.close();
    cleanup();
  }
});
