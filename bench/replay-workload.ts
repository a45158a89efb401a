/**
 * Capture files for the replay benchmark: events of a simulated host, built
 * as kernel records the way the BPF side lays them out, decoded by the real
 * decoder and enriched by the real enricher (test/helpers/rule-workload.ts),
 * then written by the real capture writer — what `run --capture` records.
 * Deterministic (seeded), streamed in chunks so a capture of millions of
 * events is made in bounded memory, and cached by its parameters.
 *
 * Two mixes:
 *  - host: a busy server after the kernel filter with telemetry on: mostly
 *    read-only opens (a few hundred distinct paths, some unique), writes,
 *    connects and file changes by ~120 long-lived processes, and 1.5% each
 *    of fork, exec and exit (short-lived children that open a few files);
 *    about 0.2% alerts (password hashes read, /etc/passwd appended to, a
 *    program run from /dev/shm);
 *  - steady: the host mix without process churn (no fork, exec or exit):
 *    what replay costs per event once every process is known;
 *  - churn: the rules benchmark's mix (bench/rules.ts): 8% each of exec,
 *    fork and exit, every exec a new process — process creation at its
 *    worst.
 */
import { existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventType } from '../src/decode/abi.generated.js';
import { CaptureWriter } from '../src/sources/replay/capture-writer.js';
import { HOST, AGENT } from '../test/helpers/normalize-corpus.js';
import { Host, O_APPEND, O_CLOEXEC, O_CREAT, O_TRUNC, O_WRONLY } from '../test/helpers/rule-workload.js';

export type Mix = 'host' | 'steady' | 'churn';

/** mulberry32: a small seeded PRNG, so every run makes the same capture. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu/', '/lib/x86_64-linux-gnu/', '/usr/lib/python3.11/', '/usr/share/zoneinfo/', '/etc/', '/proc/self/', '/sys/fs/cgroup/', '/home/app/src/', '/var/lib/app/', '/srv/www/static/'];
const EXES = ['/usr/bin/bash', '/usr/bin/python3.11', '/usr/bin/node', '/usr/sbin/nginx', '/usr/bin/git', '/usr/lib/systemd/systemd-journald', '/usr/sbin/sshd', '/usr/bin/containerd', '/usr/sbin/cron', '/usr/bin/dockerd', '/usr/local/bin/app', '/usr/bin/java'];
const CHILD_EXES = ['/usr/bin/ls', '/usr/bin/cat', '/usr/bin/grep', '/usr/bin/sed', '/usr/bin/awk', '/usr/bin/date', '/usr/bin/id', '/usr/bin/git', '/usr/bin/curl', '/usr/bin/tar'];

/** Generates one mix chunk by chunk. */
class Generator {
  readonly h = new Host();
  private readonly rnd: () => number;
  private readonly paths: string[] = [];
  private readonly writes: string[] = [];
  private readonly pool: number[] = [];
  /** Pool processes that are not shells (they make the network connections). */
  private readonly servers: number[] = [];
  private nextPid = 10_000;
  private i = 0;
  /** Live short-lived children: pid → events left before they exit. */
  private readonly children: Array<{ pid: number; left: number }> = [];

  constructor(
    private readonly mix: Mix,
    seed = 42,
  ) {
    this.rnd = prng(seed);
    const h = this.h;
    h.seed(1, 0, '/usr/lib/systemd/systemd', ['/sbin/init']);
    const n = mix === 'churn' ? EXES.length : 120;
    for (let k = 0; k < n; k++) {
      const exe = EXES[k % EXES.length]!;
      h.seed(100 + k, 1, exe, [exe, `--worker=${k}`]);
      this.pool.push(100 + k);
      if (!exe.endsWith('/bash')) this.servers.push(100 + k);
    }
    for (let k = 0; k < 400; k++) this.paths.push(`${LIB_DIRS[k % LIB_DIRS.length]}file-${k % 97}-${Math.floor(k / 97)}.${['so', 'conf', 'py', 'js', 'json', 'html'][k % 6]}`);
    for (let k = 0; k < 60; k++) this.writes.push(`${['/var/log/app/', '/tmp/', '/home/app/cache/', '/var/lib/app/db/'][k % 4]}out-${k}.${['log', 'tmp', 'dat'][k % 3]}`);
  }

