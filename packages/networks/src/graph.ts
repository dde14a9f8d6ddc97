// The dependency graph of networks: dependsOn edges (who may reach whom) and parent edges (who
// nests in whom). Pure; the store builds it from what exists plus what a command brings.

export interface GraphNode {
  readonly id: string;
  readonly dependsOn: readonly string[];
  readonly parent: string | null;
}

export class NetworkGraph {
  private readonly nodes = new Map<string, GraphNode>();

  constructor(nodes: Iterable<GraphNode> = []) {
    for (const n of nodes) this.nodes.set(n.id, { id: n.id, dependsOn: [...n.dependsOn], parent: n.parent });
  }

  get ids(): string[] {
    return [...this.nodes.keys()].sort();
  }

  has(id: string): boolean {
    return this.nodes.has(id);
  }

  node(id: string): GraphNode | undefined {
    return this.nodes.get(id);
  }

  /** What must exist before `id`: its parent and the networks it depends on. */
  prerequisites(id: string): string[] {
    const n = this.nodes.get(id);
    if (!n) return [];
    return [...new Set([...(n.parent !== null ? [n.parent] : []), ...n.dependsOn])].sort();
  }

  /** Networks that depend on `id`. */
  dependents(id: string): string[] {
    return this.ids.filter((other) => this.nodes.get(other)!.dependsOn.includes(id));
  }

  /** Networks nested directly in `id`. */
  children(id: string): string[] {
    return this.ids.filter((other) => this.nodes.get(other)!.parent === id);
  }

  /** `id`'s parent, its parent's parent, ... (stops at a cycle). */
  ancestors(id: string): string[] {
    const out: string[] = [];
    let p = this.nodes.get(id)?.parent ?? null;
    while (p !== null && !out.includes(p) && p !== id) {
      out.push(p);
      p = this.nodes.get(p)?.parent ?? null;
    }
    return out;
  }

  /** References to networks the graph does not hold. */
  unknownReferences(): { from: string; to: string; relation: 'dependsOn' | 'parent'; index: number }[] {
    const out: { from: string; to: string; relation: 'dependsOn' | 'parent'; index: number }[] = [];
    for (const id of this.ids) {
      const n = this.nodes.get(id)!;
      if (n.parent !== null && !this.nodes.has(n.parent)) out.push({ from: id, to: n.parent, relation: 'parent', index: 0 });
      n.dependsOn.forEach((to, index) => {
        if (!this.nodes.has(to)) out.push({ from: id, to, relation: 'dependsOn', index });
      });
    }
    return out;
  }

  /**
   * A cycle of dependsOn and parent edges as the ids along it, first repeated at the end
   * (`a -> b -> c -> a`), or null. Deterministic: searched from the smallest id, edges in order.
   */
  findCycle(): string[] | null {
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (id: string): string[] | null => {
      state.set(id, 'open');
      stack.push(id);
      for (const next of this.prerequisites(id)) {
        if (!this.nodes.has(next)) continue;
        const s = state.get(next);
        if (s === 'open') return [...stack.slice(stack.indexOf(next)), next];
        if (s === undefined) {
          const found = visit(next);
          if (found) return found;
        }
      }
      stack.pop();
      state.set(id, 'done');
      return null;
    };
    for (const id of this.ids) {
      if (state.has(id)) continue;
      const found = visit(id);
      if (found) return found;
    }
    return null;
  }

  /**
   * `ids` (all nodes when omitted) ordered so that every prerequisite among them comes first; ties
   * broken by id, so the order is the same every time. Prerequisites outside `ids` are taken as
   * existing. Throws when the edges among them form a cycle (check findCycle first for a message).
   */
  creationOrder(ids: Iterable<string> = this.nodes.keys()): string[] {
    const set = new Set(ids);
    const pending = new Map<string, number>();
    for (const id of set) pending.set(id, this.prerequisites(id).filter((p) => set.has(p) && p !== id).length);
    const order: string[] = [];
    const ready = [...pending].filter(([, n]) => n === 0).map(([id]) => id).sort();
    while (ready.length > 0) {
      const id = ready.shift()!;
      order.push(id);
      for (const other of set) {
        if (!this.prerequisites(other).includes(id) || other === id) continue;
        const left = pending.get(other)! - 1;
        pending.set(other, left);
        if (left === 0) {
          ready.push(other);
          ready.sort();
        }
      }
    }
    if (order.length !== set.size) {
      const stuck = [...set].filter((id) => !order.includes(id)).sort();
      throw new Error(`no creation order: ${stuck.join(', ')} are on a cycle or wait on one`);
    }
    return order;
  }

  /**
   * Whether traffic between `a` and `b` is allowed: the same network, or a declared dependsOn edge
   * in either direction. Not transitive: lb -> app -> db does not let lb reach db. Symmetric
   * because replies need the reverse path, and OpenFlow 1.3 has no connection tracking that could
   * allow only the replies.
   */
  reachable(a: string, b: string): boolean {
    if (a === b) return this.nodes.has(a);
    return (this.nodes.get(a)?.dependsOn.includes(b) ?? false) || (this.nodes.get(b)?.dependsOn.includes(a) ?? false);
  }

  /** Every unordered pair of distinct networks that may reach each other, sorted. */
  reachablePairs(): [string, string][] {
    const out: [string, string][] = [];
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) if (this.reachable(ids[i]!, ids[j]!)) out.push([ids[i]!, ids[j]!]);
    return out;
  }
}
