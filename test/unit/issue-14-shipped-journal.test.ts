// issue-14: each event is normalized once, when it is journaled; the journal
// record carries the lines the sinks ship, and delivery writes them without
// parsing the event (no JSON.parse of a document) or normalizing it again.
// Replay and export still read the canonical event exactly; version 1
// segments (JSON only) are still read, and appends go to a new segment.
import test from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { Outputs, lineFormatter, journalSections } from '../../src/pipeline/outputs.js';
import { Journal, ShippedRecord } from '../../src/journal/journal.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, SH, crcOf, sealRecord, segmentName, writeSegmentHeader } from '../../src/journal/format.js';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { toCef, CEF_DEFAULTS } from '../../src/normalize/cef/cef.js';
import { topSeverity, type ClassifiedEvent, type OutputFormat } from '../../src/model/event.js';
import { SyslogSink } from '../../src/sinks/syslog/syslog-sink.js';
import type { LineFormatter } from '../../src/sinks/sink.js';
import { corpus, HOST, AGENT } from '../helpers/normalize-corpus.js';
import { tempDir } from '../helpers/journal-fixtures.js';

const events = (): ClassifiedEvent[] => corpus().map((ce, i) => ({ ...structuredClone(ce), event: { ...structuredClone(ce.event), event: { ...ce.event.event, id: `id-${i}`, sequence: i } } }));

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('issue-14: a journal record keeps the canonical event exactly and the lines to ship, with the routing facts', () => {
  const { dir, cleanup } = tempDir('issue14-');
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    const formats = new Map<OutputFormat, LineFormatter>([
      ['ecs', lineFormatter('ecs', HOST, AGENT)],
      ['cef', lineFormatter('cef', HOST, AGENT)],
    ]);
    const batch = events();
    j.append(batch, journalSections(formats));
    // Replay / export: the plain reader gives the canonical event, equal to what was appended.
    const plain = [...j.reader(j.firstPosition)];
    assert.equal(plain.length, batch.length);
    plain.forEach((r, i) => assert.deepEqual(r.event, JSON.parse(JSON.stringify(batch[i]))));
    // Delivery: the lines as bytes, equal to the normalizers' output; the routing facts.
    const shipped = j.reader(j.firstPosition, { ship: true }).read(10_000, 1 << 30).records;
    shipped.forEach((r, i) => {
      assert.ok(r instanceof ShippedRecord);
      const ce = batch[i]!;
      const s = r.ship;
      assert.equal(s.shipped!('ecs')!.toString('utf8'), ecsLine(ce, HOST, AGENT));
      assert.equal(s.shipped!('cef')!.toString('utf8'), toCef(ce, HOST, AGENT, CEF_DEFAULTS));
      assert.deepEqual(s.route, {
        suspicious: ce.verdict.classification === 'suspicious',
        loss: ce.event.ebpf.kind === 'loss',
        id: ce.event.event.id,
        entityId: ce.event.process.entity_id,
        pid: ce.event.process.pid,
        time: ce.event['@timestamp'],
        ...(ce.verdict.classification === 'suspicious' && ce.verdict.matches.length ? { severity: topSeverity(ce.verdict) } : {}),
      });
      // and the event itself, when something asks for it
      assert.deepEqual(r.event, JSON.parse(JSON.stringify(ce)));
    });
    void j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: a version 1 segment is still read, and the writer appends to a new version 2 segment', async () => {
  const { dir, cleanup } = tempDir('issue14-v1-');
  try {
    const old = events().slice(0, 3);
    // A version 1 segment as the previous build wrote it: JSON payloads only.
    const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
    writeSegmentHeader(head, 0, Date.now());
    head.writeUInt16LE(1, SH.version);
    head.writeUInt32LE(crcOf(head, 0, SH.crc), SH.crc);
    const fd = openSync(join(dir, segmentName(0)), 'w');
    writeSync(fd, head);
    let off = SEGMENT_HEADER_BYTES;
    old.forEach((ce, i) => {
      const json = Buffer.from(JSON.stringify(ce));
      const rec = Buffer.alloc(RECORD_HEADER_BYTES + json.length);
      json.copy(rec, RECORD_HEADER_BYTES);
      sealRecord(rec, 0, json.length, i, Date.now());
      writeSync(fd, rec, 0, rec.length, off);
      off += rec.length;
    });
    closeSync(fd);
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    assert.equal(j.nextPosition, 3);
    j.append(events().slice(3, 5), journalSections(new Map([['ecs', lineFormatter('ecs', HOST, AGENT)]])));
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.seg')), [segmentName(0), segmentName(3)]);
    const recs = j.reader(0, { ship: true }).read(100, 1 << 30).records;
    assert.equal(recs.length, 5);
    assert.ok(!(recs[0] instanceof ShippedRecord), 'a version 1 record is read whole');
    assert.ok(recs[4] instanceof ShippedRecord);
    assert.deepEqual(recs.map((r) => r.event.event.event.id), ['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    await j.close();
  } finally {
    cleanup();
  }
});

test('issue-14: delivery writes the journaled lines to the file without parsing any event or normalizing again', async () => {
  const { dir, cleanup } = tempDir('issue14-out-');
  const file = join(dir, 'out.ndjson');
  const cfg = loadConfig(undefined, {
    EBPF_SENSOR_LOG_LEVEL: 'silent',
    EBPF_SENSOR_JOURNAL__DIR: join(dir, 'journal'),
    EBPF_SENSOR_JOURNAL__FSYNC_INTERVAL_MS: '0',
    EBPF_SENSOR_OUTPUT__TARGET: `file:${file}`,
  });
  const outputs = Outputs.open({ config: cfg, host: HOST, agent: AGENT });
  const batch = events();
  const want = batch.map((ce) => ecsLine(ce, HOST, AGENT));
  const parse = JSON.parse;
  let documentParses = 0;
  let written = '';
  JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
    if (typeof text === 'string' && text.length > 200) documentParses++;
    return parse(text, reviver);
  }) as typeof JSON.parse;
  try {
    outputs.start(() => undefined);
    outputs.append(batch);
    await waitFor('the file sink', () => {
      try {
        return readFileSync(file, 'utf8').split('\n').length > batch.length;
      } catch {
        return false;
      }
    });
    await outputs.close(5);
    written = readFileSync(file, 'utf8');
  } finally {
    JSON.parse = parse;
    cleanup();
  }
  assert.equal(documentParses, 0, 'no event or document was parsed between the journal and the file');
  // and what was written is exactly the normalizer's output
  assert.equal(written, want.join('\n') + '\n');
});

