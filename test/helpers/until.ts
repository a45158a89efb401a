/**
 * test/helpers/until: wait for a state under one deadline.
 *
 * Takes: what is awaited (for the error), a probe returning the value once it
 * holds (undefined or false until then), and the deadline in ms.
 * Gives: the probe's first value that holds; throws when the deadline passes.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export async function until<T>(what: string, fn: () => T | undefined | false, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
