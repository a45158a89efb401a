// ECS normalizer: every document the suite produces validates against the
// official ECS 9.4 definitions; categorization, alerts, identities, files,
// sockets and raw bytes are written as docs/outputs.md says.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { toEcs, ecsJson, categorize, ECS_VERSION, ECS_SEVERITY } from '../../src/normalize/ecs/ecs.js';
import { fromExactBytes } from '../../src/normalize/raw-bytes.js';
import { decodeRecord } from '../../src/decode/decode.js';
import { EventType, Syscall } from '../../src/decode/abi.generated.js';
import { encodeRaw } from '../../src/model/raw-text.js';
import { EVENT_KINDS, type ClassifiedEvent } from '../../src/model/event.js';
import { buildRecord } from '../helpers/record-builder.js';
import { validateEcs, ecsDefinitions, SHARED_ECS_FLAT, VENDORED_ECS_FLAT } from '../helpers/ecs-validator.js';
import { corpus, corpusKinds, decodeContext, enrichLike, HOST, AGENT, MATCH_HIGH, MATCH_CRITICAL } from '../helpers/normalize-corpus.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const all = corpus();
const ecs = (ce: ClassifiedEvent): Doc => toEcs(ce, HOST, AGENT) as Doc;
const byKind = (kind: string, cls: 'normal' | 'suspicious' = 'normal', outcome = 'success'): ClassifiedEvent => {
  const ce = all.find((c) => c.event.ebpf.kind === kind && c.verdict.classification === cls && c.event.event.outcome === outcome);
  assert.ok(ce, `corpus has a ${cls} ${outcome} ${kind} event`);
  return ce;
};

test('the vendored ecs_flat.yml is the shared ECS 9.4.0 reference, unmodified', () => {
  assert.ok(existsSync(VENDORED_ECS_FLAT), 'schemas/ecs/ecs_flat.yml is committed');
  assert.ok(existsSync(VENDORED_ECS_FLAT.replace('ecs_flat.yml', 'LICENSE.txt')), 'with its Apache-2.0 license');
  if (existsSync(SHARED_ECS_FLAT)) assert.ok(readFileSync(SHARED_ECS_FLAT).equals(readFileSync(VENDORED_ECS_FLAT)), 'vendored copy differs from ../shared');
  const defs = ecsDefinitions();
  assert.ok(defs.fields.size > 2000);
  assert.equal(defs.fields.get('event.category')?.type, 'keyword');
});

test('the corpus has every event kind, successes and failures, events and alerts', () => {
  const kinds = corpusKinds(all);
  for (const k of EVENT_KINDS) assert.ok(kinds.has(k), `corpus lacks ${k}`);
  assert.ok(all.some((c) => c.event.event.outcome === 'failure'));
  assert.ok(all.some((c) => c.verdict.matches.length === 2));
});

test('every document of every kind (events and alerts) validates against ECS 9.4', () => {
  for (const ce of all) {
    const doc = ecs(ce);
    const where = `${ce.event.ebpf.kind}/${ce.event.event.outcome}/${ce.verdict.classification}`;
    assert.deepEqual(validateEcs(doc), [], where);
    // and what a line sink writes parses back to the same valid document
    assert.deepEqual(JSON.parse(ecsJson(doc)), doc, where);
  }
});

test('the validator names the field of each kind of violation (it can fail)', () => {
  const good = ecs(byKind('connect'));
  const bad = structuredClone(good);
  bad.process.pid = '4242';
  bad.event.kind = 'telemetry';
  bad.event.category = ['network'];
  bad.event.type = ['creation'];
  bad.host.ip = '10.0.0.1';
  bad.source.ip = '999.1.1.1';
  bad['@timestamp'] = 'yesterday';
  bad.process.name = 'bash\udcff';
  bad.event.severity = 7.5;
  bad.destination.port = null;
  bad.sensor = { x: 1 };
  bad.process.parent.colour = 'red';
  bad.user.id = 1000;
  bad.network.direction = 'listening';
  const v = validateEcs(bad);
  const expect = [
    /^process\.pid: long field holds string/,
    /^event\.kind: "telemetry" is not an allowed value/,
    /^event\.type: "creation" is not expected with event\.category "network"/,
    /^host\.ip: ECS normalizes this field to an array/,
    /^source\.ip: ip field holds "999\.1\.1\.1"/,
    /^@timestamp: date field holds "yesterday"/,
    /^process\.name: string holds a lone surrogate/,
    /^event\.severity: long field holds number 7\.5/,
    /^destination\.port: null value/,
    /^sensor: not an ECS 9\.4 field/,
    /^process\.parent\.colour: not an ECS 9\.4 field/,
    /^user\.id: keyword field holds number/,
    /^network\.direction: "listening" is not an expected value/,
  ];
  for (const re of expect) assert.ok(v.some((m) => re.test(m)), `no violation matching ${re} in:\n${v.join('\n')}`);
  assert.equal(v.length, expect.length, v.join('\n'));
  const missing = structuredClone(good);
  delete missing['@timestamp'];
  delete missing.ecs;
  assert.deepEqual(validateEcs(missing).sort(), ['@timestamp: required by ECS but missing', 'ecs.version: required by ECS but missing']);
  const scalarArray = structuredClone(good);
  scalarArray.process.name = ['a', 'b'];
  assert.match(validateEcs(scalarArray).join('\n'), /process\.name: holds an array but ECS declares a single value/);
});

