import { describe, expect, it } from 'vitest';
import { NetworkGraph } from '../src/index';

const node = (id: string, dependsOn: string[] = [], parent: string | null = null) => ({ id, dependsOn, parent });

describe('NetworkGraph', () => {
  // Milestone 1: load balancer -> application -> database.
  const m1 = new NetworkGraph([node('cluster/lb', ['cluster/app']), node('cluster/app', ['cluster/db']), node('cluster/db')]);

  it('orders the Milestone-1 networks dependencies first, whatever order they are given in', () => {
    expect(m1.creationOrder(['cluster/lb', 'cluster/app', 'cluster/db'])).toEqual(['cluster/db', 'cluster/app', 'cluster/lb']);
    expect(m1.creationOrder(['cluster/app', 'cluster/lb', 'cluster/db'])).toEqual(['cluster/db', 'cluster/app', 'cluster/lb']);
    expect(m1.creationOrder()).toEqual(['cluster/db', 'cluster/app', 'cluster/lb']);
  });

  it('reachability is exactly the declared edges, both directions, not transitive', () => {
    expect(m1.reachable('cluster/lb', 'cluster/app')).toBe(true);
    expect(m1.reachable('cluster/app', 'cluster/lb')).toBe(true);
    expect(m1.reachable('cluster/app', 'cluster/db')).toBe(true);
    expect(m1.reachable('cluster/db', 'cluster/app')).toBe(true);
    expect(m1.reachable('cluster/lb', 'cluster/db')).toBe(false);
    expect(m1.reachable('cluster/db', 'cluster/lb')).toBe(false);
    expect(m1.reachable('cluster/lb', 'cluster/lb')).toBe(true);
    expect(m1.reachable('cluster/lb', 'cluster/ghost')).toBe(false);
    expect(m1.reachablePairs()).toEqual([
      ['cluster/app', 'cluster/db'],
      ['cluster/app', 'cluster/lb'],
    ]);
  });

  it('parents come before their children, and ties are broken by id', () => {
    const g = new NetworkGraph([node('acme/z'), node('acme/child', [], 'acme/parent'), node('acme/parent'), node('acme/a')]);
    expect(g.creationOrder()).toEqual(['acme/a', 'acme/parent', 'acme/child', 'acme/z']);
    expect(g.children('acme/parent')).toEqual(['acme/child']);
    expect(g.ancestors('acme/child')).toEqual(['acme/parent']);
  });

  it('prerequisites outside the given ids count as existing', () => {
    expect(m1.creationOrder(['cluster/lb', 'cluster/app'])).toEqual(['cluster/app', 'cluster/lb']);
  });

  it('finds a cycle and names it from its smallest member', () => {
    const g = new NetworkGraph([node('c', ['a']), node('a', ['b']), node('b', ['c']), node('d', ['a'])]);
    expect(g.findCycle()).toEqual(['a', 'b', 'c', 'a']);
    expect(() => g.creationOrder()).toThrow('no creation order: a, b, c, d are on a cycle or wait on one');
    expect(m1.findCycle()).toBeNull();
  });

  it('a parent edge closes a cycle too', () => {
    const g = new NetworkGraph([node('a', ['b']), node('b', [], 'a')]);
    expect(g.findCycle()).toEqual(['a', 'b', 'a']);
  });

  it('lists dependents and unknown references', () => {
    expect(m1.dependents('cluster/db')).toEqual(['cluster/app']);
    const g = new NetworkGraph([node('x', ['y', 'ghost'], 'nowhere')]);
    expect(g.unknownReferences()).toEqual([
      { from: 'x', to: 'nowhere', relation: 'parent', index: 0 },
      { from: 'x', to: 'y', relation: 'dependsOn', index: 0 },
      { from: 'x', to: 'ghost', relation: 'dependsOn', index: 1 },
    ]);
  });
});
