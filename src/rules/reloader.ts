/**
 * Keeps the live ruleset current: loads the rules at start-up (a broken
 * ruleset stops the start), reloads them on request (SIGHUP) and when a rule
 * file changes. A reload that fails leaves the running ruleset in place and
 * logs every problem; one that succeeds is handed over with onLoad (the
 * pipeline swaps its classifier between two batches, so no event is lost
 * or classified by a half-loaded ruleset).
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { SensorError } from '../errors.js';
import type { Logger } from '../telemetry/logger.js';
import { buildRules, formatRuleErrors, loadRules, ruleFiles, type EngineOptions, type RuleEngine, type RuleSources } from './engine.js';

export interface ReloaderOptions extends EngineOptions {
  sources: RuleSources;
  /** Reload when a rule file (or a directory of them) changes. */
  watch: boolean;
  log: Logger;
  /**
   * A new ruleset is ready (also called for the first one). Throwing refuses
   * it: the previous ruleset stays (user space and kernel must agree, so a
   * kernel filter update that fails must not leave the new rules running
   * here and the old ones there).
   */
  onLoad: (engine: RuleEngine, previous: RuleEngine | undefined) => void;
  /** Wait this long after the last change before reloading (editors write in several steps). */
  debounceMs?: number;
}

export interface ReloadStats {
  reloads: number;
  failures: number;
  lastError?: string;
}

export class RuleReloader {
  engine: RuleEngine | undefined;
  readonly stats: ReloadStats = { reloads: 0, failures: 0 };
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ReloaderOptions) {}

  /** First load: throws when the rules do not compile. */
  start(): RuleEngine {
    const engine = loadRules(this.o.sources, this.engineOptions());
    this.install(engine, 'start');
    if (this.o.watch) this.watchFiles();
    return engine;
  }

  private engineOptions(): EngineOptions {
    return this.o.killer ? { killer: this.o.killer } : {};
  }

  private install(engine: RuleEngine, reason: string): void {
    const prev = this.engine;
    this.o.onLoad(engine, prev);
    this.engine = engine;
    this.o.log.info(
      { reason, version: engine.version, rules: engine.rules.length, enabled: engine.enabledRules.length, files: engine.files.length },
      'ruleset %s loaded (%d rules enabled)',
      engine.version,
      engine.enabledRules.length,
    );
  }

  /** Load the rule files again; on any problem keep the current ruleset. Returns whether it changed. */
  reload(reason: string): boolean {
    let r: ReturnType<typeof buildRules>;
    try {
      r = buildRules(this.o.sources, this.engineOptions());
    } catch (e) {
      r = { engine: undefined, errors: [e instanceof SensorError ? e : new SensorError('ESENSOR_INTERNAL', String(e), { cause: e })], files: [] };
    }
    if (!r.engine) {
      this.stats.failures++;
      this.stats.lastError = formatRuleErrors(r.errors);
      this.o.log.error(
        { reason, problems: r.errors.length, errors: r.errors.map((e) => `${e.location ? `${e.location}: ` : ''}${e.code} ${e.message}`) },
        'rule reload failed, still running ruleset %s:\n%s',
        this.engine?.version ?? '(none)',
        this.stats.lastError,
      );
      return false;
    }
    try {
      this.install(r.engine, reason);
    } catch (e) {
      this.stats.failures++;
      this.stats.lastError = e instanceof Error ? e.message : String(e);
      this.o.log.error({ reason, err: e }, 'rule reload refused, still running ruleset %s: %s', this.engine?.version ?? '(none)', this.stats.lastError);
      return false;
    }
    this.stats.reloads++;
    if (this.o.watch) this.watchFiles();
    return true;
  }

  /** Watch the directories of the rule files: editors replace files by renaming, which a file watch would miss. */
  private watchFiles(): void {
    this.closeWatchers();
    let files: string[];
    try {
      files = ruleFiles(this.o.sources).map((f) => resolve(f));
    } catch (e) {
      this.o.log.warn({ err: e }, 'cannot list rule files to watch');
      return;
    }
    const explicitDirs = new Set(
      [...this.o.sources.paths].map((p) => resolve(p)).filter((p) => !files.includes(p)),
    );
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const d = dirname(f);
      if (!byDir.has(d)) byDir.set(d, new Set());
      byDir.get(d)!.add(basename(f));
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          const n = name?.toString();
          // A whole directory given as a rule path: any YAML file in it counts.
          if (n === undefined || names.has(n) || (explicitDirs.has(dir) && /\.ya?ml$/.test(n))) this.schedule(`file changed: ${n ?? dir}`);
        });
        w.on('error', (e) => this.o.log.warn({ err: e, dir }, 'rule directory watch failed'));
        this.watchers.push(w);
      } catch (e) {
        this.o.log.warn({ err: e, dir }, 'cannot watch rule directory %s', dir);
      }
    }
  }

  private schedule(reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.reload(reason);
    }, this.o.debounceMs ?? 250);
    this.timer.unref();
  }

  private closeWatchers(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  close(): void {
    this.closeWatchers();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
