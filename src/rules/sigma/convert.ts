/**
 * One Sigma rule (parsed YAML) → one rule of ours, as YAML text.
 *
 * Takes the Sigma document and its file name; gives `{ id, text }` or
 * `{ reason }`. The rule id is `sigma_` + the Sigma file's base name (stable
 * across re-imports); level → severity (informational → low); ATT&CK tags →
 * technique and tactic ids; title → name; description, and the Sigma id and
 * author → desc; author, references, false positives, dates and the licence
 * are kept as comments above the rule (the Detection Rule License asks for
 * the author's attribution in anything derived from a rule).
 */
import { Document } from 'yaml';
import { auditdFilter, auditdSelection } from './auditd.js';
import { detectionText, type SelectionConverter } from './detection.js';
import { logsourceOf, type Logsource, type LogsourceBlock } from './logsource.js';
import { fieldTest, Unsupported } from './values.js';

export type Conversion = { id: string; text: string; logsource: string } | { id: string; reason: string; logsource: string };

const TACTICS: Record<string, string> = {
  reconnaissance: 'TA0043',
  resource_development: 'TA0042',
  initial_access: 'TA0001',
  execution: 'TA0002',
  persistence: 'TA0003',
  privilege_escalation: 'TA0004',
  defense_evasion: 'TA0005',
  credential_access: 'TA0006',
  discovery: 'TA0007',
  lateral_movement: 'TA0008',
  collection: 'TA0009',
  exfiltration: 'TA0010',
  command_and_control: 'TA0011',
  impact: 'TA0040',
};

const SEVERITY: Record<string, string> = { informational: 'low', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };

/** Sigma tags → our tags: ATT&CK techniques and tactics; other tags are dropped (kept in the comment). */
export function mapTags(tags: unknown): string[] {
  const out: string[] = [];
  for (const t of Array.isArray(tags) ? tags : []) {
    const s = String(t).toLowerCase();
    const tech = /^attack\.(t\d{4}(\.\d{3})?)$/.exec(s);
    const tactic = TACTICS[s.replace(/^attack\./, '').replace(/-/g, '_')];
    const tag = tech ? tech[1]!.toUpperCase() : s.startsWith('attack.') ? tactic : undefined;
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}

/** The rule id for a Sigma file: sigma_ + its base name, in our id alphabet. */
export function ruleIdFor(fileName: string): string {
  const base = fileName.replace(/^.*\//, '').replace(/\.ya?ml$/i, '');
  return `sigma_${base.toLowerCase().replace(/[^a-z0-9_.-]+/g, '_')}`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() ? v.trim() : v instanceof Date ? v.toISOString().slice(0, 10) : typeof v === 'number' ? String(v) : undefined;
}

function list(v: unknown): string[] {
  return (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]).map((x) => String(x));
}

function converterFor(ls: Logsource): SelectionConverter {
  if (ls.name === 'auditd') return (sel) => ('type' in sel ? auditdSelection(sel) : auditdFilter(sel));
  return (sel) => {
    const tests = Object.entries(sel).map(([key, value]) => {
      const [name, ...mods] = key.split('|');
      const map = ls.fields[name!];
      if (name === '') throw new Unsupported(`keyword search ("|${mods.join('|')}" over the whole record, no field): not converted`);
      if (!map) {
        const why = ls.unsupported[name!];
        throw new Unsupported(why ? `field ${name}: ${why}` : `field ${name} has no equivalent in our ${ls.name} events`);
      }
      return fieldTest(map, name!, mods, value);
    });
    return tests.length === 1 ? tests[0]! : `(${tests.join(' and ')})`;
  };
}

/** Convert one parsed Sigma document. */
export function convertSigma(doc: Record<string, unknown>, fileName: string): Conversion {
  const id = ruleIdFor(fileName);
  const ls = logsourceOf(doc.logsource as LogsourceBlock | undefined);
  const lsName = typeof ls === 'string' ? String((doc.logsource as LogsourceBlock | undefined)?.category ?? (doc.logsource as LogsourceBlock | undefined)?.service ?? 'log lines') : ls.name;
  if (typeof ls === 'string') return { id, reason: ls, logsource: lsName };
  const title = str(doc.title);
  if (!title) return { id, reason: 'no title', logsource: lsName };
  const detection = doc.detection;
  if (!detection || typeof detection !== 'object') return { id, reason: 'no detection block', logsource: lsName };
  let body: string;
  try {
    body = detectionText(detection as Record<string, unknown>, converterFor(ls));
  } catch (e) {
    if (e instanceof Unsupported) return { id, reason: e.message, logsource: lsName };
    throw e;
  }
  const condition = ls.base ? `${ls.base} and ${body}` : body;
  const sigmaId = str(doc.id);
  const author = str(doc.author);
  const level = str(doc.level) ?? 'medium';
  const severity = SEVERITY[level];
  if (!severity) return { id, reason: `level "${level}" is not a Sigma level`, logsource: lsName };
  const description = str(doc.description) ?? title;
  const attribution = `Sigma rule ${sigmaId ?? fileName}${author ? ` by ${author}` : ''}; Detection Rule License 1.1.`;
  const rule: Record<string, unknown> = {
    rule: id,
    name: title,
    desc: `${description.replace(/\s+/g, ' ')} (${attribution})`,
    condition,
    output: `Sigma: ${title}: ${ls.output}`,
    severity,
  };
  const tags = mapTags(doc.tags);
  if (tags.length) rule.tags = tags;
  if (doc.status === 'deprecated' || doc.status === 'unsupported') rule.enabled = false;

  const comment = [
    ` Imported from Sigma by \`ebpf-sensor rules import-sigma\` (re-import rather than edit).`,
    ` Source: ${fileName.replace(/^.*\//, '')}`,
    ` Sigma id: ${sigmaId ?? '(none)'}`,
    ` Title: ${title}`,
    ` Author: ${author ?? '(none)'}`,
    ` License: Detection Rule License (DRL) 1.1 — keep this attribution.`,
  ];
  const dates = [str(doc.date) && `date ${str(doc.date)}`, str(doc.modified) && `modified ${str(doc.modified)}`].filter(Boolean);
  if (dates.length) comment.push(` Dates: ${dates.join(', ')}`);
  if (str(doc.status)) comment.push(` Status: ${str(doc.status)}`);
  comment.push(` Level: ${level}`);
  const refs = list(doc.references);
  if (refs.length) comment.push(' References:', ...refs.map((r) => `   - ${r}`));
  const fps = list(doc.falsepositives);
  if (fps.length) comment.push(' False positives:', ...fps.map((r) => `   - ${r}`));
  const sigmaTags = list(doc.tags);
  if (sigmaTags.length) comment.push(` Sigma tags: ${sigmaTags.join(', ')}`);
  const y = new Document([rule]);
  y.commentBefore = comment.map((c) => c.replace(/\r?\n/g, ' ')).join('\n');
  return { id, text: y.toString({ lineWidth: 0 }), logsource: lsName };
}
