/**
 * The condition language: text → AST. A hand-written tokenizer and
 * recursive-descent parser (the grammar is small and errors must point at a
 * column); the AST is only ever interpreted by compiled closures, never
 * turned back into code.
 *
 *   expr    := and ('or' and)*
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | '(' expr ')' | NAME | NAME test
 *   test    := 'exists' | cmp value | 'in' list | strop (value | list)
 *   cmp     := = | == | != | < | <= | > | >=
 *   strop   := startswith | endswith | contains | glob | regex | cidr
 *   list    := '(' [value (',' value)*] ')' | NAME
 *   value   := WORD | "string" | 'string'
 *
 * A NAME on its own is a macro; a NAME followed by a test is a field. Inside
 * a list (and as the operand of `in`), an unquoted WORD that names a list is
 * replaced by its items.
 */
import { SensorError } from '../errors.js';
import type { Where } from './source.js';
import { DEFAULT_INPUT_LIMITS, inputLimits } from '../model/limits.js';

export type CmpOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type StrOp = 'startswith' | 'endswith' | 'contains' | 'glob' | 'regex' | 'cidr';
export type Op = CmpOp | StrOp | 'in' | 'exists';

export const STR_OPS: readonly StrOp[] = ['startswith', 'endswith', 'contains', 'glob', 'regex', 'cidr'];
const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'exists', ...STR_OPS]);

/**
 * How deep `not` and parentheses may nest (macros included, see the
 * compiler). Real conditions nest a few levels; the bound keeps a hostile
 * rule file or `--filter` from exhausting the stack of the recursive parser
 * and of every pass over the AST.
 */
export const MAX_CONDITION_DEPTH = DEFAULT_INPUT_LIMITS.conditionDepth;

/** The bound in force (`rules.maxNesting`, `replay --max-nesting`; src/model/limits.ts). */
export function maxConditionDepth(): number {
  return inputLimits().conditionDepth;
}

/** A literal operand as written: the text and whether it was quoted. */
export interface Literal {
  text: string;
  quoted: boolean;
  /** Offset in the condition text. */
  at: number;
  /** Set by locate(): the place in the rule file. */
  where?: Where;
}

export type Expr =
  | { t: 'and'; items: Expr[]; at: number; where?: Where }
  | { t: 'or'; items: Expr[]; at: number; where?: Where }
  | { t: 'not'; e: Expr; at: number; where?: Where }
  | { t: 'macro'; name: string; at: number; where?: Where }
  | { t: 'test'; field: string; op: Op; values: Literal[]; list: boolean; at: number; opAt: number; where?: Where; opWhere?: Where };

type TokType = 'word' | 'string' | 'lparen' | 'rparen' | 'comma' | 'op' | 'end';

interface Token {
  type: TokType;
  text: string;
  at: number;
}

