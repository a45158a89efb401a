/**
 * bench/storm-binary: the storm program (bench/storm.c) compiled once per
 * source version into the temp directory, shared by the kernel-overhead and
 * live benchmarks.
 *
 * Takes: nothing (reads bench/storm.c). Gives: the path of the binary.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/sources/kernel/paths.js';

/** The storm binary for the current bench/storm.c (built on first use; keyed by its hash). */
export function stormBinary(): string {
  const src = join(packageRoot, 'bench/storm.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const bin = join(tmpdir(), `ebpf-sensor-storm-${hash}`);
  if (!existsSync(bin)) {
    execFileSync('cc', ['-O2', '-o', `${bin}.tmp`, src]);
    renameSync(`${bin}.tmp`, bin);
  }
  return bin;
}
