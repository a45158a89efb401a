// Capture files: what goes in comes out exactly (values and key order), the
// header names sensor, host and time range, every line is described by
// schemas/capture.schema.json, and the file is plain gzip.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv } from 'ajv';
import { CaptureReader } from '../../src/sources/replay/capture-reader.js';
import { CaptureWriter } from '../../src/sources/replay/capture-writer.js';
import { CAPTURE_FORMAT, CAPTURE_VERSION, CONTEXT_PATHS, SHAPE_PATHS } from '../../src/sources/replay/capture-format.js';
import { packageRoot } from '../../src/sources/kernel/paths.js';
import type { SensorEvent } from '../../src/model/event.js';
import { corpus } from '../helpers/normalize-corpus.js';
import { HOSTILE, sensorEvent } from '../helpers/journal-fixtures.js';
import { AGENT, HOST, rawEvents, replayToMemory, tempDir, writeCapture } from '../helpers/replay-fixtures.js';

function readAll(file: string): { header: CaptureReader['header']; events: SensorEvent[]; blocks: number } {
  const r = CaptureReader.open(file);
  const events: SensorEvent[] = [];
  let blocks = 0;
  for (let b = r.next(); b; b = r.next()) {
    blocks++;
    for (let i = 0; i < b.count; i++) events.push(b.materialize(i));
  }
  r.close();
  return { header: r.header, events, blocks };
}

/** Events with every kind, hostile strings (raw bytes, quotes, controls, U+2028) and incomplete process facts. */
function mixedEvents(): SensorEvent[] {
  const out: SensorEvent[] = corpus().map((ce) => ce.event);
  HOSTILE.forEach((s, i) => {
    const ev = sensorEvent(1000 + i, s);
    ev.process.args = [s, 'x'];
    ev.process.name = s.slice(0, 15);
    out.push(ev);
  });
  out.push(...rawEvents(7, 400, 0.5));
  return out;
}

