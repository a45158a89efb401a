// Issue #19: the Splunk add-on (contrib/splunk-addon/TA-ebpf-sensor) maps our
// sourcetypes to the CIM: its props/transforms, applied to the sensor's own
// ECS documents and CEF lines (the normalizer corpus: every event kind,
// alerts with MITRE tags, a loss report), give the CIM Endpoint Processes /
// Filesystem / Ports and Network_Traffic fields with the values the events
// carry, severity on the CIM scale and the ATT&CK ids; every eventtype has
// its CIM tags.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ecsLine } from '../../src/normalize/ecs/ecs-serializer.js';
import { toCef } from '../../src/normalize/cef/cef.js';
import type { ClassifiedEvent } from '../../src/model/event.js';
import { AGENT, HOST, corpus, lossEvent } from '../helpers/normalize-corpus.js';
import { applyAliases, applyEvals, applyReport, jsonFields, parseConf, type Fields } from '../helpers/splunk-conf.js';

const dir = fileURLToPath(new URL('../../../contrib/splunk-addon/TA-ebpf-sensor/default/', import.meta.url));
const props = parseConf(join(dir, 'props.conf'));
const transforms = parseConf(join(dir, 'transforms.conf'));
const RULE_SEVERITY: Record<string, string> = { low: 'low', medium: 'medium', high: 'high', critical: 'critical' };

function events(): ClassifiedEvent[] {
  const list = corpus();
  list.push({ event: lossEvent(), verdict: { classification: 'normal', matches: [] } });
  return list;
}

function ecsFields(ce: ClassifiedEvent): { f: Fields; doc: Record<string, any> } {
  const doc = JSON.parse(ecsLine(ce, HOST, AGENT)) as Record<string, any>;
  const f = jsonFields(doc);
  const stanza = props.get('ebpf:ecs')!;
  applyAliases(stanza, f);
  applyEvals(stanza, f);
  return { f, doc };
}

function cefFields(line: string): Fields {
  const stanza = props.get('ebpf:cef')!;
  const f: Fields = new Map();
  const report = [...stanza].filter(([k]) => k.startsWith('REPORT-')).flatMap(([, v]) => v.split(/\s*,\s*/));
  applyReport(line, transforms, report, f);
  applyAliases(stanza, f);
  applyEvals(stanza, f);
  return f;
}

function top(ce: ClassifiedEvent): string | undefined {
  const order = ['low', 'medium', 'high', 'critical'];
  let best: string | undefined;
  for (const m of ce.verdict.matches) if (best === undefined || order.indexOf(m.severity) > order.indexOf(best)) best = m.severity;
  return best;
}

test('ebpf:ecs: CIM Processes, Filesystem, Network fields, severity, MITRE ids and action from our documents', () => {
  const seen = new Set<string>();
  for (const ce of events()) {
    const { f, doc } = ecsFields(ce);
    const id = doc.event.id as string;
    assert.equal(f.get('vendor_product'), 'ebpf-sensor');
    assert.equal(f.get('event_id'), id);
    if (doc.process) {
      seen.add('process');
      assert.equal(f.get('process_id'), doc.process.pid, id);
      assert.equal(f.get('process_name'), doc.process.name, id);
      assert.equal(f.get('process_path'), doc.process.executable, id);
      assert.equal(f.get('process'), doc.process.command_line, id);
      assert.equal(f.get('process_guid'), doc.process.entity_id, id);
      if (doc.process.parent?.pid !== undefined) assert.equal(f.get('parent_process_id'), doc.process.parent.pid, id);
      if (doc.process.parent?.name !== undefined) assert.equal(f.get('parent_process_name'), doc.process.parent.name, id);
    }
    if (doc.user?.name !== undefined) assert.equal(f.get('user'), doc.user.name, id);
    const cats: string[] = doc.event.category;
    const types: string[] = doc.event.type;
    if (cats.includes('file') && doc.file?.path) {
      seen.add('file');
      assert.equal(f.get('file_path'), doc.file.path, id);
      assert.equal(f.get('file_name'), doc.file.name, id);
    }
    if (doc.destination?.ip !== undefined) {
      seen.add('network');
      assert.equal(f.get('dest_ip'), doc.destination.ip, id);
      assert.equal(f.get('dest'), doc.destination.ip, id);
      if (doc.destination.port !== undefined) assert.equal(f.get('dest_port'), doc.destination.port, id);
      if (doc.network?.transport) assert.equal(f.get('transport'), doc.network.transport, id);
    } else {
      assert.equal(f.get('dest'), HOST.name, `${id}: the endpoint is the dest`);
    }
    if (doc.source?.ip !== undefined) assert.equal(f.get('src_ip'), doc.source.ip, id);
    if (doc.network?.direction === 'ingress') assert.equal(f.get('direction'), 'inbound', id);
    if (doc.network?.direction === 'egress') assert.equal(f.get('direction'), 'outbound', id);
    // action: CIM's vocabulary per data model
    const want =
      doc.event.outcome === 'failure'
        ? 'blocked'
        : cats.includes('file') && types.includes('creation')
          ? 'created'
          : cats.includes('file') && types.includes('deletion')
            ? 'deleted'
            : cats.includes('file') && types.includes('change')
              ? 'modified'
              : cats.includes('file') && types.includes('access')
                ? 'read'
                : 'allowed';
    assert.equal(f.get('action'), want, id);
    const sev = top(ce);
    if (sev) {
      seen.add('alert');
      assert.equal(f.get('severity'), RULE_SEVERITY[sev], id);
      assert.equal(f.get('signature'), doc.rule.name, id);
      assert.equal(f.get('signature_id'), doc.rule.id, id);
      const techniques = [doc.threat?.technique?.id ?? []].flat();
      if (techniques.length) {
        seen.add('mitre');
        assert.deepEqual([f.get('mitre_technique_id')].flat(), techniques, id);
        assert.deepEqual([f.get('mitre_tactic_id')].flat(), [doc.threat.tactic.id].flat(), id);
      }
    } else {
      assert.equal(f.get('severity'), 'informational', id);
    }
  }
  assert.deepEqual([...seen].sort(), ['alert', 'file', 'mitre', 'network', 'process']);
});

