/**
 * pipeline/replay-tree: the process tree behind `replay --process`.
 *
 * Takes: every enriched event of a first pass over the inputs, then the
 * entity id asked for. Gives: the processes to replay (that process and
 * its descendants), its ancestors (whose lifecycle events are replayed
 * too) and the chain from the oldest known ancestor down to it.
 */
import { SensorError } from '../errors.js';
import type { SensorEvent } from '../model/event.js';
import type { ProcessNode } from './replay-summary.js';

/** What `--process` lets through, and the ancestry the summary shows. */
export interface ProcessSelection {
  subtree: Set<string>;
  ancestors: Set<string>;
  /** Oldest known ancestor first, the process last. */
  chain: ProcessNode[];
}

/** Every process seen → its parent and identity. */
export class ProcessTree {
  private readonly links = new Map<string, ProcessNode>();

  /** Remember who `ev`'s process is and whose child (ev enriched). */
  record(ev: SensorEvent): void {
    const links = this.links;
    const p = ev.process;
    if (!p.entity_id) return;
    const known = links.get(p.entity_id);
    // The latest image wins (exec replaces it); the parent link never changes.
    const node: ProcessNode = { entity_id: p.entity_id, pid: p.pid, name: p.name };
    if (p.executable !== undefined) node.executable = p.executable;
    if (p.args !== undefined) node.args = p.args;
    const parent = p.parent.entity_id || known?.parent;
    if (parent) node.parent = parent;
    if (!known || ev.ebpf.kind === 'exec' || known.executable === undefined) links.set(p.entity_id, node);
    // A parent never seen acting (older than the recording) is known from its children.
    if (p.parent.entity_id && !links.has(p.parent.entity_id)) {
      const q = p.parent;
      const pn: ProcessNode = { entity_id: q.entity_id!, pid: q.pid };
      if (q.name !== undefined) pn.name = q.name;
      if (q.executable !== undefined) pn.executable = q.executable;
      if (q.args !== undefined) pn.args = q.args;
      links.set(q.entity_id!, pn);
    }
  }

  /** The subtree and ancestry of `target`; a usage error when no event of it was seen. */
  select(target: string): ProcessSelection {
    const links = this.links;
    if (!links.has(target)) {
      throw new SensorError('ESENSOR_USAGE', `--process ${target}: no event of this process (entity id) in the input`);
    }
    const children = new Map<string, string[]>();
    for (const n of links.values()) {
      if (!n.parent || n.parent === n.entity_id) continue;
      if (!children.has(n.parent)) children.set(n.parent, []);
      children.get(n.parent)!.push(n.entity_id);
    }
    const subtree = new Set<string>([target]);
    const queue = [target];
    while (queue.length) {
      for (const c of children.get(queue.shift()!) ?? []) {
        if (subtree.has(c)) continue;
        subtree.add(c);
        queue.push(c);
      }
    }
    const chain: ProcessNode[] = [];
    const ancestors = new Set<string>();
    for (let id = links.get(target)?.parent; id !== undefined && !ancestors.has(id) && !subtree.has(id); ) {
      ancestors.add(id);
      const n = links.get(id);
      chain.unshift(n ?? { entity_id: id, pid: -1 });
      id = n?.parent;
    }
    chain.push(links.get(target)!);
    return { subtree, ancestors, chain };
  }
}
