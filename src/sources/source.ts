/**
 * sources: where events come from. The kernel source gives raw record frames
 * (decoded next by decode/); replay and test sources give canonical events.
 * Everything downstream of decode sees only SensorEvent batches and cannot
 * tell which source produced them.
 */
import type { SensorEvent } from '../model/event.js';

/** A chunk of kernel frames, valid only during the synchronous callback. */
export interface FrameBatch {
  kind: 'frames';
  chunk: Buffer;
  used: number;
  records: number;
}

export interface EventBatch {
  kind: 'events';
  events: SensorEvent[];
}

export type SourceBatch = FrameBatch | EventBatch;

export interface Source {
  readonly name: string;
  /** Start producing; `onBatch` is called synchronously per batch and must not keep a FrameBatch's chunk. */
  start(onBatch: (batch: SourceBatch) => void): Promise<void>;
  /** Stop producing and release everything (programs detached, files closed). */
  stop(): Promise<void>;
  /** Resolves when a finite source has delivered everything (never for the kernel). */
  done?(): Promise<void>;
}