test('categorization: kind, category and type per family, paired as ECS expects', () => {
  const expectations: Record<string, [string[], string[]]> = {
    exec: [['process'], ['start']],
    fork: [['process'], ['start']],
    exit: [['process'], ['end']],
    unlink: [['file'], ['deletion']],
    rename: [['file'], ['change']],
    symlink: [['file'], ['creation']],
    setuid: [['iam', 'process'], ['change']],
    module_load: [['driver'], ['start']],
    mount: [['configuration', 'file'], ['change']],
    connect: [['network'], ['connection', 'start']],
    accept: [['network'], ['connection', 'start']],
    listen: [['network'], ['start']],
    loss: [['host'], ['info']],
  };
  for (const [kind, [category, type]] of Object.entries(expectations)) {
    const doc = ecs(byKind(kind, 'normal', kind === 'loss' ? 'failure' : 'success'));
    assert.deepEqual(doc.event.category, category, kind);
    assert.deepEqual(doc.event.type, type, kind);
  }
  const opens = all.filter((c) => c.event.ebpf.kind === 'open' && c.verdict.classification === 'normal').map((c) => categorize(c.event).type[0]);
  assert.ok(opens.includes('creation') && opens.includes('access'), 'open: creation for O_CREAT, access for reads');
  assert.equal(ecs(byKind('open')).event.kind, 'event');
  assert.equal(ecs(byKind('open', 'suspicious')).event.kind, 'alert');
  assert.equal(ecs(byKind('loss', 'normal', 'failure')).event.kind, 'metric');
  const failed = ecs(byKind('open', 'normal', 'failure'));
  assert.equal(failed.event.outcome, 'failure');
  assert.equal(failed.error.code, 'EACCES');
  assert.equal(failed.event.action, 'creation');
  assert.equal(failed.ebpf.syscall, 'openat');
});

test('event: ids, sequence, module/dataset, version, timestamps keep nanoseconds', () => {
  const ce = byKind('exec');
  const doc = ecs(ce);
  assert.equal(doc.ecs.version, ECS_VERSION);
  assert.equal(doc['@timestamp'], ce.event['@timestamp']);
  assert.match(doc['@timestamp'], /\.\d{9}Z$/);
  assert.equal(doc.event.created, ce.event['@timestamp']);
  assert.equal(doc.event.id, ce.event.event.id);
  assert.equal(doc.event.sequence, ce.event.event.sequence);
  assert.equal(doc.event.module, 'ebpf_sensor');
  assert.equal(doc.event.dataset, 'ebpf_sensor.events');
  assert.equal(doc.event.severity, undefined, 'telemetry has no severity');
});

test('alerts: rule.*, message, tags, severity from the most severe match, threat with ATT&CK names', () => {
  const one = ecs(byKind('open', 'suspicious'));
  assert.deepEqual(one.rule, {
    id: MATCH_HIGH.id,
    name: MATCH_HIGH.name,
    description: MATCH_HIGH.description,
    ruleset: 'bundled',
    version: '1.0.0',
  });
  assert.equal(one.message, MATCH_HIGH.message);
  assert.equal(one.event.severity, ECS_SEVERITY.high);
  assert.equal(one.event.risk_score, 73);
  assert.equal(one.event.dataset, 'ebpf_sensor.alerts');
  assert.deepEqual(one.tags, ['TA0003', 'T1098', 'T1003.008']);
  assert.equal(one.threat.framework, 'MITRE ATT&CK');
  assert.deepEqual(one.threat.tactic, { id: ['TA0003'], name: ['Persistence'], reference: ['https://attack.mitre.org/tactics/TA0003/'] });
  assert.deepEqual(one.threat.technique.id, ['T1098', 'T1003']);
  assert.deepEqual(one.threat.technique.name, ['Account Manipulation', 'OS Credential Dumping']);
  assert.deepEqual(one.threat.technique.subtechnique.id, ['T1003.008']);
  assert.deepEqual(one.threat.technique.subtechnique.reference, ['https://attack.mitre.org/techniques/T1003/008/']);

  const two = all.find((c) => c.verdict.matches.length === 2)!;
  const d2 = ecs(two);
  assert.equal(d2.rule.id, MATCH_CRITICAL.id, 'the critical match speaks for the alert');
  assert.equal(d2.event.severity, ECS_SEVERITY.critical);
  assert.deepEqual(d2.ebpf.rules.map((r: { id: string }) => r.id), [MATCH_HIGH.id, MATCH_CRITICAL.id]);
  assert.ok(d2.tags.includes('container') && d2.tags.includes('T1547.006'));
  // a technique-only rule gets its tactics from the ATT&CK table
  const onlyTech: ClassifiedEvent = { event: two.event, verdict: { classification: 'suspicious', matches: [{ ...MATCH_CRITICAL }] } };
  const d3 = ecs(onlyTech);
  assert.deepEqual(d3.threat.tactic.name, ['Persistence', 'Privilege Escalation']);
  assert.deepEqual(d3.threat.technique.subtechnique.name, ['Kernel Modules and Extensions']);
});

