// RELP framing (src/sinks/syslog/relp-session.ts): frames written as librelp
// reads them, answers parsed whatever way TCP splits them, and a server that
// sends garbage is a RelpError (the session fails and the batch is sent
// again), never an unbounded buffer or a crash. The protocol against a real
// rsyslog: test/integration/syslog-relp.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RelpError, RelpParser, relpFrame } from '../../src/sinks/syslog/relp-session.js';

test('relp: frames are TXNR SP COMMAND SP DATALEN [SP DATA] LF', () => {
  assert.equal(relpFrame(1, 'open', Buffer.from('relp_version=0')).toString(), '1 open 14 relp_version=0\n');
  assert.equal(relpFrame(7, 'close', Buffer.alloc(0)).toString(), '7 close 0\n');
  // DATALEN counts bytes, not characters.
  assert.equal(relpFrame(2, 'syslog', Buffer.from('é')).toString(), '2 syslog 2 é\n');
});

test('relp: answers parse across any split, with and without data', () => {
  const offer = '200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog';
  const wire = Buffer.from(`1 rsp ${offer.length} ${offer}\n2 rsp 6 200 OK\n0 serverclose 0\n`);
  for (let cut = 1; cut < wire.length; cut++) {
    const p = new RelpParser();
    const frames = [...p.push(wire.subarray(0, cut)), ...p.push(wire.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.txnr, f.command, f.data.toString()]),
      [
        [1, 'rsp', offer],
        [2, 'rsp', '200 OK'],
        [0, 'serverclose', ''],
      ],
      `split at ${cut}`,
    );
  }
});

test('relp: malformed or oversize answers are a RelpError', () => {
  for (const bad of ['x rsp 6 200 OK\n', '1 RSP 6 200 OK\n', '1 rsp 6 200 OKX', '1 rsp 3\n', '1 rsp 99999999 ', '1234567890123 rsp', `1 ${'a'.repeat(40)} 0\n`]) {
    assert.throws(() => new RelpParser().push(Buffer.from(bad)), RelpError, JSON.stringify(bad));
  }
  // A frame that claims less than its data still fails at the missing LF, not later.
  assert.throws(() => new RelpParser().push(Buffer.from('1 rsp 2 200 OK\n')), RelpError);
});

test('relp: syslog.transport relp is valid configuration and builds a RELP sink (its own cursor name)', async () => {
  const { loadConfig } = await import('../../src/config/config.js');
  const { syslogSinkFromConfig } = await import('../../src/sinks/syslog/syslog-sink.js');
  const cfg = loadConfig(undefined, { EBPF_SENSOR_SYSLOG__TRANSPORT: 'relp', EBPF_SENSOR_SYSLOG__PORT: '2514' });
  assert.equal(cfg.syslog.transport, 'relp');
  const sink = syslogSinkFromConfig(cfg.syslog, () => 'x', 'h');
  assert.equal(sink.name, 'syslog:relp://127.0.0.1:2514');
  await sink.close();
});
