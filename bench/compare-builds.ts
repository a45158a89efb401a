/**
 * The arguments the in-process comparison benchmarks share (journal-crc.ts,
 * journal-head.ts, journal-stages.ts, compact-head.ts): `--compare ROOT`
 * (another checkout, built, whose modules run in the same process,
 * alternating round by round), `--rounds N`, and the benchmark's own numeric
 * options.
 *
 * Takes: the import.meta.url of the benchmark (a file in dist/bench/), and
 * the defaults of `rounds` and of its own options. Gives: the numbers, this
 * build's dist/ directory, and the builds to run as [name, dist/] pairs
 * ('this' first, then 'compare' when given).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

export interface CompareArgs<K extends string> {
  rounds: number;
  opts: Record<K, number>;
  /** This build's dist/ directory. */
  here: string;
  roots: Array<[string, string]>;
}

export function compareArgs<K extends string>(metaUrl: string, rounds: number, own: Record<K, number>): CompareArgs<K> {
  const options: Record<string, { type: 'string'; default?: string }> = { compare: { type: 'string' }, rounds: { type: 'string', default: String(rounds) } };
  for (const [k, v] of Object.entries(own)) options[k] = { type: 'string', default: String(v) };
  const { values } = parseArgs({ options, strict: false });
  const opts = {} as Record<K, number>;
  for (const k of Object.keys(own) as K[]) opts[k] = Number(values[k]);
  const here = resolve(fileURLToPath(metaUrl), '../..');
  const roots: Array<[string, string]> = [['this', here]];
  if (typeof values.compare === 'string') roots.push(['compare', join(resolve(values.compare), 'dist')]);
  return { rounds: Number(values.rounds), opts, here, roots };
}
