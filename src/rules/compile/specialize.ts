/**
 * Step 4 of compiling rules, compile: a rule's IR is specialized per event
 * family (tests the family decides fold to constants, so a rule sits only in
 * the buckets of families it can match) and turned into closures; `irKey`
 * names equal tests so the engine evaluates a shared one once.
 */
import type { EventKind } from '../../model/event.js';
import { ACTIONS_OF_KIND, FIELDS, SYSCALLS_OF_KIND, type FieldValue } from '../fields.js';
import type { EventPredicate, IR } from './ir.js';

/** The candidate values of fields a family (or an analysis) decides. */
export type Facts = ReadonlyMap<string, readonly FieldValue[]>;

/** Facts every event of a family satisfies: its kind, its actions, the fields it never carries. */
export function kindFacts(kind: EventKind): Map<string, readonly FieldValue[]> {
  const f = new Map<string, readonly FieldValue[]>();
  f.set('ebpf.kind', [kind]);
  f.set('event.action', ACTIONS_OF_KIND[kind]);
  // A tamper event names the syscall whose argument changed; a loss event none.
  if (kind !== 'tamper' && kind !== 'loss') f.set('ebpf.syscall', SYSCALLS_OF_KIND[kind]);
  for (const spec of FIELDS.values()) if (!spec.kinds.has(kind)) f.set(spec.name, [undefined]);
  return f;
}

/** Fold the tests the facts decide into constants and simplify. */
export function specialize(ir: IR, facts: Facts): IR {
  switch (ir.t) {
    case 'const':
      return ir;
    case 'test': {
      const cands = facts.get(ir.field.name);
      if (!cands) return ir;
      let t = 0;
      for (const c of cands) if (ir.pred(c)) t++;
      if (t === cands.length) return { t: 'const', value: true };
      if (t === 0) return { t: 'const', value: false };
      return ir;
    }
    case 'not': {
      const e = specialize(ir.e, facts);
      if (e.t === 'const') return { t: 'const', value: !e.value };
      return { t: 'not', e };
    }
    case 'and':
    case 'or': {
      const absorbing = ir.t === 'or';
      const items: IR[] = [];
      for (const x of ir.items) {
        const s = specialize(x, facts);
        if (s.t === 'const') {
          if (s.value === absorbing) return s;
          continue;
        }
        if (s.t === ir.t) items.push(...s.items);
        else items.push(s);
      }
      if (items.length === 0) return { t: 'const', value: !absorbing };
      if (items.length === 1) return items[0]!;
      return { t: ir.t, items };
    }
  }
}

/** A structural key: equal keys mean equal tests (used to evaluate a shared test once). */
export function irKey(ir: IR): string {
  switch (ir.t) {
    case 'const':
      return String(ir.value);
    case 'test':
      return `${ir.field.name} ${ir.op} ${JSON.stringify(ir.values)}`;
    case 'not':
      return `not(${irKey(ir.e)})`;
    case 'and':
    case 'or':
      return `${ir.t}(${ir.items.map(irKey).join(',')})`;
  }
}

/** IR → closure. Small arities get dedicated closures: they are the hot path. */
export function toClosure(ir: IR): EventPredicate {
  switch (ir.t) {
    case 'const': {
      const v = ir.value;
      return () => v;
    }
    case 'test': {
      const get = ir.field.get;
      const pred = ir.pred;
      if (!ir.field.array && ir.op === '=') {
        const want = ir.values[0];
        return (ev) => get(ev) === want;
      }
      return (ev) => pred(get(ev));
    }
    case 'not': {
      const e = toClosure(ir.e);
      return (ev) => !e(ev);
    }
    case 'and': {
      const fs = ir.items.map(toClosure);
      if (fs.length === 2) {
        const [a, b] = fs as [EventPredicate, EventPredicate];
        return (ev) => a(ev) && b(ev);
      }
      if (fs.length === 3) {
        const [a, b, c] = fs as [EventPredicate, EventPredicate, EventPredicate];
        return (ev) => a(ev) && b(ev) && c(ev);
      }
      return (ev) => {
        for (const f of fs) if (!f(ev)) return false;
        return true;
      };
    }
    case 'or': {
      const fs = ir.items.map(toClosure);
      if (fs.length === 2) {
        const [a, b] = fs as [EventPredicate, EventPredicate];
        return (ev) => a(ev) || b(ev);
      }
      return (ev) => {
        for (const f of fs) if (f(ev)) return true;
        return false;
      };
    }
  }
}
