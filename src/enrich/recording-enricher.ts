/**
 * enrich/recording-enricher: the live enricher that also records.
 *
 * Takes: the live sensor's event batches and an open capture
 * (sources/replay/capture-writer). Gives: the batches enriched exactly as
 * Enricher does, each written to the capture once complete.
 */
import type { SensorEvent } from '../model/event.js';
import type { CaptureWriter } from '../sources/replay/capture-writer.js';
import { Enricher, type EnricherOptions } from './enrich.js';

/**
 * The live sensor's enricher, recording every batch it completes into a
 * capture (`ebpf-sensor run --capture`): the canonical events as the rules
 * see them, in order, loss reports included. Recording is synchronous
 * encoding; compression and writing happen off the event loop
 * (CaptureWriter).
 */
export class RecordingEnricher extends Enricher {
  constructor(
    opts: EnricherOptions,
    private readonly capture: CaptureWriter,
  ) {
    super(opts);
  }

  override enrichBatch(events: SensorEvent[]): void {
    super.enrichBatch(events);
    this.capture.write(events);
  }
}
