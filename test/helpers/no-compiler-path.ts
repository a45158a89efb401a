/**
 * A PATH without compilers: a directory of links to every command on this
 * machine's PATH except C/C++ compilers, linkers, make and node-gyp. Tests of
 * the shipped packages install and run them under it, as on a machine that
 * has Node.js and no build tools.
 */
import { mkdirSync, readdirSync, symlinkSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** Commands a machine without build tools does not have. */
export const COMPILER_RE = /^(cc|c\+\+|c89|c99|cpp|gcc|g\+\+|clang|clang\+\+|ld|ld\.[a-z]+|as|make|gmake|node-gyp|tcc|llc|bpftool)(-[\d.]+)?$|^[a-z0-9_]+-linux-gnu-(gcc|g\+\+|cc|c\+\+|ld|as|cpp)(-[\d.]+)?$|^clang-\d+$/;

/** Build the directory under `dir` and return the PATH value. */
export function noCompilerPath(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) {
      if (COMPILER_RE.test(name) || existsSync(join(bin, name))) continue;
      const p = join(d, name);
      try {
        if (!statSync(p).isFile()) continue;
      } catch {
        continue;
      }
      symlinkSync(p, join(bin, name));
    }
  }
  return bin;
}

/** The compilers still reachable on `path` (none, for a good stripped PATH). */
export function compilersOn(path: string): string[] {
  const r = spawnSync('/bin/sh', ['-c', 'for c in cc gcc g++ c++ clang make ld node-gyp; do command -v $c; done; true'], {
    env: { PATH: path },
    encoding: 'utf8',
  });
  return r.stdout.split('\n').filter(Boolean);
}
