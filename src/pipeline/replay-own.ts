/**
 * pipeline/replay-own: fast-path decisions from a record's own values
 * (replay-fast.ts), remembered by the bytes of the values the rules read.
 *
 * Takes: a record whose shape and process context leave a rule open (a
 * connect whose destination port a rule tests …), the partial matchers
 * compiled for its event template (ownMatchers: its own values' paths
 * known, fields enrichment may write unknown) and the partial event of its
 * shape and context. Gives: may a rule match it — false only when none can,
 * whatever enrichment adds.
 *
 * Evaluating the partial matcher costs about what building the event does,
 * so each answer is remembered: the evaluation records which own values it
 * read (the leaves of the partial event are getters), and the answer is
 * kept under the capture's bytes of exactly those values. A later record of
 * the same (context, shape, template) whose bytes of those values are the
 * same gets the same answer: the matcher is a pure function of what it
 * reads, so given the same values it reads the same fields in the same
 * order and answers the same. Only canonical JSON values are keyed by their
 * bytes (capture-json.ts canonicalSpans: equal bytes, equal values); any
 * other record is evaluated afresh.
 */
import type { EventKind, SensorEvent } from '../model/event.js';
import { partialMatcher, type PartialNeed, type PartialVerdict } from '../rules/filter.js';
import type { CaptureBlock } from '../sources/replay/replay-source.js';
import { splitPath } from '../sources/replay/capture-format.js';

/**
 * Where enrichment may write beyond a capture's contexts (file owner and
 * group names, containers, pods; replay resolves none of them, kept here in
 * case it does): fields under these stay unknown to own-value decisions.
 */
const ENRICHED = ['process', 'user', 'group', 'container', 'orchestrator', 'file.owner', 'file.group', 'ebpf.process'];

/**
 * RuleContext.byOwn for a ruleset's needs: with a record's own values known
 * (and its shape and context: `inContext`), a field neither there nor
 * anywhere enrichment may write is absent from the event.
 */
export function ownMatchers(need: PartialNeed, inContext: (f: string) => boolean): (own: ReadonlySet<string>) => Map<EventKind, PartialVerdict> {
  const enriched = (f: string): boolean => ENRICHED.some((p) => f === p || f.startsWith(`${p}.`));
  return (own) => partialMatcher(need, (f) => inContext(f) || own.has(f) || !enriched(f));
}

/** A partial matcher's answer; a definition too broken to evaluate means "read the event" (the full path reports it). */
export function mayMatch(may: (ev: SensorEvent) => boolean, partial: Record<string, unknown>): boolean {
  try {
    return may(partial as unknown as SensorEvent);
  } catch {
    return true;
  }
}

/** The @timestamp among the values a decision read (own values are 0, 1, …). */
const TS = -1;
/** Answers kept per (context, shape, template) and per set of values read; past it, records are evaluated afresh. */
const MAX_ANSWERS = 4096;
/** Different sets of values read per (context, shape, template) (a matcher reads more when earlier tests pass). */
const MAX_READ_SETS = 8;

interface ReadSet {
  /** Own value indexes (TS: the timestamp) the evaluation read, in order of first read. */
  fields: number[];
  answers: Map<string, boolean>;
}

/** Remembered own-value decisions of one capture block (numbers are the block's). */
export class OwnDecisions {
  private readonly byKey = new Map<string, ReadSet[]>();
  /** Decisions answered from memory and evaluated (for tests and the benchmark's notes). */
  hits = 0;
  evaluated = 0;
  private readonly reads: number[] = [];

  /**
   * May a rule match record i? `v` is its kind's verdict from the matchers
   * of its template, `pp` the partial event of its shape and context, `key`
   * names its (context, shape, template), `paths` its own values' paths;
   * `spans` and `n` where its own values are (CaptureBlock.ownSpans; n < 0:
   * not canonical, evaluated afresh, nothing kept).
   */
  decide(b: CaptureBlock, i: number, key: string, v: PartialVerdict, pp: Record<string, unknown>, paths: readonly string[], spans: Int32Array, n: number): boolean {
    if (v.t !== 'test') return v.t === 'maybe';
    const src = b.bytes;
    let sets: ReadSet[] | undefined;
    if (n === paths.length) {
      sets = this.byKey.get(key);
      if (sets) {
        for (const rs of sets) {
          const k = bytesKey(b, i, src, spans, rs.fields);
          const a = k === undefined ? undefined : rs.answers.get(k);
          if (a !== undefined) {
            this.hits++;
            return a;
          }
        }
      }
    }
    this.evaluated++;
    const own = b.ownValues(i);
    if (!own || own.length !== paths.length) return true;
    const reads = this.reads;
    reads.length = 0;
    const answer = mayMatch(v.may, withOwn(pp, paths, own, b.timestamp(i), reads));
    if (n !== paths.length) return answer;
    // Keep it under the bytes of what it read.
    const fields = [...new Set(reads)];
    if (!sets) this.byKey.set(key, (sets = []));
    let rs = sets.find((x) => x.fields.length === fields.length && x.fields.every((f, k) => f === fields[k]));
    if (!rs) {
      if (sets.length >= MAX_READ_SETS) return answer;
      sets.push((rs = { fields, answers: new Map() }));
    }
    const k = bytesKey(b, i, src, spans, fields);
    if (k !== undefined && rs.answers.size < MAX_ANSWERS) rs.answers.set(k, answer);
    return answer;
  }
}

/** The capture's bytes of record i's values at `fields` (TS: its timestamp), as a key; undefined when one is missing. */
function bytesKey(b: CaptureBlock, i: number, src: Buffer, spans: Int32Array, fields: readonly number[]): string | undefined {
  let k = '';
  for (const f of fields) {
    if (f === TS) {
      const s = b.tsStartOf(i);
      // A null timestamp and a string one differ by their first character.
      k += s < 0 ? 'N\u0000' : `T${src.toString('latin1', s, b.tsEndOf(i))}\u0000`;
    } else k += `${src.toString('latin1', spans[2 * f]!, spans[2 * f + 1]!)}\u0000`;
  }
  return k;
}

/**
 * The partial event `pp` with a record's own values and timestamp over it,
 * each leaf a getter that notes its index in `reads` when read. Objects of
 * `pp` on the way to a leaf are copied once (it is shared); the rest is shared.
 */
function withOwn(pp: Record<string, unknown>, paths: readonly string[], own: readonly unknown[], ts: string | undefined, reads: number[]): Record<string, unknown> {
  const mine = new Set<object>();
  const o: Record<string, unknown> = { ...pp };
  mine.add(o);
  const leaf = (parts: readonly string[], index: number, value: unknown): void => {
    let at = o;
    for (let j = 0; j < parts.length - 1; j++) {
      const key = parts[j]!;
      const next = at[key];
      let obj: Record<string, unknown>;
      if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
        obj = next as Record<string, unknown>;
        if (!mine.has(obj)) {
          obj = { ...obj };
          mine.add(obj);
          at[key] = obj;
        }
      } else {
        obj = {};
        mine.add(obj);
        at[key] = obj;
      }
      at = obj;
    }
    Object.defineProperty(at, parts[parts.length - 1]!, {
      get: () => {
        reads.push(index);
        return value;
      },
      enumerable: true,
      configurable: true,
    });
  };
  leaf(['@timestamp'], TS, ts);
  for (let k = 0; k < paths.length; k++) leaf(splitPath(paths[k]!), k, own[k]);
  return o;
}
