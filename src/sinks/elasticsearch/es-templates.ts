/**
 * The index templates the Elasticsearch sink installs: the official ECS 9.4.0
 * component templates of the field sets our documents use (vendored in
 * schemas/ecs/composable/), one component for the custom `ebpf.*` fields,
 * one for settings and dynamic templates (from ECS's sample template), and
 * an index template that makes the configured names data streams.
 *
 * Servers without some of ECS's field types (the integration-test
 * distribution lacks `wildcard`, `constant_keyword`, `match_only_text` and
 * `scaled_float`; the full distribution has them) refuse the templates. The
 * installer then learns from each refusal which type (or mapping parameter)
 * is missing, maps it to its nearest core type (wildcard → keyword,
 * match_only_text → text, constant_keyword → keyword, scaled_float → float),
 * installs that, logs what it replaced and records it in the index
 * template's `_meta`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errors, type Client } from '@elastic/elasticsearch';
import { SensorError } from '../../errors.js';
import type { Logger } from '../../telemetry/logger.js';

/** ECS version of the vendored templates (and of the documents: normalize/ecs). */
export const TEMPLATE_ECS_VERSION = '9.4.0';

/** The ECS field sets our documents use (see docs/outputs.md); each is one vendored component template. */
export const ECS_COMPONENTS = [
  'base',
  'agent',
  'container',
  'data_stream',
  'destination',
  'ecs',
  'error',
  'event',
  'file',
  'group',
  'host',
  'network',
  'process',
  'related',
  'rule',
  'source',
  'threat',
  'user',
] as const;

/** Core types standing in for ECS types a server lacks. */
export const TYPE_FALLBACKS: Readonly<Record<string, string>> = Object.freeze({
  wildcard: 'keyword',
  match_only_text: 'text',
  constant_keyword: 'keyword',
  scaled_float: 'float',
});

/** Longest keyword indexed from a fallback of `wildcard` (Lucene refuses terms over 32766 bytes; 8191 chars is safe in UTF-8). */
const WILDCARD_KEYWORD_IGNORE_ABOVE = 8191;

export type Mapping = Record<string, unknown>;

interface ComponentTemplate {
  template: { mappings?: Mapping; settings?: Mapping };
  _meta?: Record<string, unknown>;
  version?: number;
}

/** schemas/ecs/composable of the package (this file runs from dist/src/sinks/elasticsearch/). */
export function ecsComponentDir(): string {
  return fileURLToPath(new URL('../../../../schemas/ecs/composable/', import.meta.url));
}

function readJson(file: string): ComponentTemplate {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ComponentTemplate;
  } catch (e) {
    throw new SensorError('ESENSOR_BUILD_MISSING', `cannot read the vendored ECS template ${file}: ${(e as Error).message}`, { file, cause: e });
  }
}

// ---- the ebpf.* mapping -----------------------------------------------------

const K = { type: 'keyword', ignore_above: 4096 };
const L = { type: 'long' };
const B = { type: 'boolean' };

/**
 * Dotted name → mapping of every custom fact the ECS normalizer writes under
 * `ebpf.*` (model/event.ts EbpfFacts; a unit test checks every field the
 * normalizer emits is here). Numbers that are ids or bit sets are `long`;
 * 64-bit values kept as decimal strings (boot_ns, cgroup_id) are keywords.
 */
