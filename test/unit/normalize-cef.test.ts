// CEF normalizer: every line parses with the strict spec parser, header and
// extension escaping follow the spec, standard keys carry what they should,
// severities map 0-10, vendor/product are configurable, and no value can
// forge a field.
import test from 'node:test';
import assert from 'node:assert/strict';
import { toCef, cefHeader, cefValue, CEF_SEVERITY, CEF_LABELS, CEF_EVENT_NAMES } from '../../src/normalize/cef/cef.js';
import { CEF_SEVERITY_EVENT, CEF_SEVERITY_LOSS } from '../../src/normalize/severity.js';
import { fromExactBytes } from '../../src/normalize/raw-bytes.js';
import { encodeRaw } from '../../src/model/raw-text.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { parseCef, CefParseError, type CefRecord } from '../helpers/cef-parser.js';
import { corpus, HOST, AGENT, MATCH_HIGH, MATCH_CRITICAL } from '../helpers/normalize-corpus.js';

const all = corpus();
const cef = (ce: ClassifiedEvent, vendor = 'ebpf-sensor', product = 'ebpf-sensor'): CefRecord => parseCef(toCef(ce, HOST, AGENT, { vendor, product }));
const byKind = (kind: string, cls: 'normal' | 'suspicious' = 'normal', outcome = 'success'): ClassifiedEvent => {
  const ce = all.find((c) => c.event.ebpf.kind === kind && c.verdict.classification === cls && c.event.event.outcome === outcome);
  assert.ok(ce, `corpus has a ${cls} ${outcome} ${kind} event`);
  return ce;
};
/** Extension as a plain object, for deepEqual-friendly checks. */
const ext = (r: CefRecord): Record<string, string> => Object.fromEntries(r.extension);

test('the strict parser refuses what the spec does not allow (it can fail)', () => {
  const bad = [
    'CEF:0|a|b|c|d|e|5',
    'LEEF:1.0|a|b|c|d|',
    'CEF:0|a\\x|b|c|d|e|5|',
    'CEF:0|a|b|c|d|e|11|',
    'CEF:0|a|b|c|d|e|5|k=v=w',
    'CEF:0|a|b|c|d|e|5|k=a\\tb',
    'CEF:0|a|b|c|d|e|5|k=1 k=2',
    'CEF:0|a|b|c|d|e|5|k=line\nbreak',
    'CEF:0|a|b|c|d|e|5| k=v',
    'CEF:0|a|b\u0001|c|d|e|5|',
    'CEF:0|a|b|c|d|e|5|k=\udcff',
  ];
  for (const line of bad) assert.throws(() => parseCef(line), CefParseError, JSON.stringify(line));
  const ok = parseCef('CEF:0|Ven\\|dor|Pro\\\\duct|1.0|100|Name with = sign|10|src=10.0.0.1 msg=a \\= b\\nc\\\\ d  act=x');
  assert.equal(ok.deviceVendor, 'Ven|dor');
  assert.equal(ok.deviceProduct, 'Pro\\duct');
  assert.equal(ok.name, 'Name with = sign');
  assert.deepEqual(ext(ok), { src: '10.0.0.1', msg: 'a = b\nc\\ d ', act: 'x' });
});

test('every line of every kind (events and alerts) parses strictly, one line each', () => {
  for (const ce of all) {
    const line = toCef(ce, HOST, AGENT);
    assert.ok(!/[\r\n\u0085\u2028\u2029]/.test(line), 'no line break inside a CEF line');
    const r = parseCef(line);
    const where = `${ce.event.ebpf.kind}/${ce.event.event.outcome}/${ce.verdict.classification}`;
    assert.equal(r.version, 0, where);
    assert.equal(r.deviceVendor, 'ebpf-sensor');
    assert.equal(r.deviceVersion, AGENT.version);
    const e = r.extension;
    for (const k of ['rt', 'externalId', 'cat', 'act', 'outcome', 'dvchost', 'deviceExternalId', 'dvcpid']) assert.ok(e.has(k), `${where}: ${k}`);
    assert.equal(e.get('externalId'), ce.event.event.id);
    assert.equal(e.get('rt'), String(Date.parse(ce.event['@timestamp'].slice(0, 23) + 'Z')), `${where}: rt is ms since the epoch`);
    for (const [k, v] of e) if (/^(cs|cn|c6a)\d$|^flexString\d$/.test(k)) assert.equal(e.get(`${k}Label`), (CEF_LABELS as Record<string, string>)[k], `${k}=${v} has its label`);
  }
});

