/**
 * Live-shaped classified events for the journal benchmarks (journal-stages.ts,
 * journal-head.ts): pipeline-storm.ts run in this process with --keep, its
 * classified fork-storm events taken once `count` are there. Takes: the dist/
 * directory and the count. Gives: the events (fewer if the storm did not
 * produce them within a minute).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClassifiedEvent } from '../src/model/event.js';

export async function keptStormEvents(dist: string, count: number): Promise<readonly ClassifiedEvent[]> {
  // pipeline-storm runs at import, with this process's arguments: --keep keeps its events.
  process.argv.splice(2, Infinity, '--keep', '--forks', String(Math.ceil(count / 2)));
  const storm = (await import(pathToFileURL(join(dist, 'bench/pipeline-storm.js')).href)) as { keptEvents(): readonly ClassifiedEvent[] };
  let events: readonly ClassifiedEvent[] = [];
  for (const deadline = Date.now() + 60_000; events.length < count && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 200));
    events = storm.keptEvents();
  }
  return events.slice(0, count);
}