test('process, parent, entity ids; effective ids, real ones always, saved ones where they differ', () => {
  const doc = ecs(byKind('exec'));
  assert.equal(doc.process.pid, 4242);
  assert.equal(doc.process.executable, '/usr/bin/bash');
  assert.deepEqual(doc.process.args, ['bash', './run.sh', '--flag=a b']);
  assert.equal(doc.process.args_count, 3);
  assert.match(doc.process.entity_id, /^ent-4242-/);
  assert.equal(doc.process.parent.pid, 17);
  assert.match(doc.process.parent.entity_id, /^ent-17-/);
  assert.equal(doc.process.parent.args_count, 2);
  assert.deepEqual(doc.process.user, { id: '0', name: 'root' });
  assert.deepEqual(doc.user, { id: '0', name: 'root', effective: { id: '0', name: 'root' } });
  assert.deepEqual(doc.process.real_user, { id: '1000', name: 'alice' }, 'sudo: real user differs from effective');
  assert.deepEqual(doc.process.saved_user, { id: '1000', name: 'alice' });
  assert.deepEqual(doc.process.real_group, doc.process.group, 'real ids are always written (Elastic rules compare them)');
  assert.deepEqual(doc.process.tty, { char_device: { major: 136, minor: 3 } });
  assert.equal(doc.process.interactive, true);
  const plain = ecs(byKind('unlink'));
  assert.deepEqual(plain.process.real_user, plain.process.user);
  assert.equal(plain.process.saved_user, undefined);
  const fork = ecs(byKind('fork'));
  assert.equal(fork.process.pid, 4243);
  assert.equal(fork.process.parent.pid, 17);
  const exit = ecs(byKind('exit'));
  assert.equal(exit.process.exit_code, 1);
  assert.equal(exit.process.end, exit['@timestamp']);
});

test('files, sockets, container and host', () => {
  const open = ecs(byKind('open'));
  assert.deepEqual(open.file, { path: '/etc/passwd', name: 'passwd', directory: '/etc', inode: '1234' });
  assert.equal(open.ebpf.requested.path, '../etc/./passwd');
  const chmod = ecs(byKind('chmod'));
  assert.equal(chmod.file.mode, '4755');
  const chown = ecs(byKind('chown'));
  assert.equal(chown.file.uid, '0');
  assert.equal(chown.file.owner, 'root');
  const rename = ecs(byKind('rename'));
  assert.equal(rename.file.path, '/etc/cron.d/x');
  assert.equal(rename.ebpf.source_file.path, '/tmp/x.sh');
  const conn = ecs(byKind('connect'));
  assert.deepEqual(conn.destination, { address: '203.0.113.9', ip: '203.0.113.9', port: 4444 });
  assert.deepEqual(conn.source, { address: '10.0.0.7', ip: '10.0.0.7', port: 51234 });
  assert.deepEqual(conn.network, { type: 'ipv4', transport: 'tcp', iana_number: '6', direction: 'egress' });
  assert.deepEqual(conn.related, { ip: ['10.0.0.7', '203.0.113.9'] });
  const acc = ecs(byKind('accept'));
  assert.equal(acc.source.ip, '2001:db8::1');
  assert.equal(acc.network.direction, 'ingress');
  const listen = ecs(byKind('listen'));
  assert.equal(listen.network.direction, 'ingress', 'ECS has no "listening": a listening socket awaits ingress');
  const unix = ecs(all.find((c) => c.event.ebpf.socket?.family === 'unix')!);
  assert.deepEqual(unix.network, { direction: 'egress' }, 'a unix socket has no OSI network layer (network.type)');
  assert.equal(unix.destination.address, '/run/docker.sock');
  const withContainer = all.map(ecs).find((d) => d.container);
  assert.equal(withContainer?.container.runtime, 'containerd');
  assert.equal(open.host.name, HOST.name);
  assert.deepEqual(open.host.ip, HOST.ip);
  assert.deepEqual(open.host.os, HOST.os);
  assert.equal(open.host.boot.id, HOST.boot_id);
  assert.deepEqual(open.agent, { name: AGENT.name, type: 'ebpf-sensor', version: AGENT.version, id: AGENT.id });
});

