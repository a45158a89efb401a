/**
 * A Sigma `detection` block → one expression of our condition language.
 *
 * Takes the detection map and a function turning one selection map into
 * our text (per logsource); gives the condition text or throws
 * `Unsupported`. Selections: a map is the AND of its field tests, a list of
 * maps the OR of them; lists of plain strings (keyword searches over the
 * whole log line) have no field to test and are reported. The Sigma
 * condition (`and`, `or`, `not`, parentheses, `1 of x*`, `all of x*`,
 * `1 of them`, `all of them`) is parsed by recursive descent with Sigma's
 * precedence (not > and > or) and written fully parenthesized.
 */
import { join, Unsupported } from './values.js';

export type SelectionConverter = (sel: Record<string, unknown>, name: string) => string;

function selectionText(name: string, body: unknown, conv: SelectionConverter): string {
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    if (Object.keys(body).length === 0) throw new Unsupported(`selection ${name} is empty`);
    return conv(body as Record<string, unknown>, name);
  }
  if (Array.isArray(body) && body.length > 0 && body.every((b) => b !== null && typeof b === 'object' && !Array.isArray(b))) {
    return join(
      body.map((b) => conv(b as Record<string, unknown>, name)),
      'or',
    );
  }
  throw new Unsupported(`selection ${name} is a keyword search (plain strings, no field): not converted`);
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** The detection block → our condition text (without the logsource restriction). */
export function detectionText(detection: Record<string, unknown>, conv: SelectionConverter): string {
  const cond = detection.condition;
  if (Array.isArray(cond)) throw new Unsupported('several conditions in one rule are not converted');
  if (typeof cond !== 'string') throw new Unsupported('no condition');
  if (/\|/.test(cond)) throw new Unsupported(`aggregation in the condition ("${cond}"): not converted`);
  const names = Object.keys(detection).filter((k) => k !== 'condition' && k !== 'timeframe');
  if (detection.timeframe !== undefined) throw new Unsupported('timeframe (correlation over time) is not converted');
  const texts = new Map<string, string>();
  const sel = (name: string): string => {
    if (!names.includes(name)) throw new Unsupported(`condition names an undefined selection "${name}"`);
    let t = texts.get(name);
    if (t === undefined) {
      t = selectionText(name, detection[name], conv);
      texts.set(name, t);
    }
    return t;
  };
  const toks = cond.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = (): string | undefined => toks[i];
  const next = (): string => {
    const t = toks[i++];
    if (t === undefined) throw new Unsupported(`condition "${cond}" ends early`);
    return t;
  };
  const orExpr = (): string => {
    const items = [andExpr()];
    while (peek() === 'or') {
      i++;
      items.push(andExpr());
    }
    return join(items, 'or');
  };
  const andExpr = (): string => {
    const items = [notExpr()];
    while (peek() === 'and') {
      i++;
      items.push(notExpr());
    }
    return join(items, 'and');
  };
  const notExpr = (): string => {
    if (peek() === 'not') {
      i++;
      return `not ${notExpr()}`;
    }
    return primary();
  };
  const primary = (): string => {
    const t = next();
    if (t === '(') {
      const e = orExpr();
      if (next() !== ')') throw new Unsupported(`condition "${cond}": unbalanced parentheses`);
      return e;
    }
    if ((t === '1' || t === 'all' || t === 'any') && peek() === 'of') {
      i++;
      const target = next();
      const matched =
        target === 'them' ? names.filter((n) => !n.startsWith('_')) : names.filter((n) => globToRegExp(target).test(n));
      if (matched.length === 0) throw new Unsupported(`condition "${cond}": "${t} of ${target}" names no selection`);
      return join(
        matched.map((n) => sel(n)),
        t === 'all' ? 'and' : 'or',
      );
    }
    if (t === ')' || t === 'and' || t === 'or' || t === 'of') throw new Unsupported(`condition "${cond}": unexpected "${t}"`);
    return sel(t);
  };
  const out = orExpr();
  if (i !== toks.length) throw new Unsupported(`condition "${cond}": unexpected "${toks[i]}"`);
  return out;
}