export const EBPF_FIELDS: Readonly<Record<string, Mapping>> = Object.freeze({
  kind: K,
  syscall: K,
  ret: L,
  errno: L,
  error: K,
  boot_ns: K,
  cpu: L,
  'process.loginuid': K,
  'process.sessionid': L,
  'process.cgroup_id': K,
  'process.cgroup': K,
  'process.mntns': L,
  'process.pidns': L,
  'process.fsuid': K,
  'process.fsgid': K,
  'process.comm': K,
  'process.start_boot_ns': K,
  'process.parent_start_boot_ns': K,
  'process.is_thread': B,
  'process.sid': L,
  'process.pgid': L,
  'open.flags': L,
  'open.flag_names': K,
  'open.mode': K,
  'open.intent': K,
  'open.dirfd': L,
  'requested.path': K,
  'requested.target_path': K,
  'source_file.path': K,
  'source_file.name': K,
  'source_file.directory': K,
  'source_file.extension': K,
  truncated: K,
  'tampering.field': K,
  'tampering.at_entry': K,
  'tampering.at_exit': K,
  'tampering.syscall': K,
  entry_lost: B,
  path_source: K,
  'ids.requested': L,
  'ids.previous': K,
  'ptrace.request': L,
  'ptrace.request_name': K,
  'ptrace.target_pid': L,
  'module.name': K,
  'module.params': K,
  'module.fd': L,
  'module.flags': L,
  'xattr.name': K,
  'xattr.namespace': K,
  'xattr.value_size': L,
  'xattr.flags': L,
  'xattr.value': K,
  'xattr.value_hex': K,
  'xattr.capabilities.permitted': K,
  'xattr.capabilities.inheritable': K,
  'xattr.capabilities.effective': B,
  'xattr.capabilities.revision': L,
  'xattr.capabilities.rootid': L,
  'utimes.atime': K,
  'utimes.mtime': K,
  'utimes.now': B,
  'utimes.flags': L,
  'process_vm.direction': K,
  'process_vm.target.pid': L,
  'process_vm.target.name': K,
  'process_vm.target.executable': K,
  'process_vm.target.entity_id': K,
  'process_vm.requested_bytes': L,
  'process_vm.bytes': L,
  'process_vm.local_iov_count': L,
  'process_vm.remote_iov_count': L,
  'process_vm.remote_address': K,
  'prctl.option': L,
  'prctl.option_name': K,
  'prctl.name': K,
  'prctl.previous_name': K,
  'process_group.pid': L,
  'process_group.pgid': L,
  'bpf.cmd': L,
  'bpf.cmd_name': K,
  'bpf.prog_type': L,
  'bpf.map_type': L,
  'bpf.name': K,
  'bpf.insn_cnt': L,
  'mount.source': K,
  'mount.target': K,
  'mount.fstype': K,
  'mount.flags': L,
  'namespaces.flags': L,
  'namespaces.names': K,
  'namespaces.fd': L,
  'namespaces.path': K,
  'capabilities.effective': K,
  'capabilities.permitted': K,
  'capabilities.inheritable': K,
  'capabilities.target_pid': L,
  'socket.family': K,
  'socket.type': K,
  'socket.protocol': L,
  'socket.backlog': L,
  'socket.path': K,
  'memfd.name': K,
  'memfd.flags': L,
  'io_uring.opcode': L,
  'io_uring.operation': K,
  'io_uring.setup.sq_entries': L,
  'io_uring.setup.cq_entries': L,
  'io_uring.setup.flags': L,
  'io_uring.setup.flag_names': K,
  'chmod.mode': K,
  'chown.uid': L,
  'chown.gid': L,
  'loss.kernel': L,
  'loss.reader': L,
  'loss.per_cpu': L,
  'loss.interval_s': L,
  'loss.sink': K,
  'loss.reason': K,
  'loss.count': L,
  'loss.from': L,
  'loss.to': L,
  'exec.filename': K,
  'exec.interpreter': K,
  'exec.argv_truncated': B,
  'exec.args': K,
  'exec.stdio.stdin': K,
  'exec.stdio.stdout': K,
  'exec.stdio.stderr': K,
  'exit.status': L,
  'exit.signal': L,
  'rules.id': K,
  'rules.severity': K,
  'rules.action': K,
  // Field name → percent-encoded exact bytes; the keys are ECS field names with dots.
  raw_bytes: { type: 'flattened' },
});

/** Nested `properties` for dotted names. */
export function nestProperties(flat: Readonly<Record<string, Mapping>>): Mapping {
  const root: Mapping = {};
  for (const [name, m] of Object.entries(flat)) {
    const parts = name.split('.');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      const next = (node[p] ??= { properties: {} }) as { properties: Mapping };
      node = next.properties;
    }
    node[parts[parts.length - 1]!] = { ...m };
  }
  return root;
}

/**
 * Elastic Defend's own (non-ECS) names that Elastic's prebuilt rules query, as
 * field aliases of the fields holding the same facts (schemas/elastic-defend-aliases.json).
 */
export function defendAliases(): Record<string, Mapping> {
  const file = fileURLToPath(new URL('../../../../schemas/elastic-defend-aliases.json', import.meta.url));
  const { aliases } = readJson(file) as unknown as { aliases: Record<string, string> };
  const out: Record<string, Mapping> = {};
  for (const [name, path] of Object.entries(aliases)) out[name] = { type: 'alias', path };
  return out;
}

/** Dotted name → mapping of every leaf field of some components' mappings. */
function leafMappings(components: ReadonlyArray<{ body: ComponentTemplate }>): Map<string, Mapping> {
  const out = new Map<string, Mapping>();
  const walk = (props: Mapping, prefix: string): void => {
    for (const [k, v] of Object.entries(props)) {
      const m = v as Mapping;
      if (m.properties) walk(m.properties as Mapping, `${prefix}${k}.`);
      else out.set(`${prefix}${k}`, m);
    }
  };
  for (const c of components) walk((c.body.template.mappings?.properties ?? {}) as Mapping, '');
  return out;
}

/**
 * The aliases with their targets' mappings, copied from the components that
 * define them: Elasticsearch validates a component template on its own, and an
 * alias must point at a field of the same mapping.
 */
