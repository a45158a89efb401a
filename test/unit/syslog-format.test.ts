// Syslog framing without a network: RFC 5424 and RFC 3164 headers, RFC 6587
// framing, and truncation at the size limit (marked, at a character
// boundary, never splitting a CEF escape).
import test from 'node:test';
import assert from 'node:assert/strict';
import { syslogHeader, buildMessage, octetCounted, lfFramed, truncationMarker, rfc3164Time, rfc5424Time, headerToken, syslogSeverity, FACILITIES } from '../../src/sinks/syslog/syslog-format.js';
import { SyslogSink } from '../../src/sinks/syslog/syslog-sink.js';
import { SensorError } from '../../src/errors.js';
import { corpus, HOST } from '../helpers/normalize-corpus.js';

const h = { facility: FACILITIES.auth, severity: 3, time: '2025-11-03T07:08:09.123456789Z', hostname: 'web 01', appName: 'ebpf-sensor', procId: 42, msgId: 'alert' };

test('RFC 5424 header: PRI, version, UTC time with microseconds, printable tokens, no structured data', () => {
  assert.equal(syslogHeader('rfc5424', h), '<35>1 2025-11-03T07:08:09.123456Z web_01 ebpf-sensor 42 alert - ');
  assert.equal(rfc5424Time('not a time'), '-');
  assert.equal(headerToken('', 10), '-');
  assert.equal(headerToken('höst\n', 10), 'h_st_');
});

test('RFC 3164 header: "Mmm dd hh:mm:ss HOST TAG[pid]: " with a space-padded day', () => {
  assert.equal(syslogHeader('rfc3164', h), '<35>Nov  3 07:08:09 web_01 ebpf-sensor[42]: ');
  assert.equal(rfc3164Time('2025-12-25T23:59:59Z'), 'Dec 25 23:59:59');
});

test('RFC 6587 framing: octet counting counts bytes, not characters; LF framing appends LF', () => {
  assert.equal(octetCounted(Buffer.from('<1>1 é')).toString(), '7 <1>1 é');
  assert.equal(lfFramed(Buffer.from('x')).toString(), 'x\n');
});

test('truncation: within the limit, at a UTF-8 boundary, never ending in an escaping backslash, marked', () => {
  const small = buildMessage('<1>', 'short', 480);
  assert.equal(small.truncated, false);
  assert.equal(small.bytes.toString(), '<1>short');
  const msg = `${'é'.repeat(400)}${'x'.repeat(200)}`;
  const t = buildMessage('<1>', msg, 500);
  assert.equal(t.truncated, true);
  assert.ok(t.bytes.length <= 500);
  const text = t.bytes.toString('utf8');
  assert.ok(text.isWellFormed() && !text.includes('\ufffd'), 'no split character');
  assert.ok(text.endsWith(truncationMarker(Buffer.byteLength(msg))));
  for (const pad of [0, 1, 2, 3]) {
    const m = `${'a'.repeat(pad)}${'\\\\'.repeat(400)}`;
    const r = buildMessage('<1>', m, 480).bytes.toString();
    const kept = r.slice(3, -truncationMarker(m.length).length);
    const trailing = /\\*$/.exec(kept)![0].length;
    assert.equal(trailing % 2, 0, `pad ${pad}: an escape pair is never split`);
  }
});

test('severity follows the most severe rule; telemetry is informational, loss a warning', () => {
  const all = corpus();
  const normal = all.find((c) => c.verdict.classification === 'normal' && c.event.ebpf.kind !== 'loss')!;
  const two = all.find((c) => c.verdict.matches.length === 2)!;
  const loss = all.find((c) => c.event.ebpf.kind === 'loss')!;
  assert.equal(syslogSeverity(normal), 6);
  assert.equal(syslogSeverity(two), 2);
  assert.equal(syslogSeverity(loss), 4);
});

test('bad sink settings are ESENSOR_SINK_CONFIG errors naming the field', () => {
  const base = { host: '127.0.0.1', hostname: HOST.name, format: () => 'x' };
  assert.throws(() => new SyslogSink({ ...base, port: 0, transport: 'tcp' }), (e: unknown) => e instanceof SensorError && e.code === 'ESENSOR_SINK_CONFIG' && e.field === 'syslog.port');
  assert.throws(() => new SyslogSink({ ...base, port: 514, transport: 'udp', maxMessageBytes: 70000 }), (e: unknown) => e instanceof SensorError && e.field === 'syslog.maxMessageBytes');
});
