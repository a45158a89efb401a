/**
 * decode/exec-env: the environment variables an exec record carries (struct
 * se_exec_ext, bpf/programs/process.bpf.c se_put_env) → ECS process.env_vars.
 *
 * Takes: the record bytes and its offset and length. Gives: the captured
 * `NAME=value` strings in environment order and whether the capture was cut
 * (se_exec_ext.env_count, all the variables the image had, is not used yet);
 * undefined when the record
 * captured none (capture off, a failed exec, no allow-listed variable set).
 *
 * The kernel keeps only the variables whose names are on the configured
 * allow-list (kernel.envVars), so nothing else leaves the kernel. What it
 * keeps can still hold a secret in a proxy URL's userinfo
 * (`https_proxy=http://user:password@proxy:3128`): the password is replaced
 * here, before the event reaches a rule, the journal or a sink.
 */
import { SensorError } from '../errors.js';
import { decodeRaw } from '../model/raw-text.js';
import { OFFSETOF, SIZEOF, StrFlags } from './abi.generated.js';

const X = SIZEOF.se_event;
const XO = OFFSETOF.se_exec_ext;
const S = OFFSETOF.se_str;

export interface ExecEnv {
  vars: string[];
  truncated: boolean;
}

/** `scheme://user:password@host` → `scheme://user:REDACTED@host` (any value that holds one). */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:@/\s]*:)[^@/\s]+@/gi;

/** A captured `NAME=value` with the passwords of URLs in its value replaced. */
export function maskEnvValue(v: string): string {
  const eq = v.indexOf('=');
  if (eq < 0 || !v.includes('@', eq)) return v;
  URL_PASSWORD.lastIndex = 0;
  return v.slice(0, eq + 1) + v.slice(eq + 1).replace(URL_PASSWORD, '$1REDACTED@');
}

/** The exec record's captured environment (see the file header). */
export function execEnv(rec: Buffer, base: number, recLen: number): ExecEnv | undefined {
  if (recLen < X + SIZEOF.se_exec_ext) return undefined;
  const d = base + X + XO.env;
  const flags = rec.readUInt16LE(d + S.flags);
  if (!(flags & StrFlags.SE_STR_PRESENT)) return undefined;
  const off = rec.readUInt16LE(d + S.off);
  const len = rec.readUInt16LE(d + S.len);
  if (off + len > recLen) {
    throw new SensorError('ESENSOR_DECODE', `exec environment [${off}, ${off + len}) exceeds record of ${recLen} bytes`);
  }
  const vars: string[] = [];
  let s = base + off;
  const end = s + len;
  while (s < end) {
    let e = s;
    while (e < end && rec[e] !== 0) e++;
    if (e > s) vars.push(maskEnvValue(decodeRaw(rec, s, e)));
    s = e + 1;
  }
  const truncated = (flags & StrFlags.SE_STR_TRUNCATED) !== 0;
  if (vars.length === 0 && !truncated) return undefined;
  return { vars, truncated };
}
