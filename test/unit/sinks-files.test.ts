// Issue #7: the file output rotates by size and keeps N files; dead-letter
// files are bounded the same way and carry the document, the reason and the
// time; loss reports pass the alerts-only filter.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NdjsonSink } from '../../src/sinks/ndjson-sink.js';
import { RotatingFile } from '../../src/sinks/rotating-file.js';
import { DeadLetterFile } from '../../src/sinks/dead-letter.js';
import { lineFormatter } from '../../src/pipeline/outputs.js';
import { batchOf, indexOf, tempDir } from '../helpers/journal-fixtures.js';
import { AGENT, HOST, lossEvent } from '../helpers/normalize-corpus.js';

const lines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : []);

test('the file output rotates by size, keeps N files, never splits a batch, and loses nothing of the last N files', async () => {
  const { dir, cleanup } = tempDir('sinks-rotate-');
  try {
    const file = join(dir, 'events.ndjson');
    const format = lineFormatter('ecs', HOST, AGENT);
    const maxBytes = 60_000;
    const sink = new NdjsonSink({ target: file, format, maxBytes, keep: 3 });
    const sizes: number[] = [];
    for (let b = 0; b < 20; b++) {
      const batch = batchOf(b * 10, 10);
      sizes.push(batch.reduce((a, ce) => a + Buffer.byteLength(format(ce)) + 1, 0));
      await sink.send(batch);
    }
    await sink.close();
    // Where the rotations must fall: a batch that would take the file past maxBytes starts a new one.
    const files: number[][] = [[]];
    let size = 0;
    sizes.forEach((n, b) => {
      if (size > 0 && size + n > maxBytes) {
        files.push([]);
        size = 0;
      }
      files.at(-1)!.push(b);
      size += n;
    });
    assert.ok(files.length >= 5, `the test writes enough for ${files.length} files`);
    assert.equal(sink.rotations, files.length - 1);
    assert.deepEqual(readdirSync(dir).sort(), ['events.ndjson', 'events.ndjson.1', 'events.ndjson.2', 'events.ndjson.3'], 'the file and 3 rotated ones');
    const ids = (f: string): number[] => lines(f).map((l) => Number((JSON.parse(l) as { event: { id: string } }).event.id.slice(3)));
    const expect = (batches: number[]): number[] => batches.flatMap((b) => Array.from({ length: 10 }, (_, i) => b * 10 + i));
    // Newest in FILE, then .1, .2, .3: whole batches, in order, nothing missing in between.
    assert.deepEqual(ids(file), expect(files.at(-1)!));
    assert.deepEqual(ids(`${file}.1`), expect(files.at(-2)!));
    assert.deepEqual(ids(`${file}.2`), expect(files.at(-3)!));
    assert.deepEqual(ids(`${file}.3`), expect(files.at(-4)!));
    for (const f of readdirSync(dir)) assert.ok(statSync(join(dir, f)).size <= maxBytes, `${f} stays within maxBytes`);
    assert.equal(statSync(file).mode & 0o777, 0o600);

    // A new sink on the same file continues it and deletes the oldest on its next rotation.
    const oldest = ids(`${file}.3`)[0];
    const again = new NdjsonSink({ target: file, format, maxBytes, keep: 3 });
    const big = batchOf(1000, 30);
    await again.send(big);
    await again.close();
    assert.equal(again.rotations, 1);
    assert.deepEqual(readdirSync(dir).sort(), ['events.ndjson', 'events.ndjson.1', 'events.ndjson.2', 'events.ndjson.3']);
    assert.notEqual(ids(`${file}.3`)[0], oldest, 'the oldest file was deleted');
    assert.deepEqual(ids(file), big.map(indexOf));
  } finally {
    cleanup();
  }
});

