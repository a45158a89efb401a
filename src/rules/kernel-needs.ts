/**
 * What the compiled rules need from the kernel, so that events nobody wants
 * die there (the cheapest place): the event families any enabled rule can
 * match, and for read-only opens — by far the most frequent event — the leaf
 * names and path prefixes some rule could match. Also the kill rules the
 * kernel can decide on its own (bpf_send_signal before the syscall returns).
 *
 * Both come from the same IR the engine runs, specialized with the facts of
 * a read-only open (intent read, success or failure): a rule whose condition
 * folds to false there needs no read-only opens at all.
 */
import { EVENT_KINDS, type EventKind } from '../model/event.js';
import { kindFacts, specialize, type CompiledRule, type IR, type TestIR } from './compiler.js';
import type { FieldValue } from './fields.js';
import { globPrefix } from './patterns.js';
import type { RuleEngine } from './engine.js';

export interface KernelNeeds {
  /** Families to report: those rules can match plus exec/fork/exit/setsid/setpgid (the process table needs them); every family when telemetry forwards everything. */
  kinds: 'all' | Set<EventKind>;
  /** Path prefixes of read-only opens some rule may match (byte prefixes: "/etc/cron" covers /etc/crontab). */
  prefixes: string[];
  /** Whole paths of read-only opens some rule may match (the kernel can test their leaf names without walking the path). */
  paths: string[];
  /** Leaf names of read-only opens some rule may match. */
  names: string[];
  /** Report every successful read-only open (a rule matches them without a name/prefix constraint, or telemetry 'all'). */
  openReads: boolean;
  /** Report every failed read-only open (a rule matches them without a name/prefix constraint, or telemetry 'all'); otherwise the names/prefixes above apply to them too. */
  failedReads: boolean;
  /**
   * For each entry of prefixes, paths and names: the outcomes of read-only
   * opens it is wanted for (Interest bits: 1 success, 2 failure). A prefix's
   * bits include those of every shorter prefix covering it (the kernel's LPM
   * trie answers with the longest match only).
   */
  interest: { prefixes: ReadonlyMap<string, number>; paths: ReadonlyMap<string, number>; names: ReadonlyMap<string, number> };
}

/** Outcome bits of KernelNeeds.interest (enum se_interest in bpf/abi/sensor_abi.h). */
export const INTEREST_OK = 1;
export const INTEREST_FAILED = 2;

/**
 * Families the sensor needs whatever the rules say: the process lifecycle,
 * and the session and process-group changes the process table follows at
 * once (Session View's leaders; rare: daemons, shells' job control).
 */
export const PROCESS_LIFECYCLE: readonly EventKind[] = ['exec', 'fork', 'exit', 'setsid', 'setpgid'];

type Req = { t: 'never' } | { t: 'any' } | { t: 'set'; prefixes: Set<string>; paths: Set<string>; names: Set<string> };

/** The kernel compares leaf names of fewer bytes than this (struct se_name_key). */
export const KERNEL_NAME_MAX = 64;

/** Can the kernel's name filter (name_of_interest) hold this leaf name? */
export function nameable(n: string): boolean {
  return n.length > 0 && Buffer.byteLength(n) < KERNEL_NAME_MAX;
}

const NEVER: Req = { t: 'never' };
const ANY: Req = { t: 'any' };

function size(r: Req): number {
  return r.t === 'set' ? r.prefixes.size + r.paths.size + r.names.size : Infinity;
}

function strs(t: TestIR): string[] {
  return t.values.map(String);
}

