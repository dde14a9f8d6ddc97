import { describe, expect, it } from 'vitest';
import {
  InvalidMeshChange,
  InvalidNodeAddress,
  InvalidNodeName,
  MESH_COMMAND,
  addNodePlan,
  checkNodeName,
  createMeshPlan,
  meshHealth,
  meshNodeName,
  parsePeers,
  removeNodePlan,
} from '../src/index';
import type { MeshStep } from '../src/index';

const a = { name: 'a', address: '10.0.3.2' };
const b = { name: 'b', address: '10.0.3.3:5433' };
const c = { name: 'c', address: '[fd00::4]:5432' };
const x = { name: 'x', address: '10.0.3.9' };

/** "node: command args" per step, for readable expectations. */
const lines = (steps: readonly MeshStep[]) =>
  steps.map((s) => {
    expect(s.argv[0]).toBe(MESH_COMMAND);
    return `${s.node}: ${s.argv.slice(1).join(' ')}`;
  });

describe('meshNodeName', () => {
  it('turns hostnames and replica names into names m1-mesh accepts', () => {
    expect(meshNodeName('db-1')).toBe('db_1');
    expect(meshNodeName('Sdmi_t1234_DB-2.rev1')).toBe('sdmi_t1234_db_2_rev1');
    expect(meshNodeName('4cf5f08cf76a')).toBe('n_4cf5f08cf76a'); // Docker's default hostname
    expect(meshNodeName('--x--')).toBe('x');
    expect(meshNodeName('---')).toBe('node');
    expect(meshNodeName('héllo wörld')).toBe('h_llo_w_rld');
  });

  it('keeps long names unique within 24 characters by a digest of the whole raw name', () => {
    const one = meshNodeName('a-very-long-hostname-for-a-database-node-01');
    const two = meshNodeName('a-very-long-hostname-for-a-database-node-02');
    expect(one).toBe('a_very_long_hostn_a5330c'); // the same as `m1-mesh name` prints
    expect(one).not.toBe(two);
    expect(one.length).toBeLessThanOrEqual(24);
  });

  it('always yields a valid name', () => {
    for (const raw of ['', '_', '9', 'A'.repeat(100), 'x_'.repeat(30), '0-0-0-0-0-0-0-0-0-0-0-0', 'ä'.repeat(40)]) {
      expect(checkNodeName(meshNodeName(raw))).toBe(meshNodeName(raw));
    }
  });
});

describe('checkNodeName', () => {
  it.each([
    ['', 'characters'],
    ['a'.repeat(25), 'characters'],
    ['1a', 'starting with a letter'],
    ['A', '[a-z0-9_]'],
    ['a-b', '[a-z0-9_]'],
    ['a__b', '"__"'],
    ['a_', 'end'],
  ])('refuses %j (%s)', (name, reason) => {
    expect(() => checkNodeName(name)).toThrow(InvalidNodeName);
    expect(() => checkNodeName(name)).toThrow(reason);
  });
});

describe('addNodePlan', () => {
  it('initialises the new node, then pairs it with each existing node in both directions', () => {
    expect(lines(addNodePlan(x, [a, b, c]))).toEqual([
      'x: init x',
      'x: add-peer a 10.0.3.2',
      'a: add-peer x 10.0.3.9',
      'x: add-peer b 10.0.3.3:5433',
      'b: add-peer x 10.0.3.9',
      'x: add-peer c [fd00::4]:5432',
      'c: add-peer x 10.0.3.9',
    ]);
  });

  it('makes a mesh of one from nothing', () => {
    expect(lines(addNodePlan(a, []))).toEqual(['a: init a']);
  });

  it('says why each step is there', () => {
    expect(addNodePlan(x, [a]).map((s) => s.why)).toEqual(['x becomes mesh node x', 'x subscribes to a at 10.0.3.2', 'a subscribes to x at 10.0.3.9']);
  });

  it('refuses a node already in the mesh, duplicates, bad names and bad addresses', () => {
    expect(() => addNodePlan(a, [a, b])).toThrow(InvalidMeshChange);
    expect(() => addNodePlan(x, [a, a])).toThrow(InvalidMeshChange);
    expect(() => addNodePlan({ name: 'X', address: '10.0.0.1' }, [a])).toThrow(InvalidNodeName);
    expect(() => addNodePlan(x, [{ name: 'a', address: '10.0.3.2:99999' }])).toThrow(InvalidNodeAddress);
    expect(() => addNodePlan({ name: 'x', address: 'host; rm -rf /' }, [a])).toThrow(InvalidNodeAddress);
    expect(() => addNodePlan({ name: 'x', address: '' }, [a])).toThrow(InvalidNodeAddress);
  });
});