  private pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.rnd() * a.length)]!;
  }

  /** Append about `n` events to h.events. */
  chunk(n: number): void {
    const target = this.h.events.length + n;
    while (this.h.events.length < target) {
      if (this.mix !== 'churn') this.hostStep();
      else this.churnStep();
      this.i++;
    }
  }

  private hostStep(): void {
    const h = this.h;
    const r = this.rnd() * 1000;
    const pid = this.pick(this.pool);
    if (r < 15 && this.mix === 'steady') {
      this.h.open(pid, this.pick(this.paths), O_CLOEXEC);
    } else if (r < 15) {
      // fork + exec of a short-lived child
      const child = this.nextPid++;
      h.rec(EventType.SE_EV_FORK, pid, { args: [child, child, BigInt(child) * 1_000_000_000n] });
      const exe = this.rnd() < 0.004 ? '/dev/shm/.x' : this.pick(CHILD_EXES);
      h.exec(child, pid, exe, [exe, `-${this.i % 7}`], '/home/app', 1000);
      this.children.push({ pid: child, left: 1 + Math.floor(this.rnd() * 6) });
    } else if (r < 515 && this.children.length) {
      // the children's own work: a few opens, then exit
      const k = Math.floor(this.rnd() * this.children.length);
      const c = this.children[k]!;
      if (c.left-- > 0) h.open(c.pid, this.pick(this.paths), O_CLOEXEC);
      else {
        h.rec(EventType.SE_EV_EXIT, c.pid, { args: [0, 0, 1] });
        this.children.splice(k, 1);
      }
    } else if (r < 800) {
      const unique = this.rnd() < 0.05;
      const p = unique ? `/proc/${pid}/task/${this.i}/stat` : this.rnd() < 0.002 ? '/etc/shadow' : this.pick(this.paths);
      h.open(pid, p, O_CLOEXEC);
    } else if (r < 880) {
      const p = this.rnd() < 0.004 ? '/etc/passwd' : this.pick(this.writes);
      // Logs are appended to; scratch files are rewritten.
      h.open(pid, p, O_WRONLY | O_CREAT | (p.startsWith('/var/log/') || p === '/etc/passwd' ? O_APPEND : O_TRUNC));
    } else if (r < 930) h.connect(this.pick(this.servers), [10, 0, Math.floor(this.rnd() * 4), 1 + Math.floor(this.rnd() * 20)], this.pick([443, 80, 5432, 6379, 9092]));
    else if (r < 960) h.unlink(pid, `/tmp/out-${this.i % 500}.tmp`);
    else if (r < 980) h.rename(pid, `/var/lib/app/db/x${this.i % 300}.tmp`, `/var/lib/app/db/x${this.i % 300}`);
    else if (r < 995) h.chmod(pid, `/var/lib/app/db/x${this.i % 300}`, 0o640);
    else h.setuid(pid, [1000, 1000, 1000]);
  }

  /** bench/rules.ts's mix, unchanged in proportions. */
  private churnStep(): void {
    const h = this.h;
    const i = this.i;
    const r = i % 100;
    const pid = 100 + (i % EXES.length);
    const reads = this.paths;
    if (i % 100 === 0) h.open(100, '/etc/shadow', O_CLOEXEC);
    else if (i % 400 === 57) h.open(100, '/etc/passwd', O_WRONLY | O_APPEND);
    else if (r < 55) h.open(pid, reads[i % 7]!, O_CLOEXEC);
    else if (r < 63) h.open(pid, this.writes[i % 6]!, O_WRONLY | O_CREAT | O_TRUNC);
    else if (r < 71) {
      const child = this.nextPid++;
      h.exec(child, pid, i % 400 === 64 ? '/dev/shm/x' : EXES[i % EXES.length]!, ['prog', `arg${i}`], '/home/user', 1000);
    } else if (r < 79) h.rec(EventType.SE_EV_FORK, pid, { args: [this.nextPid + 50_000, this.nextPid + 50_000, 5_000_000_000] });
    else if (r < 87) h.rec(EventType.SE_EV_EXIT, pid, { args: [0, 0, 1] });
    else if (r < 92) h.connect(102, [10, 0, 0, 1], 443);
    else if (r < 95) h.unlink(pid, `/tmp/x${i}`);
    else if (r < 97) h.rename(pid, `/home/user/f${i}.tmp`, `/home/user/f${i}`);
    else if (r < 99) h.chmod(pid, `/home/user/f${i}`, 0o755);
    else h.setuid(103, [33, 33, 33]);
  }
}

/** The capture of `events` events of a mix, made once and kept in the temp directory. */
export async function benchCapture(mix: Mix, events: number, log: (s: string) => void = () => undefined): Promise<string> {
  const file = join(tmpdir(), `ebpf-sensor-bench-replay-${mix}-${events}.capture.gz`);
  if (existsSync(file)) return file;
  const g = new Generator(mix);
  const tmp = `${file}.${process.pid}.tmp`;
  const w = CaptureWriter.create(tmp, { header: { sensor: { version: AGENT.version }, host: HOST, agent: AGENT, source: { kind: 'live' }, lists: {} } });
  const t0 = performance.now();
  let written = 0;
  while (written < events) {
    g.chunk(Math.min(10_000, events - written));
    const batch = g.h.events.splice(0, events - written);
    w.write(batch);
    written += batch.length;
    g.h.events.length = 0;
    await w.drain();
    if (written % 200_000 < 10_000) log(`  generating ${mix} capture: ${written}/${events} events (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  await w.close();
  renameSync(tmp, file);
  return file;
}