function withTargets(aliases: Record<string, Mapping>, components: ReadonlyArray<{ body: ComponentTemplate }>): Record<string, Mapping> {
  const leaves = leafMappings(components);
  const out: Record<string, Mapping> = {};
  for (const [name, m] of Object.entries(aliases)) {
    const target = leaves.get(m.path as string);
    if (!target) throw new SensorError('ESENSOR_BUILD_MISSING', `field alias ${name} → ${String(m.path)}: no template maps ${String(m.path)}`);
    out[m.path as string] = target;
  }
  return { ...out, ...aliases };
}

// ---- building ---------------------------------------------------------------

export interface TemplateSet {
  /** Component template name → body. */
  components: Array<{ name: string; body: ComponentTemplate }>;
  indexTemplate: { name: string; body: Mapping };
}

export interface TemplateOptions {
  /** Index template name; components are `<name>@<part>`. */
  name: string;
  /** Data stream names the template applies to (exactly these). */
  dataStreams: readonly string[];
  priority: number;
  sensorVersion: string;
}

/** The templates to install, before any fallback. */
export function buildTemplates(o: TemplateOptions): TemplateSet {
  const dir = ecsComponentDir();
  const sample = readJson(join(dir, 'template.json')) as ComponentTemplate & { template: { mappings: Mapping; settings: Mapping } };
  const meta = { managed_by: 'ebpf-sensor', sensor_version: o.sensorVersion, ecs_version: TEMPLATE_ECS_VERSION };
  const components: TemplateSet['components'] = [];
  for (const c of ECS_COMPONENTS) {
    const body = readJson(join(dir, 'component', `${c}.json`));
    components.push({ name: `${o.name}@ecs-${c}`, body: { template: body.template, _meta: { ...body._meta, ...meta } } });
  }
  components.push({
    name: `${o.name}@ebpf`,
    body: {
      template: { mappings: { properties: { ebpf: { properties: nestProperties(EBPF_FIELDS) } } } },
      _meta: { ...meta, description: 'custom ebpf.* fields of ebpf-sensor (docs/outputs.md)' },
    },
  });
  components.push({
    name: `${o.name}@defend-aliases`,
    body: {
      template: { mappings: { properties: nestProperties(withTargets(defendAliases(), components)) } },
      _meta: { ...meta, description: "field aliases: Elastic Defend's Ext names the prebuilt rules query → our fields (docs/elastic.md)" },
    },
  });
  components.push({
    name: `${o.name}@settings`,
    body: {
      template: { settings: sample.template.settings, mappings: sample.template.mappings },
      _meta: { ...meta, description: 'settings and dynamic templates of the ECS sample template' },
    },
  });
  return {
    components,
    indexTemplate: {
      name: o.name,
      body: {
        index_patterns: [...o.dataStreams],
        data_stream: {},
        priority: o.priority,
        composed_of: components.map((c) => c.name),
        _meta: { ...meta, description: 'ebpf-sensor events and alerts (ECS), installed by the sensor' },
      },
    },
  };
}

// ---- fallbacks ----------------------------------------------------------------

export interface Fallbacks {
  /** Types the server lacks → what was installed instead. */
  types: Set<string>;
  /** Mapping parameters the server does not know, removed. */
  params: Set<string>;
}

/** `mapping` with the unsupported types replaced and unknown parameters removed (a new object). */
export function applyFallbacks(mapping: unknown, fb: Fallbacks): unknown {
  if (Array.isArray(mapping)) return mapping.map((m) => applyFallbacks(m, fb));
  if (typeof mapping !== 'object' || mapping === null) return mapping;
  const src = mapping as Mapping;
  const out: Mapping = {};
  for (const [k, v] of Object.entries(src)) {
    if (fb.params.has(k) && typeof v !== 'object') continue;
    out[k] = applyFallbacks(v, fb);
  }
  const type = src.type;
  if (typeof type === 'string' && fb.types.has(type) && TYPE_FALLBACKS[type]) {
    const replaced: Mapping = { type: TYPE_FALLBACKS[type] };
    if (out.fields !== undefined) replaced.fields = out.fields;
    if (type === 'wildcard') replaced.ignore_above = typeof out.ignore_above === 'number' ? out.ignore_above : WILDCARD_KEYWORD_IGNORE_ABOVE;
    if (out.synthetic_source_keep !== undefined) replaced.synthetic_source_keep = out.synthetic_source_keep;
    return replaced;
  }
  return out;
}

