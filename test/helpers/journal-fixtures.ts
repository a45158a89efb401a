/**
 * Fixtures for the journal and delivery tests: realistic classified events
 * whose id encodes their index, hostile strings, temp directories, and a
 * memory sink that can fail or hang on demand.
 */
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClassifiedEvent, OutputFormat, SensorEvent, ShippedEvent } from '../../src/model/event.js';
import type { Sink } from '../../src/sinks/sink.js';

/** Strings that break naive encoders: raw bytes as lone surrogates, quotes, control characters, NUL, astral characters, U+2028. */
export const HOSTILE = [
  '/tmp/\udcff\udc80evil', // invalid UTF-8 bytes kept as lone surrogates (model/raw-text.ts)
  'a"b\\c\n\r\t\u0000\u0001\u001f',
  '\ud800', // a lone high surrogate
  '\udfff\ud800', // reversed pair
  '𝕏💥 émoji',
  'line\u2028sep\u2029',
  '\u00f7JRN', // the record magic's bytes as text
  'x'.repeat(3000),
];

/** A canonical event of about 600 bytes of JSON; `i` goes into event.id, sequence and the path. */
export function sensorEvent(i: number, path = `/var/www/html/static/img/${i}.png`): SensorEvent {
  return {
    '@timestamp': '2026-11-23T16:12:00.123456789Z',
    event: { id: `ev-${i}`, sequence: i, action: 'openat', outcome: 'success' },
    process: {
      pid: 4242,
      entity_id: 'ZGVhZGJlZWYtNDI0Mi0xNzAwMDAwMDAw',
      name: 'nginx',
      executable: '/usr/sbin/nginx',
      args: ['nginx', '-g', 'daemon off;'],
      thread: { id: 4242 },
      user: { id: '33', name: 'www-data' },
      group: { id: '33', name: 'www-data' },
      real_user: { id: '33' },
      real_group: { id: '33' },
      saved_user: { id: '33' },
      saved_group: { id: '33' },
      parent: { pid: 1, name: 'systemd', executable: '/usr/lib/systemd/systemd' },
    },
    user: { id: '33', name: 'www-data' },
    group: { id: '33', name: 'www-data' },
    file: { path, name: `${i}.png`, directory: '/var/www/html/static/img', extension: 'png' },
    ebpf: {
      kind: 'open',
      syscall: 'openat',
      ret: 12,
      open: { flags: 0, flag_names: ['O_RDONLY'], intent: ['read'] },
      path_source: 'file',
    },
  };
}

export function classified(i: number, path?: string): ClassifiedEvent {
  const suspicious = i % 7 === 0;
  return {
    event: sensorEvent(i, path),
    verdict: suspicious
      ? {
          classification: 'suspicious',
          matches: [
            {
              id: 'R1',
              name: 'web server reads image',
              description: 'test rule',
              severity: 'high',
              tags: ['T1005'],
              message: `nginx opened ${i}`,
              ruleset: 'test',
              version: '1',
              action: 'alert',
            },
          ],
        }
      : { classification: 'normal', matches: [] },
  };
}

export function batchOf(from: number, n: number): ClassifiedEvent[] {
  return Array.from({ length: n }, (_, k) => classified(from + k));
}

/** The index encoded in an event's id by `classified`. */
export function indexOf(ce: ClassifiedEvent): number {
  return Number(ce.event.event.id.slice(3));
}

/** A fresh temp directory and a function removing it. */
export function tempDir(prefix = 'journal-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `ebpf-sensor-${prefix}`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function readLines(file: string): string[] {
  try {
    const text = readFileSync(file, 'utf8');
    // Only complete lines: another process may be in the middle of one (issue-12).
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * What a sink may keep of a shipped event past send() (Sink's contract: its
 * bytes are views of the delivery's read chunks, read over afterwards): the
 * parsed event, the route and copies of the lines.
 */
function kept(ce: ShippedEvent): ShippedEvent {
  if (typeof ce.shipped !== 'function') return ce;
  const lines = new Map<OutputFormat, Buffer>();
  for (const f of ['ecs', 'cef'] as const) {
    const b = ce.shipped(f);
    if (b) lines.set(f, Buffer.from(b));
  }
  const copy: ShippedEvent = { event: ce.event, verdict: ce.verdict, shipped: (f) => lines.get(f) };
  return ce.route ? { ...copy, route: ce.route } : copy;
}

/** A sink that keeps batches in memory; it can fail a number of times, fail forever, or hang. */
export class MemorySink implements Sink {
  readonly batches: ClassifiedEvent[][] = [];
  calls = 0;
  callTimes: number[] = [];
  /** Fail this many more calls. */
  failures = 0;
  dead = false;
  /** Called at the start of every send (to observe cursors mid-send). */
  onSend?: (batch: readonly ClassifiedEvent[]) => void;
  private hang: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(readonly name = 'memory') {}

  get events(): ClassifiedEvent[] {
    return this.batches.flat();
  }

  /** Make sends wait until `unhang()`. */
  hangSends(): void {
    this.hang = new Promise((res) => (this.release = res));
  }

  unhang(): void {
    this.release?.();
    this.hang = undefined;
  }

  async send(batch: readonly ClassifiedEvent[]): Promise<void> {
    this.calls++;
    this.callTimes.push(Date.now());
    this.onSend?.(batch);
    if (this.hang) await this.hang;
    if (this.dead) throw new Error(`${this.name} is down`);
    if (this.failures > 0) {
      this.failures--;
      throw new Error(`${this.name} refused the batch`);
    }
    this.batches.push(batch.map(kept));
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