test('severity 0-10 from the rule: exported mapping, telemetry and loss', () => {
  assert.deepEqual({ ...CEF_SEVERITY }, { low: 3, medium: 5, high: 8, critical: 10 });
  assert.equal(cef(byKind('open', 'suspicious')).severity, '8');
  assert.equal(cef(all.find((c) => c.verdict.matches.length === 2)!).severity, '10');
  assert.equal(cef(byKind('open')).severity, String(CEF_SEVERITY_EVENT));
  assert.equal(cef(byKind('loss', 'normal', 'failure')).severity, String(CEF_SEVERITY_LOSS));
  for (const sev of ['low', 'medium', 'high', 'critical'] as const) {
    const ce: ClassifiedEvent = { event: byKind('exec').event, verdict: { classification: 'suspicious', matches: [{ ...MATCH_HIGH, severity: sev }] } };
    const n = Number(cef(ce).severity);
    assert.ok(n >= 0 && n <= 10);
    assert.equal(n, CEF_SEVERITY[sev]);
  }
});

test('header: signature id and name are the rule for alerts, the event family otherwise', () => {
  const alert = cef(byKind('open', 'suspicious'));
  assert.equal(alert.signatureId, MATCH_HIGH.id);
  assert.equal(alert.name, MATCH_HIGH.name);
  const e = ext(alert);
  assert.equal(e.cs1, MATCH_HIGH.id);
  assert.equal(e.cs2, MATCH_HIGH.tags.join(','));
  assert.equal(e.msg, MATCH_HIGH.message);
  const two = cef(all.find((c) => c.verdict.matches.length === 2)!);
  assert.equal(two.signatureId, MATCH_CRITICAL.id);
  assert.equal(ext(two).cs2, 'TA0003,T1098,T1003.008,T1547.006,container');
  const ev = cef(byKind('unlink'));
  assert.equal(ev.signatureId, 'unlink');
  assert.equal(ev.name, CEF_EVENT_NAMES.unlink);
  assert.equal(ev.extension.has('cs1'), false);
});

test('vendor and product are configurable and escaped as header fields', () => {
  const r = cef(byKind('exec'), 'Acme|Corp\\', 'Sensor\nX');
  assert.equal(r.deviceVendor, 'Acme|Corp\\');
  assert.equal(r.deviceProduct, 'Sensor\ufffdX');
  assert.match(toCef(byKind('exec'), HOST, AGENT, { vendor: 'Acme|Corp\\', product: 'P' }), /^CEF:0\|Acme\\\|Corp\\\\\|P\|/);
  assert.equal(fromExactBytes(ext(r).cs6!.split(' ').find((x) => x.startsWith('deviceProduct:'))!.slice(14)).toString(), 'Sensor\nX');
});