/** The path constraint a test puts on file.path / file.name / file.directory, if any. */
function testReq(t: TestIR): Req {
  const set = (prefixes: string[], paths: string[], names: string[]): Req => ({ t: 'set', prefixes: new Set(prefixes), paths: new Set(paths), names: new Set(names) });
  // A whole path whose leaf the kernel can compare is a path; any other (a
  // directory, a leaf too long for the kernel's name key) is walked as a prefix.
  const paths = (vs: string[]): Req => set(vs.filter((v) => !nameable(leafOf(v))), vs.filter((v) => nameable(leafOf(v))), []);
  switch (t.field.name) {
    case 'file.path':
      if (t.op === '=' || t.op === 'in') return paths(strs(t));
      if (t.op === 'startswith') return set(strs(t), [], []);
      if (t.op === 'glob') {
        const vs = strs(t);
        const ps = vs.map(globPrefix);
        if (!ps.every((p) => p.startsWith('/'))) return ANY;
        // A pattern without wildcards names one path.
        const whole = vs.filter((v, i) => ps[i] === v);
        const r = paths(whole) as Extract<Req, { t: 'set' }>;
        for (let i = 0; i < vs.length; i++) if (ps[i] !== vs[i]) r.prefixes.add(ps[i]!);
        return r;
      }
      if (t.op === 'endswith') {
        // endswith "/name" is a leaf-name test; other suffixes are not.
        const vs = strs(t);
        return vs.every((v) => v.lastIndexOf('/') === 0 && nameable(v.slice(1))) ? set([], [], vs.map((v) => v.slice(1))) : ANY;
      }
      return ANY;
    case 'file.directory':
      if (t.op === '=' || t.op === 'in') return set(strs(t).map((d) => (d.endsWith('/') ? d : `${d}/`)), [], []);
      if (t.op === 'startswith') return set(strs(t), [], []);
      return ANY;
    case 'file.name':
      if ((t.op === '=' || t.op === 'in') && strs(t).every(nameable)) return set([], [], strs(t));
      return ANY;
    default:
      return ANY;
  }
}

function req(ir: IR): Req {
  switch (ir.t) {
    case 'const':
      return ir.value ? ANY : NEVER;
    case 'test':
      return testReq(ir);
    case 'not':
      return ANY;
    case 'and': {
      // Every item must hold: any constrained item bounds the whole; keep the tightest.
      let best: Req = ANY;
      for (const x of ir.items) {
        const r = req(x);
        if (r.t === 'never') return NEVER;
        if (size(r) < size(best)) best = r;
      }
      return best;
    }
    case 'or': {
      const out = { t: 'set' as const, prefixes: new Set<string>(), paths: new Set<string>(), names: new Set<string>() };
      let any = false;
      for (const x of ir.items) {
        const r = req(x);
        if (r.t === 'any') any = true;
        else if (r.t === 'set') {
          for (const p of r.prefixes) out.prefixes.add(p);
          for (const p of r.paths) out.paths.add(p);
          for (const n of r.names) out.names.add(n);
        }
      }
      if (any) return ANY;
      return size(out) ? out : NEVER;
    }
  }
}

function readOpenFacts(outcome: 'success' | 'failure'): Map<string, readonly FieldValue[]> {
  const f = kindFacts('open');
  // A read-only open asks for read (or nothing, with O_PATH).
  f.set('ebpf.open.intent', [['read'], []]);
  f.set('event.outcome', [outcome]);
  return f;
}

/** The last component of a path ("" for a path ending in "/"). */
export function leafOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * Prefixes with their outcome bits, minus those a shorter prefix already
 * covers for every outcome they are wanted for. A kept prefix's bits include
 * those of the prefixes covering it.
 */
export function minimalPrefixes(ps: ReadonlyMap<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  // Sorted, a prefix comes after every prefix of it.
  for (const p of [...ps.keys()].sort()) {
    let covering = 0;
    for (const [q, bits] of out) if (p.startsWith(q)) covering |= bits;
    const bits = ps.get(p)! | covering;
    if (bits !== covering) out.set(p, bits);
  }
  return out;
}

function addBits(m: Map<string, number>, key: string, bits: number): void {
  m.set(key, (m.get(key) ?? 0) | bits);
}

/** The kernel filter the enabled rules need. */
export function kernelNeeds(ruleset: RuleEngine | readonly CompiledRule[], telemetry: 'all' | 'alerts'): KernelNeeds {
  const rules = (Array.isArray(ruleset) ? (ruleset as readonly CompiledRule[]) : (ruleset as RuleEngine).rules).filter((r) => r.enabled);
  // The process lifecycle is always wanted: enrich's process table learns
  // executables, arguments and parents from it, and every rule reads those.
  const kinds = new Set<EventKind>(PROCESS_LIFECYCLE);
  for (const r of rules) for (const k of r.kinds) kinds.add(k);
  const prefixes = new Map<string, number>();
  const paths = new Map<string, number>();
  const names = new Map<string, number>();
  let openReads = false;
  let failedReads = false;
  const ok = readOpenFacts('success');
  const failed = readOpenFacts('failure');
  for (const r of rules) {
    if (!r.kinds.has('open')) continue;
    for (const [facts, bit] of [
      [ok, INTEREST_OK],
      [failed, INTEREST_FAILED],
    ] as const) {
      const s = specialize(r.ir, facts);
      const q = req(s);
      if (q.t === 'never') continue;
      if (q.t === 'any') {
        if (bit === INTEREST_OK) openReads = true;
        else failedReads = true;
      } else {
        for (const p of q.prefixes) addBits(prefixes, p, bit);
        for (const p of q.paths) addBits(paths, p, bit);
        for (const n of q.names) addBits(names, n, bit);
      }
    }
  }
  const minimal = minimalPrefixes(prefixes);
  // A path under a prefix of interest for the same outcomes needs no name of its own.
  const covering = (p: string): number => {
    let bits = 0;
    for (const [q, b] of minimal) if (p.startsWith(q)) bits |= b;
    return bits;
  };
  const wholePaths = [...paths.keys()].filter((p) => (paths.get(p)! & ~covering(p)) !== 0).sort();
  const interest = { prefixes: minimal, paths: new Map(wholePaths.map((p) => [p, paths.get(p)!] as const)), names };
  const out = { prefixes: [...minimal.keys()], paths: wholePaths, names: [...names.keys()].sort(), interest };
  if (telemetry === 'all') return { kinds: 'all', ...out, openReads: true, failedReads: true };
  return { kinds, ...out, openReads, failedReads };
}

