/**
 * sources/replay: recorded events — capture files and journal directories —
 * as a source, the way the kernel source gives live ones.
 *
 * Takes: paths (capture files written by `run --capture` or `journal
 * export`, or journal directories read without a lock). Gives: blocks of
 * records in recorded order (`openInput`); each record materializes into a
 * canonical SensorEvent, and capture blocks also expose their contexts and
 * shapes so a consumer can decide from them alone whether it needs the
 * whole event (pipeline/replay.ts). `ReplaySource` wraps the same inputs in
 * the Source interface for the live Pipeline class.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SensorError } from '../../errors.js';
import type { AgentInfo, HostInfo, SensorEvent } from '../../model/event.js';
import { Journal, type JournalReader } from '../../journal/journal.js';
import type { Source, SourceBatch } from '../source.js';
import { CaptureBlock } from './capture-block.js';
import { eventProblem } from './capture-checks.js';
import type { CaptureHeader } from './capture-format.js';
import { CaptureReader, type InputDamage } from './capture-reader.js';

export { CaptureBlock } from './capture-block.js';
export type { InputDamage } from './capture-reader.js';

/** A block of records from any input. Record i is record `firstRecord + i + 1` of its input. */
export interface ReplayBlock {
  readonly count: number;
  readonly firstRecord: number;
  /** "record N" (captures) or "journal position N". */
  where(i: number): string;
  /** The @timestamp of record i without materializing it. */
  timestamp(i: number): string | undefined;
  /** Record i as a canonical event with its own objects; throws a SensorError when it is damaged. */
  materialize(i: number): SensorEvent;
}

/** An opened input. */
export interface ReplayInput {
  readonly path: string;
  readonly kind: 'capture' | 'journal';
  /** The recording host and sensor (journals: the local machine, given by the caller). */
  readonly host: HostInfo;
  readonly agent: AgentInfo;
  /** Runtime rule list items of the recording sensor. */
  readonly lists: Readonly<Record<string, readonly string[]>>;
  /** Captures: the header. */
  readonly header: CaptureHeader | undefined;
  /** Progress in bytes: consumed so far and in all. */
  readonly done: number;
  readonly total: number;
  /** Records lost to damage so far. */
  readonly lost: number;
  /** Captures: the writer never closed the file. */
  readonly unclosed: boolean;
  next(): ReplayBlock | undefined;
  close(): void;
}

export interface OpenInputOptions {
  skipBad?: boolean;
  onDamage?: (d: InputDamage) => void;
  /** Host facts for journal directories, which do not record them. */
  localHost: () => { host: HostInfo; agent: AgentInfo };
  /** Records per journal block (default 4096). */
  journalBatch?: number;
  /** Captures: largest inflated block accepted (CaptureReaderOptions.maxBlockBytes). */
  maxBlockBytes?: number;
}

class CaptureInput implements ReplayInput {
  readonly kind = 'capture';
  constructor(private readonly r: CaptureReader) {}
  get path(): string {
    return this.r.file;
  }
  get host(): HostInfo {
    return this.r.header.host;
  }
  get agent(): AgentInfo {
    return this.r.header.agent;
  }
  get lists(): Readonly<Record<string, readonly string[]>> {
    return this.r.header.lists;
  }
  get header(): CaptureHeader {
    return this.r.header;
  }
  get done(): number {
    return this.r.position;
  }
  get total(): number {
    return this.r.size;
  }
  get lost(): number {
    return this.r.lost;
  }
  get unclosed(): boolean {
    return this.r.unclosed;
  }
  next(): CaptureBlock | undefined {
    return this.r.next();
  }
  close(): void {
    this.r.close();
  }
}

/** Events already parsed (journal records). */
class EventsBlock implements ReplayBlock {
  constructor(
    readonly firstRecord: number,
    private readonly events: readonly SensorEvent[],
    private readonly positions: readonly number[],
  ) {}
  get count(): number {
    return this.events.length;
  }
  where(i: number): string {
    return `journal position ${this.positions[i]}`;
  }
  timestamp(i: number): string | undefined {
    const t = this.events[i]!['@timestamp'];
    return typeof t === 'string' ? t : undefined;
  }
  materialize(i: number): SensorEvent {
    return this.events[i]!;
  }
}

class JournalInput implements ReplayInput {
  readonly kind = 'journal';
  readonly header = undefined;
  readonly unclosed = false;
  readonly lists = {};
  readonly host: HostInfo;
  readonly agent: AgentInfo;
  readonly total: number;
  done = 0;
  lost = 0;
  private readonly journal: Journal;
  private readonly reader: JournalReader;
  private records = 0;

  constructor(
    readonly path: string,
    private readonly opts: OpenInputOptions,
  ) {
    this.journal = Journal.open(path, { readOnly: true });
    this.reader = this.journal.reader(this.journal.firstPosition);
    ({ host: this.host, agent: this.agent } = opts.localHost());
    this.total = inputSize(path);
  }