describe('capture format', () => {
  test('round trip: every event comes back exactly, key order included, across many blocks', async () => {
    const events = mixedEvents();
    const before = events.map((e) => JSON.stringify(e));
    const dir = tempDir();
    for (const blockBytes of [1, 4096, 16 << 20]) {
      const file = await writeCapture(join(dir, `rt-${blockBytes}.capture.gz`), events, { blockBytes });
      assert.deepEqual(
        events.map((e) => JSON.stringify(e)),
        before,
        'the writer leaves the events it is given as they were',
      );
      const back = readAll(file);
      assert.equal(back.events.length, events.length);
      back.events.forEach((ev, i) => {
        assert.equal(JSON.stringify(ev), before[i], `event ${i} differs (block size ${blockBytes})`);
      });
      assert.deepEqual(back.events, events);
      if (blockBytes === 1) assert.equal(back.blocks, events.length, 'one event per block when blocks are tiny');
      else if (blockBytes > 1 << 20) assert.equal(back.blocks, 1);
    }
  });

  test('materialized events do not share objects (the enricher changes them in place)', async () => {
    const ev = sensorEvent(1);
    const file = await writeCapture(join(tempDir(), 'share.capture.gz'), [ev, structuredClone(ev), structuredClone(ev)]);
    const r = CaptureReader.open(file);
    const b = r.next()!;
    const [a, c] = [b.materialize(0), b.materialize(1)];
    assert.notEqual(a.process, c.process);
    assert.notEqual(a.process.parent, c.process.parent);
    assert.notEqual(a.process.args, c.process.args);
    a.process.name = 'changed';
    assert.equal(b.materialize(2).process.name, ev.process.name, 'a change to one event does not leak into the next');
    r.close();
  });

  test('header: format, version, sensor, host, agent, time range, counts, encoding', async () => {
    const events = rawEvents(3, 50, 1);
    const times = events.map((e) => e['@timestamp']).sort();
    const lists = { sensor_pids: ['4242'], sensor_paths: ['/opt/ebpf-sensor/'] };
    const file = await writeCapture(join(tempDir(), 'hdr.capture.gz'), events, { lists, blockBytes: 2000 });
    const { header, blocks } = readAll(file);
    assert.equal(header.format, CAPTURE_FORMAT);
    assert.equal(header.version, CAPTURE_VERSION);
    assert.deepEqual(header.sensor, { version: '0.1.0' });
    assert.deepEqual(header.host, HOST);
    assert.deepEqual(header.agent, AGENT);
    assert.deepEqual(header.time, { from: times[0], to: times[times.length - 1] });
    assert.equal(header.events, events.length);
    assert.equal(header.blocks, blocks);
    assert.ok(blocks > 1);
    assert.ok(header.closed !== null && Date.parse(header.closed) >= Date.parse(header.created));
    assert.deepEqual(header.lists, lists);
    assert.deepEqual(header.source, { kind: 'live' });
    assert.deepEqual(header.encoding, { context: CONTEXT_PATHS, shape: SHAPE_PATHS });
  });

  test('plain gzip: zcat gives NDJSON whose every line schemas/capture.schema.json describes', async () => {
    const events = mixedEvents();
    const file = await writeCapture(join(tempDir(), 'schema.capture.gz'), events, { blockBytes: 8192 });
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const schema = JSON.parse(readFileSync(join(packageRoot, 'schemas/capture.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(schema);
    const kinds = { header: 0, c: 0, s: 0, t: 0, event: 0 };
    for (const [i, line] of lines.entries()) {
      const v: unknown = JSON.parse(line);
      assert.ok(validate(v), `line ${i + 1}: ${JSON.stringify(validate.errors?.slice(0, 2))}`);
      if (!Array.isArray(v)) kinds.header++;
      else if (typeof v[0] === 'string') kinds[v[0] as 'c' | 's' | 't']++;
      else kinds.event++;
    }
    assert.equal(kinds.header, 1, 'one header line, first');
    assert.ok(!Array.isArray(JSON.parse(lines[0]!)));
    assert.equal(kinds.event, events.length);
    assert.ok(kinds.c > 0 && kinds.s > 0 && kinds.t > 0);
  });

  test('closing rewrites the header in place: the file does not grow, the first block stays the same size', async () => {
    const dir = tempDir();
    const file = join(dir, 'inplace.capture.gz');
    const w = CaptureWriter.create(file, { header: { sensor: { version: '0.1.0' }, host: HOST, agent: AGENT, source: { kind: 'live' }, lists: {} } });
    const headerBytes = statSync(file).size;
    w.write(rawEvents(1, 100, 1));
    await w.flush();
    const before = statSync(file).size;
    await w.close();
    assert.equal(statSync(file).size, before);
    assert.equal(readFileSync(file).readUInt32LE(16), headerBytes, 'the header member keeps its length');
  });

  test('a writer that dies without closing leaves a readable capture marked unclosed', async () => {
    const dir = tempDir();
    const file = join(dir, 'crash.capture.gz');
    const writer = join(packageRoot, 'dist/src/sources/replay/capture-writer.js');
    const fixtures = join(packageRoot, 'dist/test/helpers/replay-fixtures.js');
    const script = `
      const { CaptureWriter } = await import(${JSON.stringify(writer)});
      const { rawEvents, HOST, AGENT } = await import(${JSON.stringify(fixtures)});
      const w = CaptureWriter.create(${JSON.stringify(file)}, { header: { sensor: { version: '0.1.0' }, host: HOST, agent: AGENT, source: { kind: 'live' }, lists: {} }, blockBytes: 4096 });
      w.write(rawEvents(5, 300, 1));
      await w.flush();
      w.write(rawEvents(6, 10, 1)); // never flushed: lost with the process
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const back = readAll(file);
    assert.equal(back.header.closed, null);
    assert.equal(back.events.length, 300, 'every flushed block is readable');
    const { summary } = await replayToMemory([file], { events: 'all' });
    assert.deepEqual(summary.unclosed, [file]);
    assert.equal(summary.records, 300);
  });
});
