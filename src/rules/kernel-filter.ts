/**
 * The kernel filter of a ruleset: what the kernel source must report
 * (kernel-needs.ts: families, names and prefixes of read-only opens, kill
 * rules) widened by the telemetry configuration. Takes the needs, the
 * `telemetry` config section and the engine; gives the KernelFilter the
 * kernel source writes into its maps.
 */
import type { SensorConfig } from '../config/config.js';
import type { KernelFilter } from '../sources/kernel/filter-maps.js';
import type { RuleEngine } from './engine.js';
import { INTEREST_OK, kernelKillRules, leafOf, minimalPrefixes, nameable, type KernelNeeds } from './kernel-needs.js';

/**
 * The kernel filter: what the rules need (computed for alerts, so read-only
 * opens die in the kernel unless a rule wants them), every family when
 * telemetry forwards everything, every read when `telemetry.openReads` asks.
 */
export function kernelFilter(n: KernelNeeds, cfg: Pick<SensorConfig, 'telemetry'>, engine?: RuleEngine): KernelFilter {
  // Prefixes and names narrow read-only opens only; writes, deletions and
  // the other file events are reported on every path. A whole path a read
  // rule names (/etc/shadow) becomes a name of interest: the kernel tests the
  // dentry's name without walking the path, and the rule checks the whole
  // path. A prefix ("/root/.ssh/", "/etc/cron") needs the walk on reads.
  // Paths of in-kernel kill rules must reach the kernel's kill check: they
  // are names of interest too.
  // Each entry says which outcomes of read-only opens want it (1 success,
  // 2 failure): a failed open of a name only success rules read dies in the
  // kernel. Kill rules act on opened files: success.
  const killPaths = engine ? kernelKillRules(engine).flatMap((k) => [...(k.path?.exact ?? [])]) : [];
  const names = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, bits: number): void => void m.set(k, (m.get(k) ?? 0) | bits);
  for (const [name, bits] of n.interest.names) add(names, name, bits);
  for (const [p, bits] of n.interest.paths) add(names, leafOf(p), bits);
  for (const p of killPaths) if (nameable(leafOf(p))) add(names, leafOf(p), INTEREST_OK);
  // A kill path whose leaf the name filter cannot hold is walked as a prefix.
  const prefixBits = new Map(n.interest.prefixes);
  for (const p of killPaths) if (!nameable(leafOf(p))) add(prefixBits, p, INTEREST_OK);
  const prefixes = minimalPrefixes(prefixBits);
  const failedReads = n.failedReads || (cfg.telemetry.events === 'all' && cfg.telemetry.openReads);
  return {
    kinds: cfg.telemetry.events === 'all' ? 'all' : n.kinds,
    openReads: n.openReads || (cfg.telemetry.events === 'all' && cfg.telemetry.openReads),
    failedReads,
    allPaths: true,
    threads: false,
    prefixes: [...prefixes.keys()],
    readPrefixes: prefixes.size > 0,
    names: [...names.keys()],
    interest: { prefixes, names },
  };
}
