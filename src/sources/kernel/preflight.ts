/**
 * Before loading anything: can this machine run the sensor? Each failed check
 * says what is missing and how to fix it, instead of a libbpf errno.
 */
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { release } from 'node:os';
import { SensorError } from '../../errors.js';

export interface PreflightResult {
  kernel: string;
  btf: boolean;
  tracefs: string | undefined;
  bpffs: boolean;
  mounted: string[];
}

const CAP_PERFMON = 38;
const CAP_BPF = 39;
const CAP_SYS_ADMIN = 21;
/** bpf_loop (5.17) is the newest helper the programs need; ring buffers 5.8, tp_btf 5.5. */
export const MIN_KERNEL: [number, number] = [5, 17];

function capEff(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

function hasCap(eff: bigint, cap: number): boolean {
  return (eff & (1n << BigInt(cap))) !== 0n;
}

function mounts(): string {
  try {
    return readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}

function isMounted(type: string, path: string, table: string): boolean {
  return table.split('\n').some((l) => {
    const f = l.split(' ');
    return f[2] === type && f[1] === path;
  });
}

function tryMount(type: string, path: string): boolean {
  try {
    mkdirSync(path, { recursive: true });
    execFileSync('mount', ['-t', type, type, path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function parseKernelVersion(rel: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** Run every check; throws the first blocking problem with a clear fix. */
export function preflight(opts: { mount?: boolean } = {}): PreflightResult {
  const kernel = release();
  const [maj, min] = parseKernelVersion(kernel);
  if (maj < MIN_KERNEL[0] || (maj === MIN_KERNEL[0] && min < MIN_KERNEL[1])) {
    throw new SensorError(
      'ESENSOR_KERNEL_UNSUPPORTED',
      `kernel ${kernel} is too old: ebpf-sensor needs Linux ${MIN_KERNEL.join('.')} or newer (BPF ring buffers, bpf_loop, BTF tracepoints)`,
    );
  }
  const eff = capEff();
  const root = process.geteuid?.() === 0;
  const capsOk = hasCap(eff, CAP_SYS_ADMIN) || (hasCap(eff, CAP_BPF) && hasCap(eff, CAP_PERFMON));
  if (!capsOk) {
    throw new SensorError(
      'ESENSOR_PRIVILEGE',
      root
        ? 'running as root but without CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON in the effective set (a restricted container?): grant them, e.g. --privileged or --cap-add BPF --cap-add PERFMON'
        : 'not running as root: loading BPF programs needs root, or CAP_BPF and CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep $(command -v node), or run with sudo)',
    );
  }
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  if (!btf) {
    throw new SensorError(
      'ESENSOR_KERNEL_UNSUPPORTED',
      'kernel BTF is missing (/sys/kernel/btf/vmlinux): the kernel must be built with CONFIG_DEBUG_INFO_BTF=y for CO-RE programs',
    );
  }
  const mounted: string[] = [];
  let table = mounts();
  let tracefs: string | undefined;
  if (isMounted('tracefs', '/sys/kernel/tracing', table)) tracefs = '/sys/kernel/tracing';
  else if (isMounted('tracefs', '/sys/kernel/debug/tracing', table)) tracefs = '/sys/kernel/debug/tracing';
  else if (opts.mount !== false && tryMount('tracefs', '/sys/kernel/tracing')) {
    tracefs = '/sys/kernel/tracing';
    mounted.push('tracefs on /sys/kernel/tracing');
  }
  if (!tracefs) {
    throw new SensorError(
      'ESENSOR_FS_MISSING',
      'tracefs is not mounted and could not be mounted: run `mount -t tracefs tracefs /sys/kernel/tracing` (tracepoint programs attach through it)',
    );
  }
  table = mounts();
  let bpffs = isMounted('bpf', '/sys/fs/bpf', table);
  if (!bpffs && opts.mount !== false && tryMount('bpf', '/sys/fs/bpf')) {
    bpffs = true;
    mounted.push('bpffs on /sys/fs/bpf');
  }
  if (!bpffs) {
    throw new SensorError(
      'ESENSOR_FS_MISSING',
      'bpffs is not mounted at /sys/fs/bpf and could not be mounted: run `mount -t bpf bpf /sys/fs/bpf`',
    );
  }
  return { kernel, btf, tracefs, bpffs, mounted };
}

/** Preflight failures that mean BPF cannot run on this machine at all (not a fault of the sensor or its setup). */
export const BPF_UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['ESENSOR_PRIVILEGE', 'ESENSOR_KERNEL_UNSUPPORTED']);

/**
 * Why BPF cannot run here (not root, no BTF, a kernel too old), or undefined
 * when it can. Tests use this to skip with the reason printed. Any other
 * preflight failure (tracefs or bpffs that cannot be mounted, a bug) is
 * thrown: a suite must fail on it, not skip.
 */
export function bpfUnavailableReason(check: () => unknown = preflight): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    if (e instanceof SensorError && BPF_UNAVAILABLE_CODES.has(e.code)) return e.message;
    throw e;
  }
}