test('standard keys: process, users, files', () => {
  const exec = ext(cef(byKind('exec')));
  assert.equal(exec.act, 'exec');
  assert.equal(exec.outcome, 'success');
  assert.equal(exec.cat, 'process');
  assert.equal(exec.dvchost, HOST.name);
  assert.equal(exec.dvc, '10.0.0.7');
  assert.equal(exec.dvcpid, '4242');
  assert.equal(exec.deviceProcessName, 'bash');
  assert.equal(exec.spid, '4242');
  assert.equal(exec.sproc, 'bash');
  assert.equal(exec.suser, 'root');
  assert.equal(exec.suid, '0');
  assert.equal(exec.filePath, '/usr/bin/bash');
  assert.equal(exec.fname, 'bash');
  assert.equal(exec.cs4, all.find((c) => c === byKind('exec'))!.event.process.entity_id);
  assert.equal(exec.cs5, 'bash ./run.sh --flag=a b');
  assert.equal(exec.cn2, '17');
  const failed = ext(cef(byKind('open', 'normal', 'failure')));
  assert.equal(failed.outcome, 'failure');
  assert.equal(failed.reason, 'EACCES');
  const fork = ext(cef(byKind('fork')));
  assert.equal(fork.spid, '17', 'the forking parent is the source process');
  assert.equal(fork.dpid, '4243');
  const chmod = ext(cef(byKind('chmod')));
  assert.equal(chmod.filePermission, '4755');
  const chown = ext(cef(byKind('chown')));
  assert.equal(chown.duid, '0');
  assert.equal(chown.duser, 'root');
  const setuid = ext(cef(byKind('setuid')));
  assert.equal(setuid.duid, '0', 'setresuid(-1, 0, -1): the new effective uid');
  const rename = ext(cef(byKind('rename')));
  assert.equal(rename.oldFilePath, '/tmp/x.sh');
  assert.equal(rename.filePath, '/etc/cron.d/x');
  const symlink = ext(cef(byKind('symlink')));
  assert.equal(symlink.flexString1, '/etc/shadow');
  assert.equal(symlink.fileType, 'symlink');
  const ptrace = ext(cef(byKind('ptrace')));
  assert.equal(ptrace.dpid, '1');
  const exit = ext(cef(byKind('exit')));
  assert.equal(exit.cn1, '1');
  const withContainer = all.map((c) => ext(cef(c))).find((e) => e.cs3);
  assert.equal(withContainer?.cs3Label, 'containerId');
  const loss = ext(cef(byKind('loss', 'normal', 'failure')));
  assert.equal(loss.cnt, '1203');
  assert.match(loss.msg!, /^1203 events lost in 10 s/);
});

test('standard keys: sockets (IPv4 in src/dst, IPv6 in c6a2/c6a3, ports, protocol, direction)', () => {
  const c = ext(cef(byKind('connect')));
  assert.equal(c.src, '10.0.0.7');
  assert.equal(c.spt, '51234');
  assert.equal(c.dst, '203.0.113.9');
  assert.equal(c.dpt, '4444');
  assert.equal(c.proto, 'TCP');
  assert.equal(c.deviceDirection, '1');
  const a = ext(cef(byKind('accept')));
  assert.equal(a.c6a2, '2001:db8::1');
  assert.equal(a.c6a2Label, 'Source IPv6 Address');
  assert.equal(a.c6a3, '2001:db8::2');
  assert.equal(a.dpt, '22');
  assert.equal(a.deviceDirection, '0');
  assert.equal(a.src, undefined);
  const u = ext(cef(all.find((x) => x.event.ebpf.socket?.family === 'unix')!));
  assert.equal(u.filePath, '/run/docker.sock');
});

test('escaping: header \\ and |, extension \\ = CR LF, exactly as the spec writes them', () => {
  assert.equal(cefHeader('a|b\\c'), 'a\\|b\\\\c');
  assert.equal(cefHeader('no=escape needed'), 'no=escape needed');
  assert.equal(cefValue('a=b\\c\nd\re|f'), 'a\\=b\\\\c\\nd\\re|f');
  assert.equal(cefValue('tab\tkept'), 'tab\tkept');
  assert.equal(cefValue('ctl\u0001\u001b[31m'), 'ctl\ufffd\ufffd[31m');
  assert.equal(cefValue('😀 é'), '😀 é', 'valid Unicode, pairs included, is written as is');
});

test('no value can forge a field, a header or a line', () => {
  const ce = structuredClone(byKind('open', 'suspicious'));
  const evil = 'x cs1=forged act=forged\nCEF:0|Evil|Evil|1|1|forged|10|src=6.6.6.6 \\= \\';
  ce.event.file!.path = evil;
  ce.event.file!.name = evil;
  ce.event.process.name = evil;
  ce.event.process.command_line = evil;
  ce.verdict.matches[0]!.message = evil;
  ce.verdict.matches[0]!.name = `rule|${evil}`;
  ce.verdict.matches[0]!.id = `id|${evil}`;
  const line = toCef(ce, HOST, AGENT);
  const clean = structuredClone(ce);
  clean.event.file!.path = 'x';
  clean.event.file!.name = 'x';
  clean.event.process.name = 'x';
  clean.event.process.command_line = 'x';
  Object.assign(clean.verdict.matches[0]!, { message: 'x', name: 'x', id: 'x' });
  const r = parseCef(line);
  assert.deepEqual([...r.extension.keys()], [...parseCef(toCef(clean, HOST, AGENT)).extension.keys()].concat('cs6Label', 'cs6'));
  const e = ext(r);
  assert.equal(e.filePath, evil);
  assert.equal(e.sproc, evil);
  assert.equal(e.msg, evil);
  assert.equal(e.act, 'creation');
  assert.equal(e.cs1, `id|${evil}`);
  assert.equal(r.deviceVendor, 'ebpf-sensor');
  assert.equal(r.severity, '8');
  assert.equal(r.name, `rule|${evil.replace('\n', '\ufffd')}`, 'a newline cannot end the header');
  assert.equal(r.signatureId, `id|${evil.replace('\n', '\ufffd')}`);
  const nameEntry = e.cs6!.split(' ').find((x) => x.startsWith('name:'))!;
  assert.equal(fromExactBytes(nameEntry.slice(5)).toString(), `rule|${evil}`, 'the exact header text is recoverable');
});

