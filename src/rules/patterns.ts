/**
 * `regex` and `glob` operands run on RE2JS, a JavaScript port of RE2: an
 * automaton engine whose matching time is linear in the input, so no rule
 * pattern can backtrack catastrophically, whatever it looks like. Syntax RE2
 * cannot run in linear time (backreferences, lookaround) is rejected at load
 * time (ESENSOR_RULE_REGEX). docs/rules.md explains why this engine.
 */
import { BlockList, isIP } from 'node:net';
import { RE2JS } from 're2js';

/** A compiled pattern: true when the value matches. */
export type Matcher = (s: string) => boolean;

export class PatternError extends Error {}

/**
 * Matchers already compiled, by operand ("r:" regex, "g:" glob): a pattern a
 * macro brings to many rules, or a reload brings again, is compiled once
 * (RE2 compilation was the largest part of compiling the bundled rules).
 * Matchers hold no state between calls, so sharing them changes nothing.
 */
const compiled = new Map<string, Matcher>();
const MAX_CACHED = 4096;

function cached(key: string, make: () => Matcher): Matcher {
  let m = compiled.get(key);
  if (m) return m;
  m = make();
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(key, m);
  return m;
}

/** Compile a regex (unanchored search, RE2 syntax). */
export function compileRegex(src: string): Matcher {
  return cached(`r:${src}`, () => newRegex(src));
}

function newRegex(src: string): Matcher {
  let re: RE2JS;
  try {
    re = RE2JS.compile(src);
  } catch (e) {
    throw new PatternError(`invalid regex ${JSON.stringify(src)}: ${(e as Error).message} (RE2 syntax: no backreferences or lookaround)`);
  }
  return (s) => re.test(s);
}

const META = new Set(['*', '?', '[', '\\']);

/**
 * Glob → anchored RE2 pattern. `*` matches within one path segment, `**`
 * across segments, `?` one character other than "/", `[abc]`, `[a-z]`,
 * `[!abc]` classes, `\` escapes the next character.
 */
export function globToRegex(glob: string): string {
  let out = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      const n = glob[i + 1];
      if (n === undefined) throw new PatternError(`glob ${JSON.stringify(glob)} ends with a lone "\\"`);
      out += RE2JS.quote(n);
      i++;
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) throw new PatternError(`glob ${JSON.stringify(glob)}: "[" without "]"`);
      let body = glob.slice(i + 1, close);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = true;
        body = body.slice(1);
      }
      const escaped = body.replace(/[\\\]^[]/g, (m) => `\\${m}`);
      out += `[${neg ? '^/' : ''}${escaped}]`;
      i = close;
    } else out += RE2JS.quote(c);
  }
  return `${out}$`;
}

/** The literal text before a glob's first wildcard (a cheap pre-test). */
export function globPrefix(glob: string): string {
  let i = 0;
  while (i < glob.length && !META.has(glob[i]!)) i++;
  return glob.slice(0, i);
}

/**
 * The literal runs of a glob (between wildcards, classes and escapes): every
 * match contains them in order, so they make cheap necessary tests that spare
 * most values the automaton.
 */
function globLiterals(glob: string): { prefix: string; suffix: string; middle: string[] } {
  const runs: string[] = [];
  let cur = '';
  let literalTail = true;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' || c === '?' || c === '[' || c === '\\') {
      runs.push(cur);
      cur = '';
      literalTail = false;
      if (c === '[') i = Math.max(i, glob.indexOf(']', i + 2));
      else if (c === '\\') i++;
      continue;
    }
    cur += c;
    literalTail = true;
  }
  const prefix = runs.length ? runs[0]! : cur;
  const suffix = literalTail && runs.length ? cur : '';
  const middle = runs.slice(1).filter((r) => r.length > 1);
  return { prefix, suffix, middle };
}

/** Compile a glob; an operand without wildcards is an equality test. */
export function compileGlob(glob: string): Matcher {
  return cached(`g:${glob}`, () => newGlob(glob));
}

function newGlob(glob: string): Matcher {
  const prefix = globPrefix(glob);
  if (prefix.length === glob.length) return (s) => s === glob;
  let re: RE2JS;
  try {
    re = RE2JS.compile(globToRegex(glob));
  } catch (e) {
    throw new PatternError(`invalid glob ${JSON.stringify(glob)}: ${(e as Error).message}`);
  }
  const lit = globLiterals(glob);
  const { suffix, middle } = lit;
  return (s) => {
    if (!s.startsWith(prefix) || !s.endsWith(suffix)) return false;
    for (const m of middle) if (!s.includes(m)) return false;
    return re.testExact(s);
  };
}

/**
 * Compile a `cidr` operand (`10.0.0.0/8`, `fe80::/10`, or a bare address
 * meaning /32 or /128). The value matches when it is an address of the same
 * family inside the network; IPv4-mapped IPv6 values (`::ffff:10.1.2.3`, as
 * dual-stack sockets report IPv4 peers) are tested as IPv4.
 */
export function compileCidr(cidr: string): Matcher {
  const slash = cidr.indexOf('/');
  const addr = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = isIP(addr);
  const max = family === 4 ? 32 : 128;
  const bits = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (family === 0 || !/^\d{1,3}$/.test(slash < 0 ? String(max) : cidr.slice(slash + 1)) || bits > max) {
    throw new PatternError(`invalid cidr ${JSON.stringify(cidr)}: expected ADDRESS/BITS (10.0.0.0/8, fe80::/10)`);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(addr, bits, type);
  return (s) => {
    let v = s;
    if (family === 4 && v.startsWith('::ffff:') && isIP(v.slice(7)) === 4) v = v.slice(7);
    return isIP(v) === family && list.check(v, type);
  };
}