/** A kill rule in the form the BPF side evaluates. */
export interface KernelKillRule {
  ruleId: string;
  kind: 'exec' | 'open';
  /** exec: the resolved executable equals one of exact or starts with one of prefix. */
  executable?: { exact: string[]; prefix: string[] };
  /** open: the resolved path equals one of exact or starts with one of prefix. */
  path?: { exact: string[]; prefix: string[] };
  /** open: only opens with write intent (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_APPEND). */
  writeIntent?: boolean;
}

const WRITE_INTENT = ['append', 'create', 'truncate', 'write'];

/** file.path / process.executable constraints: = / in / startswith, or an `or` of them. */
function pathSet(ir: IR, field: string): { exact: string[]; prefix: string[] } | undefined {
  const out = { exact: [] as string[], prefix: [] as string[] };
  const add = (x: IR): boolean => {
    if (x.t === 'or') return x.items.every(add);
    if (x.t !== 'test' || x.field.name !== field) return false;
    if (x.op === '=' || x.op === 'in') out.exact.push(...strs(x));
    else if (x.op === 'startswith') out.prefix.push(...strs(x));
    else return false;
    return true;
  };
  return add(ir) ? { exact: [...new Set(out.exact)].sort(), prefix: [...new Set(out.prefix)].sort() } : undefined;
}

function isWriteIntent(ir: IR): boolean {
  return (
    ir.t === 'test' &&
    ir.field.name === 'ebpf.open.intent' &&
    ir.op === 'in' &&
    [...new Set(strs(ir))].sort().join(',') === WRITE_INTENT.join(',')
  );
}

/**
 * Kill rules whose whole condition (exceptions included) reduces, in every
 * family it can match, to "exec of these executables" or "open of these
 * paths (with write intent)". Only these can be enforced in the kernel; the
 * others are enforced from user space (killer.ts).
 */
export function kernelKillRules(ruleset: RuleEngine | readonly CompiledRule[]): KernelKillRule[] {
  const rules = Array.isArray(ruleset) ? (ruleset as readonly CompiledRule[]) : (ruleset as RuleEngine).rules;
  const out: KernelKillRule[] = [];
  for (const r of rules) {
    if (!r.enabled || r.action !== 'kill') continue;
    const entries: KernelKillRule[] = [];
    let decidable = true;
    for (const kind of EVENT_KINDS) {
      if (!r.kinds.has(kind)) continue;
      if (kind !== 'exec' && kind !== 'open') {
        decidable = false;
        break;
      }
      const s = specialize(r.ir, kindFacts(kind));
      const items = s.t === 'and' ? s.items : [s];
      if (kind === 'exec') {
        const exe = items.length === 1 ? pathSet(items[0]!, 'process.executable') : undefined;
        if (!exe) {
          decidable = false;
          break;
        }
        entries.push({ ruleId: r.id, kind, executable: exe });
      } else {
        let path: { exact: string[]; prefix: string[] } | undefined;
        let write = false;
        for (const it of items) {
          const p = path ? undefined : pathSet(it, 'file.path');
          if (p) path = p;
          else if (!write && isWriteIntent(it)) write = true;
          else {
            decidable = false;
            break;
          }
        }
        if (!decidable || !path) {
          decidable = false;
          break;
        }
        entries.push({ ruleId: r.id, kind, path, ...(write ? { writeIntent: true } : {}) });
      }
    }
    if (decidable && entries.length) out.push(...entries);
  }
  return out;
}