test('non-UTF-8 bytes: U+FFFD in the value, exact bytes in cs6 rawBytes', () => {
  const ce = structuredClone(byKind('open'));
  const path = '/tmp/\udcff\udcfeA é\u2028%';
  ce.event.file!.path = path;
  ce.event.file!.name = 'A é\u2028%';
  const e = ext(cef(ce));
  assert.equal(e.filePath, '/tmp/\ufffd\ufffdA é\ufffd%');
  assert.equal(e.cs6Label, 'rawBytes');
  const entries = new Map(e.cs6!.split(' ').map((x) => [x.slice(0, x.indexOf(':')), x.slice(x.indexOf(':') + 1)] as const));
  assert.ok(fromExactBytes(entries.get('filePath')!).equals(encodeRaw(path)));
  assert.ok(fromExactBytes(entries.get('fname')!).equals(Buffer.from('A é\u2028%')));
  assert.equal(entries.get('filePath'), '/tmp/%FF%FEA%20%C3%A9%E2%80%A8%25');
});

test('pure: same input, byte-identical line; the input is untouched', () => {
  for (const ce of all) {
    const before = structuredClone(ce);
    const a = toCef(ce, HOST, AGENT, { vendor: 'V', product: 'P' });
    assert.equal(a, toCef(structuredClone(ce), structuredClone(HOST), structuredClone(AGENT), { vendor: 'V', product: 'P' }));
    assert.deepEqual(ce, before);
  }
});

test('--format cef: the line formatter writes CEF with the configured vendor/product; ecs is the default', async () => {
  const { lineFormatter } = await import('../../src/pipeline/outputs.js');
  const { loadConfig } = await import('../../src/config/config.js');
  const cfg = loadConfig(undefined, { EBPF_SENSOR_CEF__VENDOR: 'Acme', EBPF_SENSOR_CEF__PRODUCT: 'Host Guard' });
  const line = lineFormatter('cef', HOST, AGENT, cfg.cef)(byKind('exec'));
  const r = parseCef(line);
  assert.equal(r.deviceVendor, 'Acme');
  assert.equal(r.deviceProduct, 'Host Guard');
  const ecsLine = lineFormatter('ecs', HOST, AGENT)(byKind('exec'));
  assert.equal(JSON.parse(ecsLine).ecs.version, '9.4.0');
  assert.equal(loadConfig(undefined, {}).output.format, 'ecs');
});

test('rt is exactly the milliseconds since the epoch of @timestamp, for any date', async () => {
  const { epochMsText } = await import('../../src/normalize/cef/cef.js');
  const fc = (await import('fast-check')).default;
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.integer({ min: 0, max: 999_999 }), (ms, sub) => {
      const iso = `${new Date(ms).toISOString().slice(0, 23)}${String(sub).padStart(6, '0')}Z`;
      assert.equal(epochMsText(iso), String(ms), iso);
    }),
    { numRuns: 2000 },
  );
  assert.equal(epochMsText('2025-11-23T12:13:25Z'), String(Date.parse('2025-11-23T12:13:25Z')));
  assert.equal(epochMsText('2025-11-23T12:13:25.5Z'), String(Date.parse('2025-11-23T12:13:25.500Z')));
  assert.equal(epochMsText('2025-11-23T12:13:25+02:00'), String(Date.parse('2025-11-23T12:13:25+02:00')));
});