test('ebpf:cef: header and extension extractions give the same CIM fields from our CEF lines', () => {
  const seen = new Set<string>();
  for (const ce of events()) {
    const line = toCef(ce, HOST, AGENT);
    const f = cefFields(line);
    const ev = ce.event;
    const id = ev.event.id;
    assert.equal(f.get('cef_vendor'), 'ebpf-sensor', line);
    assert.equal(f.get('event_id'), id, line);
    assert.equal(f.get('dvc'), HOST.name);
    if (ev.ebpf.kind !== 'loss') {
      assert.equal(Number(f.get('process_id')), ev.process.pid, line);
      assert.equal(f.get('process_name'), ev.process.name, line);
      if (ev.process.command_line) assert.equal(f.get('process'), ev.process.command_line, `${line}: command line unescaped`);
      if (ev.user.name !== undefined) assert.equal(f.get('user'), ev.user.name, line);
    }
    if (ev.file?.path && ev.process.executable !== ev.file.path) {
      seen.add('file');
      assert.equal(f.get('file_path'), ev.file.path, line);
    }
    if (ev.destination?.ip) {
      seen.add('network');
      assert.equal(f.get('dest_ip'), ev.destination.ip, line);
      assert.equal(Number(f.get('dest_port')), ev.destination.port, line);
    }
    const sev = top(ce);
    if (sev) {
      seen.add('alert');
      const m = ce.verdict.matches.find((x) => x.severity === sev)!;
      assert.equal(f.get('severity'), RULE_SEVERITY[sev], line);
      assert.equal(f.get('signature_id'), m.id, line);
      assert.equal(f.get('signature'), m.name, line);
      const tags = [...new Set(ce.verdict.matches.flatMap((x) => x.tags))];
      assert.deepEqual([f.get('rule_tags')].flat(), tags, line);
      assert.deepEqual([f.get('mitre_technique_id')].flat(), tags.filter((x) => /^T\d{4}(\.\d{3})?$/.test(x)), line);
      assert.deepEqual([f.get('mitre_tactic_id')].flat(), tags.filter((x) => /^TA\d{4}$/.test(x)), line);
      seen.add('mitre');
    } else {
      assert.ok(['informational', 'medium'].includes(String(f.get('severity'))), line);
    }
    assert.equal(f.get('action'), ev.event.outcome === 'failure' ? 'blocked' : 'allowed', line);
  }
  assert.deepEqual([...seen].sort(), ['alert', 'file', 'mitre', 'network']);
});

test('every eventtype has its CIM tags, and every tagged eventtype exists', () => {
  const eventtypes = parseConf(join(dir, 'eventtypes.conf'));
  const tags = parseConf(join(dir, 'tags.conf'));
  const want: Record<string, string[]> = {
    ebpf_process: ['process', 'report'],
    ebpf_file: ['endpoint', 'filesystem'],
    ebpf_listening_port: ['listening', 'port'],
    ebpf_network_traffic: ['network', 'communicate'],
    ebpf_alert: ['alert'],
  };
  assert.deepEqual([...eventtypes.keys()].sort(), Object.keys(want).sort());
  for (const [et, t] of Object.entries(want)) {
    const s = tags.get(`eventtype=${et}`);
    assert.ok(s, et);
    assert.deepEqual([...s.keys()].sort(), [...t].sort(), et);
    assert.match(eventtypes.get(et)!.get('search')!, /sourcetype="ebpf:ecs"/);
    assert.match(eventtypes.get(et)!.get('search')!, /sourcetype="ebpf:cef"/);
  }
});