test('a batch larger than maxBytes goes whole into a fresh file; maxBytes 0 never rotates', async () => {
  const { dir, cleanup } = tempDir('sinks-rotate-big-');
  try {
    const f = join(dir, 'x.log');
    const r = new RotatingFile({ path: f, maxBytes: 100, keep: 2 });
    r.write('a'.repeat(60));
    r.write('b'.repeat(300));
    r.write('c'.repeat(10));
    r.close();
    assert.equal(readFileSync(`${f}.2`, 'utf8'), 'a'.repeat(60));
    assert.equal(readFileSync(`${f}.1`, 'utf8'), 'b'.repeat(300));
    assert.equal(readFileSync(f, 'utf8'), 'c'.repeat(10));
    const g = join(dir, 'never.log');
    const n = new RotatingFile({ path: g, maxBytes: 0, keep: 1 });
    for (let i = 0; i < 100; i++) n.write('z'.repeat(100));
    n.close();
    assert.equal(statSync(g).size, 10_000);
    assert.equal(existsSync(`${g}.1`), false);
    // An existing file counts towards the bound.
    writeFileSync(join(dir, 'pre.log'), 'p'.repeat(90));
    const p = new RotatingFile({ path: join(dir, 'pre.log'), maxBytes: 100, keep: 1 });
    p.write('q'.repeat(20));
    p.close();
    assert.equal(readFileSync(join(dir, 'pre.log.1'), 'utf8'), 'p'.repeat(90));
  } finally {
    cleanup();
  }
});

test('an alerts-only file output keeps alerts and loss reports, drops telemetry', async () => {
  const { dir, cleanup } = tempDir('sinks-only-');
  try {
    const file = join(dir, 'alerts.ndjson');
    const sink = new NdjsonSink({ target: file, format: lineFormatter('ecs', HOST, AGENT), only: 'suspicious' });
    const batch = [...batchOf(0, 14), { event: lossEvent(), verdict: { classification: 'normal' as const, matches: [] } }];
    await sink.send(batch);
    await sink.close();
    const docs = lines(file).map((l) => JSON.parse(l) as { event: { kind: string; id: string } });
    assert.deepEqual(
      docs.map((d) => d.event.kind),
      ['alert', 'alert', 'metric'],
      'events 0 and 7 are alerts (fixtures), then the loss report',
    );
    assert.equal(sink.written, 3);
    assert.deepEqual(batch.filter((ce) => ce.verdict.classification === 'suspicious').map(indexOf), [0, 7]);
  } finally {
    cleanup();
  }
});

test('dead letters: one NDJSON line each with time, sink, target, id, status, reason and the document; fsynced; rotated by size', () => {
  const { dir, cleanup } = tempDir('sinks-dlq-');
  try {
    const path = join(dir, 'sub', 'dead.ndjson');
    const dl = new DeadLetterFile({ path, maxBytes: 4096, keep: 2, sink: 'elasticsearch', now: () => new Date('2026-11-23T12:00:00.000Z') });
    assert.equal(existsSync(path), false, 'nothing is created before the first letter');
    const reason = { type: 'document_parsing_exception', reason: "failed to parse field [source.ip] of type [ip]" };
    dl.write([{ target: 'logs-x-default', id: 'ev-1', status: 400, reason, document: { source: { ip: 'not-an-ip' } } }]);
    const [line] = lines(path);
    assert.deepEqual(JSON.parse(line!), {
      '@timestamp': '2026-11-23T12:00:00.000Z',
      sink: 'elasticsearch',
      target: 'logs-x-default',
      id: 'ev-1',
      status: 400,
      reason,
      document: { source: { ip: 'not-an-ip' } },
    });
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700, 'its directory is private');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    for (let i = 0; i < 40; i++) dl.write([{ target: 't', id: `ev-${i}`, status: 400, reason, document: { pad: 'x'.repeat(300) } }]);
    dl.close();
    assert.equal(dl.written, 41);
    const files = readdirSync(join(dir, 'sub')).sort();
    assert.deepEqual(files, ['dead.ndjson', 'dead.ndjson.1', 'dead.ndjson.2'], 'bounded: the file and two rotated ones');
    for (const f of files) assert.ok(statSync(join(dir, 'sub', f)).size <= 4096);
    const last = JSON.parse(lines(path).at(-1)!) as { id: string };
    assert.equal(last.id, 'ev-39');
  } finally {
    cleanup();
  }
});