/** What a refusal says is missing: a field type or a mapping parameter. */
export function missingFeature(e: unknown): { type?: string; param?: string } | undefined {
  if (!(e instanceof errors.ResponseError) || e.statusCode !== 400) return undefined;
  const text = JSON.stringify(e.body ?? e.message);
  const t = /No handler for type \[([a-z_]+)\]|mapper type \[([a-z_]+)\][^"]*does not exist|unknown (?:field )?type \[([a-z_]+)\]/.exec(text);
  if (t) return { type: t[1] ?? t[2] ?? t[3]! };
  const p = /unknown parameter \[([a-z_]+)\] on mapper/.exec(text);
  if (p) return { param: p[1]! };
  return undefined;
}

export interface InstallResult {
  components: string[];
  indexTemplate: string;
  /** Type → replacement, for the types the server lacked. */
  fallbacks: Record<string, string>;
  removedParams: string[];
}

/**
 * Put every component template, then the index template (matching the
 * configured data streams and those an earlier install matched). Refusals naming a
 * missing type or parameter are answered with the fallback and retried; any
 * other refusal throws (ESENSOR_SINK_CONFIG for 4xx, ESENSOR_SINK_UNAVAILABLE
 * otherwise, both retriable: delivery tries again).
 */
export async function installTemplates(client: Client, set: TemplateSet, log: Logger): Promise<InstallResult> {
  const fb: Fallbacks = { types: new Set(), params: new Set() };
  const put = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await fn();
        return;
      } catch (e) {
        const miss = attempt < 20 ? missingFeature(e) : undefined;
        if (miss?.type && TYPE_FALLBACKS[miss.type] && !fb.types.has(miss.type)) {
          fb.types.add(miss.type);
          continue;
        }
        if (miss?.param && !fb.params.has(miss.param)) {
          fb.params.add(miss.param);
          continue;
        }
        throw templateError(what, e);
      }
    }
  };
  for (const c of set.components) {
    await put(`component template ${c.name}`, () =>
      client.cluster.putComponentTemplate({ name: c.name, template: applyFallbacks(c.body.template, fb) as never, _meta: c.body._meta as never }),
    );
  }
  const fallbacks = Object.fromEntries([...fb.types].map((t) => [t, TYPE_FALLBACKS[t]!]));
  // Keep the names an earlier install (other data stream names in the config) matched: Elasticsearch refuses
  // a template change that would leave an existing data stream without a template.
  const patterns = [...(set.indexTemplate.body.index_patterns as string[])];
  try {
    const existing = await client.indices.getIndexTemplate({ name: set.indexTemplate.name });
    for (const t of existing.index_templates) {
      const old = t.index_template.index_patterns;
      for (const p of Array.isArray(old) ? old : [old]) if (!patterns.includes(p)) patterns.push(p);
    }
  } catch (e) {
    if (!(e instanceof errors.ResponseError && e.statusCode === 404)) throw templateError(`index template ${set.indexTemplate.name} (reading it)`, e);
  }
  const body = { ...set.indexTemplate.body, index_patterns: patterns, _meta: { ...(set.indexTemplate.body._meta as Mapping), fallbacks, removed_parameters: [...fb.params] } };
  await put(`index template ${set.indexTemplate.name}`, () => client.indices.putIndexTemplate({ name: set.indexTemplate.name, ...(body as object) } as never));
  const result: InstallResult = {
    components: set.components.map((c) => c.name),
    indexTemplate: set.indexTemplate.name,
    fallbacks,
    removedParams: [...fb.params],
  };
  if (fb.types.size || fb.params.size) {
    log.warn(
      { fallbacks, removedParams: result.removedParams, template: set.indexTemplate.name },
      'Elasticsearch lacks ECS field types %s: templates installed with fallbacks (%s); searches on those fields behave like their core types (docs/delivery.md)',
      [...fb.types].join(', ') || '(none)',
      Object.entries(fallbacks)
        .map(([a, b]) => `${a}→${b}`)
        .join(', ') || [...fb.params].map((p) => `-${p}`).join(', '),
    );
  } else {
    log.info({ template: set.indexTemplate.name, components: result.components.length }, 'ECS index templates installed');
  }
  return result;
}

function templateError(what: string, e: unknown): SensorError {
  const status = e instanceof errors.ResponseError ? e.statusCode : undefined;
  const reason = e instanceof errors.ResponseError ? JSON.stringify((e.body as { error?: unknown })?.error ?? e.message).slice(0, 500) : (e as Error).message;
  if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
    return new SensorError('ESENSOR_SINK_CONFIG', `Elasticsearch refused the ${what} (HTTP ${status}): ${reason}` + (status === 403 ? ' — the sensor needs the manage_index_templates cluster privilege, or set elasticsearch.templates.install: false' : ''), {
      field: 'elasticsearch.templates',
      cause: e,
      retriable: true,
    });
  }
  return new SensorError('ESENSOR_SINK_UNAVAILABLE', `cannot install the ${what}: ${reason}`, { cause: e, retriable: true });
}