test('custom facts live under ebpf.*, without repeating ECS fields', () => {
  const doc = ecs(byKind('open'));
  assert.equal(doc.ebpf.kind, 'open');
  assert.deepEqual(doc.ebpf.open.intent, ['write', 'create', 'truncate']);
  assert.equal(doc.ebpf.syscall, 'openat', 'the syscall keeps a field of its own');
  assert.equal(doc.ebpf.process.fsuid, undefined, 'fsuid equals process.user.id');
  assert.equal(typeof doc.ebpf.process.cgroup_id, 'string');
  const tamper = ecs(byKind('tamper'));
  assert.equal(tamper.ebpf.syscall, 'openat', 'the syscall whose argument changed');
  const defs = ecsDefinitions();
  for (const ce of all) {
    for (const k of Object.keys(ecs(ce))) assert.ok(k === 'ebpf' || defs.prefixes.has(k) || defs.fields.has(k), `invented top-level name ${k}`);
  }
});

test('pure: same input, byte-identical output; the input is untouched; nothing shared', () => {
  for (const ce of all) {
    const before = structuredClone(ce);
    const a = JSON.stringify(toEcs(ce, HOST, AGENT));
    const b = JSON.stringify(toEcs(structuredClone(ce), structuredClone(HOST), structuredClone(AGENT)));
    assert.equal(a, b);
    assert.deepEqual(ce, before, 'toEcs changed its input');
  }
  const ce = structuredClone(byKind('exec'));
  const doc = toEcs(ce, HOST, AGENT) as Doc;
  doc.process.args.push('x');
  doc.process.parent.args.push('y');
  doc.host.ip.push('1.2.3.4');
  assert.equal(ce.event.process.args?.length, 3);
  assert.equal(ce.event.process.parent.args?.length, 2);
  assert.equal(HOST.ip.length, 2);
});

test('non-UTF-8 path bytes: U+FFFD in the field, exact bytes in ebpf.raw_bytes, valid UTF-8 JSON', () => {
  const raw = Buffer.concat([Buffer.from('/tmp/'), Buffer.from([0xff, 0xfe, 0x41, 0xc3]), Buffer.from('é|=\\\n\u2028')]);
  const rec = buildRecord({ type: EventType.SE_EV_OPEN, ret: 3, args: [0, 0, 0, 0, 0, Syscall.SE_SC_OPENAT], strs: [raw, null, null] });
  const ev = enrichLike(decodeRecord(rec, 0, rec.length, decodeContext()), 1);
  const doc = toEcs({ event: ev, verdict: { classification: 'normal', matches: [] } }, HOST, AGENT) as Doc;
  assert.deepEqual(validateEcs(doc), []);
  assert.equal(doc.file.path, '/tmp/\ufffd\ufffdA\ufffdé|=\\\n\u2028');
  assert.ok(fromExactBytes(doc.ebpf.raw_bytes['file.path']).equals(raw));
  assert.ok(fromExactBytes(doc.ebpf.raw_bytes['file.name']).equals(encodeRaw(ev.file!.name!)));
  assert.equal(doc.ebpf.raw_bytes['file.directory'], undefined, 'only strings that held raw bytes get an entry');
  const line = ecsJson(doc);
  assert.ok(line.isWellFormed());
  assert.ok(!/[\n\r\u2028\u2029\u0085]/.test(line), 'one document, one line');
  assert.ok(!/\\ud[89a-f]/i.test(line), 'no escaped lone surrogate in the JSON');
  assert.equal(Buffer.from(line, 'utf8').toString('utf8'), line);
  assert.deepEqual(JSON.parse(line), doc);
});

test('argv with raw bytes: the whole list is kept exactly, element by element', () => {
  const ce = structuredClone(byKind('exec'));
  ce.event.process.args = ['sh', '-c', `echo \udcff\udc80 ok`, '--x=\u0001'];
  const doc = ecs(ce);
  assert.deepEqual(doc.process.args, ['sh', '-c', 'echo \ufffd\ufffd ok', '--x=\u0001']);
  const exact = doc.ebpf.raw_bytes['process.args'] as string[];
  assert.equal(exact.length, 4);
  assert.ok(fromExactBytes(exact[2]!).equals(Buffer.from([...Buffer.from('echo '), 0xff, 0x80, ...Buffer.from(' ok')])));
  assert.equal(exact[3], '--x=%01');
  assert.deepEqual(validateEcs(doc), []);
});
