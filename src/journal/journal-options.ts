/**
 * journal, options and reports: what Journal.open takes and what a journal tells.
 *
 * Takes: nothing. Gives: the options of Journal.open (bounds mirror the
 * `journal` section of the config) and their defaults, the result of an
 * append, a retention event and the stats (journal.ts).
 */
import type { JournalDamage } from './journal-reader.js';

/** Options of Journal.open; the bounds mirror the `journal` section of the config. */
export interface JournalOptions {
  /** Size bound in bytes (default 1 GiB). */
  maxBytes?: number;
  /** Age bound in seconds (default 7 days). */
  maxAgeSeconds?: number;
  /** Start a new segment once the current one reaches this size (default 64 MiB, at most maxBytes/2). */
  segmentBytes?: number;
  /** fdatasync at most this long after an append (default 100); 0 = before append() returns. */
  fsyncIntervalMs?: number;
  /**
   * Bytes of the newest records kept in memory for deliveries that keep up
   * (hot-tail.ts; default 8 MiB; 0: every delivery reads the files).
   */
  hotTailBytes?: number;
  /**
   * Open for reading only: no lock, no repair, no retention, no appends. For
   * tools (replay, `journal` commands) reading a journal a sensor may be writing.
   */
  readOnly?: boolean;
  /** Called once per damaged region found (also logged and counted). */
  onDamage?: (damage: JournalDamage) => void;
  /** Called for every segment deleted by the size/age bound (also logged and counted). */
  onRetention?: (event: RetentionEvent) => void;
  /** How often the age bound is checked, ms (default: a tenth of maxAgeSeconds, at most 60 s). */
  retentionCheckMs?: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

/** Positions given to one append: `[first, next)`. */
export interface AppendResult {
  first: number;
  next: number;
}

/** A segment deleted by the size or age bound: positions `[from, to)` are gone. */
export interface RetentionEvent {
  file: string;
  from: number;
  to: number;
  bytes: number;
  reason: 'size' | 'age';
}

export interface JournalStats {
  dir: string;
  /** Oldest position still stored. */
  firstPosition: number;
  /** Position the next appended record gets. */
  nextPosition: number;
  /** Records below this are on disk (fdatasync'ed); readers see only these. */
  durablePosition: number;
  segments: number;
  bytes: number;
  /** Since open. */
  /** compact: records stored in the compact form (the process in the ECS line only; the others hold the canonical JSON). */
  appended: { records: number; bytes: number; batches: number; compact: number };
  fsyncs: number;
  fsyncErrors: number;
  deleted: { segments: number; positions: number; bytes: number; bySize: number; byAge: number };
  damage: { regions: number; bytes: number };
  /** Bytes cut from the end of the last segment at open (torn writes). */
  repairedBytes: number;
  /** Committed position of every sink cursor. */
  cursors: Record<string, number>;
}

export const DEFAULTS = {
  maxBytes: 1 << 30,
  maxAgeSeconds: 7 * 24 * 3600,
  segmentBytes: 64 << 20,
  fsyncIntervalMs: 100,
};