  next(): ReplayBlock | undefined {
    const r = this.reader.read(this.opts.journalBatch ?? 4096, 8 << 20);
    for (const s of r.skipped) {
      if (s.reason === 'retention') continue; // deleted by the size/age bound while we read: not damage
      const e = new SensorError('ESENSOR_JOURNAL_CORRUPT', `journal positions ${s.from}–${s.to - 1} are damaged${s.file ? ` (segment ${s.file})` : ''}`, { file: this.path });
      this.damage(e, s.to - s.from);
    }
    if (!r.records.length) return undefined;
    const events: SensorEvent[] = [];
    const positions: number[] = [];
    for (const rec of r.records) {
      this.done += rec.bytes + 32;
      const ev = (rec.event as { event?: unknown }).event;
      const problem = eventProblem(ev);
      if (problem) {
        this.damage(new SensorError('ESENSOR_JOURNAL_CORRUPT', `journal position ${rec.position}: not a canonical event: ${problem}`, { file: this.path }), 1);
        continue;
      }
      events.push(ev as SensorEvent);
      positions.push(rec.position);
    }
    const block = new EventsBlock(this.records, events, positions);
    this.records += events.length;
    return block;
  }

  private damage(error: SensorError, count: number): void {
    if (!this.opts.skipBad) throw error;
    this.lost += count;
    this.opts.onDamage?.({ file: this.path, error });
  }

  close(): void {
    this.reader.close();
    void this.journal.close();
  }
}

/**
 * The runtime rule lists and encoding in the header of the capture at
 * `path`, reading nothing past the header; undefined when it is not a
 * capture file or its header does not read (reading it reports that).
 */
export function headerRules(
  path: string,
  maxBlockBytes?: number,
): { lists: Readonly<Record<string, readonly string[]>>; encoding: { context: readonly string[]; shape: readonly string[] } | undefined } | undefined {
  try {
    if (!statSync(path).isFile()) return undefined;
    const r = CaptureReader.open(path, maxBlockBytes !== undefined ? { maxBlockBytes } : {});
    try {
      return { lists: r.header.lists, encoding: r.header.encoding };
    } finally {
      r.close();
    }
  } catch {
    return undefined;
  }
}

/** Bytes an input holds (a capture's size, a journal's segments), for progress; 0 when it cannot be read. */
export function inputSize(path: string): number {
  try {
    const st = statSync(path);
    if (!st.isDirectory()) return st.size;
    let n = 0;
    for (const f of readdirSync(path)) if (f.endsWith('.seg')) n += statSync(join(path, f)).size;
    return n;
  } catch {
    return 0;
  }
}

/** Open a capture file or a journal directory. Throws ESENSOR_CAPTURE_FORMAT (or a journal error) naming the path. */
export function openInput(path: string, opts: OpenInputOptions): ReplayInput {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    // The location names the file: the message does not repeat it (nor node's copy of the path).
    throw new SensorError('ESENSOR_CAPTURE_FORMAT', `cannot read it: ${(e as Error).message.replace(/, \w+ '.*'$/s, '')}`, { file: path, cause: e });
  }
  if (st.isDirectory()) {
    if (!readdirSync(path).some((f) => f.endsWith('.seg'))) {
      throw new SensorError('ESENSOR_CAPTURE_FORMAT', 'is a directory but not a journal (no *.seg segments)', { file: path });
    }
    return new JournalInput(path, opts);
  }
  return new CaptureInput(
    CaptureReader.open(path, {
      ...(opts.skipBad !== undefined ? { skipBad: opts.skipBad } : {}),
      ...(opts.onDamage ? { onDamage: opts.onDamage } : {}),
      ...(opts.maxBlockBytes !== undefined ? { maxBlockBytes: opts.maxBlockBytes } : {}),
    }),
  );
}

/**
 * The inputs as a Source: every record materialized, one event batch per
 * block, inputs one after the other. For consumers that want canonical
 * events and nothing else (the live Pipeline class); replay's own runner
 * reads blocks directly so it can skip what no rule needs.
 */
export class ReplaySource implements Source {
  readonly name = 'replay';
  private stopped = false;
  private finished: Promise<void> | undefined;

  constructor(
    private readonly paths: readonly string[],
    private readonly opts: OpenInputOptions,
  ) {}

  async start(onBatch: (batch: SourceBatch) => void): Promise<void> {
    this.finished = this.run(onBatch);
    // Errors surface through done(); start() only begins the reading.
    this.finished.catch(() => undefined);
  }

  private async run(onBatch: (batch: SourceBatch) => void): Promise<void> {
    for (const p of this.paths) {
      if (this.stopped) return;
      const input = openInput(p, this.opts);
      try {
        for (let b = input.next(); b && !this.stopped; b = input.next()) {
          const events: SensorEvent[] = [];
          for (let i = 0; i < b.count; i++) {
            try {
              events.push(b.materialize(i));
            } catch (e) {
              if (!this.opts.skipBad || !(e instanceof SensorError)) throw e;
              this.opts.onDamage?.({ file: p, error: e });
            }
          }
          onBatch({ kind: 'events', events });
          // Let the consumer's sinks and timers run between blocks.
          await new Promise<void>((r) => setImmediate(r));
        }
      } finally {
        input.close();
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.finished?.catch(() => undefined);
  }

  /** Resolves when every input has been read; rejects with the first error. */
  async done(): Promise<void> {
    await this.finished;
  }
}