/** A parse error at an offset of the condition text (the loader maps it to file:line:column). */
export class ConditionError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const WORD_STOP = new Set([' ', '\t', '\n', '\r', '(', ')', ',', '"', "'", '=', '<', '>', '!']);

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const at = i;
    if (c === '(') {
      out.push({ type: 'lparen', text: c, at });
      i++;
    } else if (c === ')') {
      out.push({ type: 'rparen', text: c, at });
      i++;
    } else if (c === ',') {
      out.push({ type: 'comma', text: c, at });
      i++;
    } else if (c === '"' || c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new ConditionError(`unterminated string`, at);
        const d = src[i]!;
        if (d === c) {
          i++;
          break;
        }
        if (d === '\\') {
          const e = src[i + 1];
          if (e === undefined) throw new ConditionError('unterminated string', at);
          // Only quote and backslash escapes: other backslashes stay, so a
          // regex like "\d" needs no doubling.
          if (e === c || e === '\\') {
            s += e;
            i += 2;
            continue;
          }
        }
        s += d;
        i++;
      }
      out.push({ type: 'string', text: s, at });
    } else if (c === '=' || c === '<' || c === '>' || c === '!') {
      const two = src.slice(i, i + 2);
      if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
        out.push({ type: 'op', text: two === '==' ? '=' : two, at });
        i += 2;
      } else if (c === '!') {
        throw new ConditionError(`unexpected "!" (use != or not)`, at);
      } else {
        out.push({ type: 'op', text: c, at });
        i++;
      }
    } else {
      let j = i;
      while (j < src.length && !WORD_STOP.has(src[j]!)) j++;
      out.push({ type: 'word', text: src.slice(i, j), at });
      i = j;
    }
  }
  out.push({ type: 'end', text: '', at: src.length });
  return out;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }

  private next(): Token {
    return this.toks[this.i++]!;
  }

  private isKw(t: Token, kw: string): boolean {
    return t.type === 'word' && t.text === kw;
  }

  private describe(t: Token): string {
    return t.type === 'end' ? 'end of condition' : `"${t.text}"`;
  }

  parseAll(): Expr {
    const e = this.or();
    const t = this.peek();
    if (t.type !== 'end') {
      throw new ConditionError(`unexpected ${this.describe(t)}; expected "and", "or" or the end of the condition`, t.at);
    }
    return e;
  }

  /** After an `and`/`or` that continues an inherited condition (override: append). */
  parseContinuation(): { joiner: 'and' | 'or'; e: Expr } {
    const t = this.next();
    if (!this.isKw(t, 'and') && !this.isKw(t, 'or')) {
      throw new ConditionError(`an appended condition must start with "and" or "or", found ${this.describe(t)}`, t.at);
    }
    return { joiner: t.text as 'and' | 'or', e: this.parseAll() };
  }

  private or(): Expr {
    const first = this.and();
    const items = [first];
    while (this.isKw(this.peek(), 'or')) {
      this.next();
      items.push(this.and());
    }
    return items.length === 1 ? first : { t: 'or', items, at: first.at };
  }

  private and(): Expr {
    const first = this.unary();
    const items = [first];
    while (this.isKw(this.peek(), 'and')) {
      this.next();
      items.push(this.unary());
    }
    return items.length === 1 ? first : { t: 'and', items, at: first.at };
  }

  private enter(t: Token): void {
    if (++this.depth > maxConditionDepth()) {
      throw new ConditionError(`the condition nests "not" and "(" deeper than ${maxConditionDepth()} levels (rules.maxNesting, replay --max-nesting)`, t.at);
    }
  }

  private unary(): Expr {
    const t = this.peek();
    if (this.isKw(t, 'not')) {
      this.next();
      this.enter(t);
      const e = this.unary();
      this.depth--;
      return { t: 'not', e, at: t.at };
    }
    if (t.type === 'lparen') {
      this.next();
      this.enter(t);
      const e = this.or();
      this.depth--;
      const close = this.next();
      if (close.type !== 'rparen') throw new ConditionError(`expected ")" to close the "(" at offset ${t.at}, found ${this.describe(close)}`, close.at);
      return e;
    }
    if (t.type !== 'word' || KEYWORDS.has(t.text)) {
      throw new ConditionError(`expected a field, a macro, "not" or "(", found ${this.describe(t)}`, t.at);
    }
    this.next();
    const opTok = this.peek();
    if (opTok.type === 'op') {
      this.next();
      const v = this.value();
      return { t: 'test', field: t.text, op: opTok.text as CmpOp, values: [v], list: false, at: t.at, opAt: opTok.at };
    }
    if (opTok.type === 'word' && KEYWORDS.has(opTok.text) && !['and', 'or', 'not'].includes(opTok.text)) {
      this.next();
      const op = opTok.text as Op;
      if (op === 'exists') return { t: 'test', field: t.text, op, values: [], list: false, at: t.at, opAt: opTok.at };
      if (op === 'in' || this.peek().type === 'lparen') {
        const values = this.list();
        return { t: 'test', field: t.text, op, values, list: true, at: t.at, opAt: opTok.at };
      }
      return { t: 'test', field: t.text, op, values: [this.value()], list: false, at: t.at, opAt: opTok.at };
    }
    return { t: 'macro', name: t.text, at: t.at };
  }

  private list(): Literal[] {
    const t = this.peek();
    if (t.type === 'word' && !KEYWORDS.has(t.text)) {
      // `field in list_name`
      this.next();
      return [{ text: t.text, quoted: false, at: t.at }];
    }
    if (t.type !== 'lparen') throw new ConditionError(`expected "(" or a list name, found ${this.describe(t)}`, t.at);
    this.next();
    const out: Literal[] = [];
    if (this.peek().type === 'rparen') {
      this.next();
      return out;
    }
    for (;;) {
      out.push(this.value());
      const sep = this.next();
      if (sep.type === 'rparen') return out;
      if (sep.type !== 'comma') throw new ConditionError(`expected "," or ")" in a list, found ${this.describe(sep)}`, sep.at);
    }
  }

  private value(): Literal {
    const t = this.next();
    if (t.type === 'string') return { text: t.text, quoted: true, at: t.at };
    if (t.type === 'word' && !KEYWORDS.has(t.text)) return { text: t.text, quoted: false, at: t.at };
    throw new ConditionError(`expected a value, found ${this.describe(t)}`, t.at);
  }
}

/** Parse a condition; throws ConditionError with the offset of the problem. */
export function parseCondition(src: string): Expr {
  const toks = tokenize(src);
  if (toks.length === 1) throw new ConditionError('empty condition', 0);
  return new Parser(toks).parseAll();
}

/** Parse the text of an `override: {condition: append}`: "and …" or "or …". */
export function parseContinuation(src: string): { joiner: 'and' | 'or'; e: Expr } {
  return new Parser(tokenize(src)).parseContinuation();
}

/** Is this an identifier a list or macro may be called? */
export function isName(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}

/** Give every node and literal its place in the file (offsets → file:line:column). */
export function locate(e: Expr, pos: (offset: number) => Where): Expr {
  e.where = pos(e.at);
  switch (e.t) {
    case 'and':
    case 'or':
      for (const x of e.items) locate(x, pos);
      break;
    case 'not':
      locate(e.e, pos);
      break;
    case 'test':
      e.opWhere = pos(e.opAt);
      for (const v of e.values) v.where = pos(v.at);
      break;
    case 'macro':
      break;
  }
  return e;
}

/** Parse a condition from a rule file: errors become ESENSOR_RULE_PARSE at file:line:column. */
export function parseLocated(src: { text: string; pos(offset: number): Where }, continuation = false): { joiner?: 'and' | 'or'; e: Expr } {
  try {
    if (continuation) {
      const c = parseContinuation(src.text);
      return { joiner: c.joiner, e: locate(c.e, (o) => src.pos(o)) };
    }
    return { e: locate(parseCondition(src.text), (o) => src.pos(o)) };
  } catch (err) {
    if (err instanceof ConditionError) {
      throw new SensorError('ESENSOR_RULE_PARSE', `condition: ${err.message}`, { ...src.pos(err.at), field: 'condition' });
    }
    throw err;
  }
}
