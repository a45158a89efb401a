// issue 13: the file output's cursor is never committed ahead of an fsync of
// the file. A power cut cannot be made in a test; what makes it safe can be
// watched instead: the order of the system calls. The real journal, the real
// delivery loop and the real file sink run with fs.writeSync, fs.fsyncSync,
// fs.fsync (the periodic sync in the thread pool, issue 14: counted when it
// succeeded) and fs/promises.rename observed (node's builtin ESM bindings follow the
// CommonJS exports after syncBuiltinESMExports), and every cursor commit (the
// rename of the cursor's temporary file) must find no write of the output
// file since its last fsync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { Journal } from '../../src/journal/journal.js';
import { Delivery } from '../../src/sinks/delivery.js';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import { batchOf, tempDir } from '../helpers/journal-fixtures.js';

type Call = { op: 'write' | 'fsync'; path: string } | { op: 'commit'; path: string };

test('issue-13-file-fsync-order: every cursor commit of the file output follows an fsync of everything written', async () => {
  const { dir, cleanup } = tempDir('issue13-fsync-order-');
  const out = join(dir, 'out.ndjson');
  const calls: Call[] = [];
  const pathOf = (fd: number): string => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return '?';
    }
  };
  const orig = { writeSync: fs.writeSync, fsyncSync: fs.fsyncSync, fsync: fs.fsync, rename: fsp.rename };
  fs.writeSync = ((fd: number, ...rest: unknown[]) => {
    calls.push({ op: 'write', path: pathOf(fd) });
    return (orig.writeSync as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
  fs.fsyncSync = (fd: number) => {
    calls.push({ op: 'fsync', path: pathOf(fd) });
    orig.fsyncSync(fd);
  };
  fs.fsync = ((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    // What it covers is what was written before the call: noted then, kept when it succeeded.
    const call: Call = { op: 'fsync', path: pathOf(fd) };
    const at = calls.length;
    orig.fsync(fd, (err) => {
      if (!err) calls.splice(at, 0, call);
      cb(err);
    });
  }) as typeof fs.fsync;
  fsp.rename = async (from, to) => {
    await orig.rename(from, to);
    calls.push({ op: 'commit', path: String(to) });
  };
  syncBuiltinESMExports();
  const j = Journal.open(join(dir, 'journal'), { fsyncIntervalMs: 0 });
  const sink = new NdjsonSink({ target: out, format: (ce) => JSON.stringify({ id: ce.event.event.id }) });
  const d = Delivery.start(j, sink, { batch: { count: 20, bytes: 1 << 20, ms: 0 } });
  try {
    for (let i = 0; i < 10; i++) {
      j.append(batchOf(i * 30, 30));
      assert.equal(await d.drained(30_000), true, 'delivered');
    }
  } finally {
    await d.stop();
    Object.assign(fs, { writeSync: orig.writeSync, fsyncSync: orig.fsyncSync, fsync: orig.fsync });
    fsp.rename = orig.rename;
    syncBuiltinESMExports();
    await sink.close();
    await j.close();
  }
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines.length, 300, 'every event written once');

  const cursorFile = (p: string): boolean => p.includes('/cursors/') && p.endsWith('.cursor') && p.includes('file%3A');
  const commits = calls.filter((c) => c.op === 'commit' && cursorFile(c.path));
  const writes = calls.filter((c) => c.op === 'write' && c.path === out);
  assert.ok(commits.length >= 10, `the file sink's cursor was committed (${commits.length} times)`);
  assert.ok(writes.length >= 10, `the output file was written (${writes.length} times)`);
  let unsynced = 0;
  for (const [i, c] of calls.entries()) {
    if (c.path === out && c.op === 'write') unsynced++;
    else if (c.path === out && c.op === 'fsync') unsynced = 0;
    else if (c.op === 'commit' && cursorFile(c.path)) {
      assert.equal(unsynced, 0, `call ${i}: cursor committed with ${unsynced} write(s) of ${out} not fsync'ed`);
    }
  }
  cleanup();
});