describe('createMeshPlan', () => {
  it('has every node subscribed to every other exactly once, each after both are initialised', () => {
    const steps = createMeshPlan([a, b, c, x]);
    const inited = new Set<string>();
    const subscriptions: string[] = [];
    for (const s of steps) {
      const [, cmd, peer] = s.argv;
      if (cmd === 'init') inited.add(s.node);
      else {
        expect(cmd).toBe('add-peer');
        expect(inited.has(s.node) && inited.has(peer ?? '')).toBe(true);
        subscriptions.push(`${s.node}<-${peer}`);
      }
    }
    expect(inited.size).toBe(4);
    expect(new Set(subscriptions).size).toBe(subscriptions.length);
    expect(subscriptions).toHaveLength(4 * 3);
  });

  it('refuses a node listed twice', () => {
    expect(() => createMeshPlan([a, b, a])).toThrow(InvalidMeshChange);
  });
});

describe('removeNodePlan', () => {
  it('has every remaining node drop the leaving one', () => {
    expect(lines(removeNodePlan('x', ['a', 'b', 'c']))).toEqual(['a: remove-peer x', 'b: remove-peer x', 'c: remove-peer x']);
  });

  it('drops the leaving node\'s rows only when asked', () => {
    expect(lines(removeNodePlan('x', ['a'], { dropData: true }))).toEqual(['a: remove-peer x --drop-data']);
  });

  it('is the inverse of addNodePlan on the set of subscriptions', () => {
    const add = addNodePlan(x, [a, b, c]).filter((s) => s.argv[1] === 'add-peer' && s.node !== 'x');
    const remove = removeNodePlan('x', ['a', 'b', 'c']);
    expect(remove.map((s) => `${s.node}<-${s.argv[2]}`)).toEqual(add.map((s) => `${s.node}<-${s.argv[2]}`));
  });

  it('refuses a node both leaving and remaining, and duplicates', () => {
    expect(() => removeNodePlan('a', ['a', 'b'])).toThrow(InvalidMeshChange);
    expect(() => removeNodePlan('x', ['a', 'a'])).toThrow(InvalidMeshChange);
    expect(() => removeNodePlan('x__y', ['a'])).toThrow(InvalidNodeName);
  });
});

describe('parsePeers and meshHealth (the db health check)', () => {
  const out = ['db1\t10.81.3.16\tpeer\tenabled\tstreaming\tslot-active', 'db3\t10.81.3.18\tpeer\tenabled\tidle\tslot-active', 'db4\t-\tleft\tunsubscribed\tidle\tno-slot', ''].join('\n');

  it('reads every line of m1-mesh peers', () => {
    expect(parsePeers(out)).toEqual([
      { name: 'db1', address: '10.81.3.16', state: 'peer', subscription: 'enabled', worker: 'streaming', slot: 'slot-active' },
      { name: 'db3', address: '10.81.3.18', state: 'peer', subscription: 'enabled', worker: 'idle', slot: 'slot-active' },
      { name: 'db4', address: '-', state: 'left', subscription: 'unsubscribed', worker: 'idle', slot: 'no-slot' },
    ]);
    expect(parsePeers('')).toEqual([]);
    expect(() => parsePeers('db1\t10.81.3.16\tpeer\tmaybe\tidle\tno-slot')).toThrow(/unexpected line/);
  });

  it('healthy when every peer subscription is enabled; nodes that left are not judged', () => {
    expect(meshHealth(parsePeers(out))).toEqual({ healthy: true, detail: 'answers; subscribed to db1 (streaming), db3 (idle)' });
    expect(meshHealth([])).toEqual({ healthy: true, detail: 'answers; no subscriptions' });
  });

  it('a disabled subscription to a peer is unhealthy, naming it', () => {
    const peers = parsePeers(out.replace('peer\tenabled\tstreaming', 'peer\tdisabled\tidle'));
    expect(meshHealth(peers)).toEqual({ healthy: false, detail: 'subscription to db1 is disabled' });
  });

  it('a peer not subscribed to yet (a join under way, retried by the watch) is said but not judged', () => {
    const peers = parsePeers(out.replace('peer\tenabled\tidle', 'peer\tunsubscribed\tidle'));
    expect(meshHealth(peers)).toEqual({ healthy: true, detail: 'answers; subscribed to db1 (streaming); not yet subscribed to db3' });
  });
});