test('issue-14: syslog headers come from the journaled routing facts (no parse of the event); an older four-member route still reads the event', () => {
  const { dir, cleanup } = tempDir('issue14-syslog-');
  const sinks: SyslogSink[] = [];
  try {
    const j = Journal.open(dir, { fsyncIntervalMs: 0 });
    const batch = events();
    const cef = lineFormatter('cef', HOST, AGENT);
    j.append(batch, journalSections(new Map([['cef', cef]])));
    const make = (only?: 'suspicious'): SyslogSink => {
      const s = new SyslogSink({ host: '127.0.0.1', port: 514, transport: 'udp', hostname: 'web-01', procId: 77, format: cef, maxMessageBytes: 65000, ...(only ? { only } : {}) });
      sinks.push(s);
      return s;
    };
    for (const only of [undefined, 'suspicious'] as const) {
      const sink = make(only);
      // What the plain events give (the event is read for the header) …
      const want = sink.messages(batch).map((b) => b.toString('utf8'));
      assert.ok(want.length > 0);
      // … equals what the shipped records give without parsing a single event.
      const shipped = j.reader(j.firstPosition, { ship: true }).read(10_000, 1 << 30).records.map((r) => (r as ShippedRecord).ship);
      const parse = JSON.parse;
      let eventParses = 0;
      JSON.parse = ((text: string, reviver?: Parameters<typeof parse>[1]) => {
        if (typeof text === 'string' && text.startsWith('{"event"')) eventParses++;
        return parse(text, reviver);
      }) as typeof JSON.parse;
      let got: string[];
      try {
        got = sink.messages(shipped).map((b) => b.toString('utf8'));
      } finally {
        JSON.parse = parse;
      }
      assert.equal(eventParses, 0, 'the syslog header read no event');
      assert.deepEqual(got, want);
    }
    // A route journaled before @timestamp and the severity were kept: the header reads the event.
    const ce = batch.find((c) => c.verdict.classification === 'suspicious')!;
    const payload = Buffer.from(`${JSON.stringify(ce)}\nM[1,${JSON.stringify(ce.event.event.id)},"e",1]\nC${cef(ce)}`);
    const old = ShippedRecord.from(0, 0, payload)!;
    assert.equal(old.ship.route!.time, undefined);
    assert.deepEqual(make().messages([old.ship]).map(String), make().messages([ce]).map(String));
    void j.close();
  } finally {
    for (const s of sinks) void s.close();
    cleanup();
  }
});
