import { createHash } from 'node:crypto';
import { InvalidMeshChange, InvalidNodeAddress, InvalidNodeName } from './errors';

/** Where the mesh command lives in the db image; steps name it absolutely so no PATH is assumed. */
export const MESH_COMMAND = '/usr/local/bin/m1-mesh';

/** Longest node name: slot names `m1_<publisher>__<subscriber>` must stay within PostgreSQL's 63 bytes. */
export const MAX_NODE_NAME = 24;

/** A database replica as the orchestrator knows it: its mesh name and the address peers reach it at. */
export interface MeshNode {
  readonly name: string;
  /** `host`, `host:port` or `[ipv6]:port` (port 5432 when left out); the replica's own address, not the service's. */
  readonly address: string;
}

/** One command to exec inside one db container. Steps of a plan run in order; each is idempotent. */
export interface MeshStep {
  /** Name of the node whose container runs the command. */
  readonly node: string;
  readonly argv: readonly string[];
  /** A line for logs and errors. */
  readonly why: string;
}

export interface RemoveNodeOptions {
  /** Also drop the leaving node's rows on the others (default false: they stay readable there). */
  readonly dropData?: boolean;
}

const NAME = /^[a-z][a-z0-9_]*$/;
const ADDRESS = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

/**
 * A valid node name made from anything (a hostname, a replica id): the same function as
 * `m1-mesh name <raw>` in the db image. Lower case; each run of characters other than [a-z0-9]
 * becomes one `_`; no `_` at either end; `n_` before a leading digit; `node` when nothing is left;
 * over 24 characters, the first 17 and 6 hex digits of the raw string's SHA-256.
 */
export function meshNodeName(raw: string): string {
  let s = raw
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_/, '')
    .replace(/_$/, '');
  if (s === '') s = 'node';
  if (/^[0-9]/.test(s)) s = `n_${s}`;
  if (s.length > MAX_NODE_NAME) {
    const hash = createHash('sha256').update(raw, 'utf8').digest('hex').slice(0, 6);
    s = `${s.slice(0, 17).replace(/_$/, '')}_${hash}`;
  }
  return s;
}

/** Returns the name if `m1-mesh` accepts it, else throws InvalidNodeName saying why. */
export function checkNodeName(name: string): string {
  if (name.length === 0 || name.length > MAX_NODE_NAME) throw new InvalidNodeName(name, `must have 1 to ${MAX_NODE_NAME} characters`);
  if (!NAME.test(name)) throw new InvalidNodeName(name, 'must be [a-z0-9_] starting with a letter');
  if (name.includes('__')) throw new InvalidNodeName(name, 'must not hold "__" (it separates names in slot names)');
  if (name.endsWith('_')) throw new InvalidNodeName(name, 'must not end with "_"');
  return name;
}

function checkNode(node: MeshNode): MeshNode {
  checkNodeName(node.name);
  const m = ADDRESS.exec(node.address);
  const port = m?.[1] === undefined ? 5432 : Number(m[1]);
  if (!m || port < 1 || port > 65535) throw new InvalidNodeAddress(node.name, node.address);
  return node;
}

function checkUnique(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new InvalidMeshChange(`node ${n} is listed twice`);
    seen.add(n);
  }
}

/** Makes `node` a mesh node: its own table, publication and the `items` view. */
export function initStep(node: string): MeshStep {
  checkNodeName(node);
  return { node, argv: [MESH_COMMAND, 'init', node], why: `${node} becomes mesh node ${node}` };
}

/** `node` subscribes to `peer`'s publication (copying its rows first). */
export function addPeerStep(node: string, peer: MeshNode): MeshStep {
  checkNodeName(node);
  checkNode(peer);
  return { node, argv: [MESH_COMMAND, 'add-peer', peer.name, peer.address], why: `${node} subscribes to ${peer.name} at ${peer.address}` };
}

/** `node` stops replicating from `peer` and drops the slots between them. */
export function removePeerStep(node: string, peer: string, dropData = false): MeshStep {
  checkNodeName(node);
  checkNodeName(peer);
  return {
    node,
    argv: [MESH_COMMAND, 'remove-peer', peer, ...(dropData ? ['--drop-data'] : [])],
    why: `${node} stops replicating from ${peer}${dropData ? ' and drops its rows' : ''}`,
  };
}

/**
 * The steps for `joining` to enter the mesh of `existing`: it initialises itself, then for each
 * existing node P in order, it subscribes to P and P subscribes to it. Subscribing copies the
 * publisher's rows, so the new node gets all history. An empty `existing` makes a mesh of one.
 */
export function addNodePlan(joining: MeshNode, existing: readonly MeshNode[]): MeshStep[] {
  checkNode(joining);
  existing.forEach(checkNode);
  checkUnique(existing.map((n) => n.name));
  if (existing.some((n) => n.name === joining.name)) throw new InvalidMeshChange(`${joining.name} is already in the mesh`);
  return [initStep(joining.name), ...existing.flatMap((p) => [addPeerStep(joining.name, p), addPeerStep(p.name, joining)])];
}

/** A mesh of all `nodes` from nothing: each joins those before it. */
export function createMeshPlan(nodes: readonly MeshNode[]): MeshStep[] {
  checkUnique(nodes.map((n) => n.name));
  return nodes.flatMap((n, i) => addNodePlan(n, nodes.slice(0, i)));
}

/**
 * The steps for `leaving` to leave the mesh of `remaining` (the others): each remaining node drops
 * its subscription to it (and the slot on it, if it still answers) and the slot it keeps for it, so
 * no slot anywhere holds WAL back for the leaving node. The leaving node need not answer; once the
 * steps are done its container can go.
 */
export function removeNodePlan(leaving: string, remaining: readonly string[], options: RemoveNodeOptions = {}): MeshStep[] {
  checkNodeName(leaving);
  remaining.forEach(checkNodeName);
  checkUnique(remaining);
  if (remaining.includes(leaving)) throw new InvalidMeshChange(`${leaving} cannot be both leaving and remaining`);
  return remaining.map((p) => removePeerStep(p, leaving, options.dropData ?? false));
}

/** One line of `m1-mesh peers`: a node this one knows, and how its subscription to it stands. */
export interface MeshPeer {
  readonly name: string;
  /** `-` when the node left (its address is forgotten). */
  readonly address: string;
  readonly state: 'peer' | 'left';
  readonly subscription: 'enabled' | 'disabled' | 'unsubscribed';
  readonly worker: 'streaming' | 'idle';
  readonly slot: 'slot-active' | 'slot-inactive' | 'no-slot';
}

/** Parses `m1-mesh peers` (tab-separated, a line per node); a line it does not know throws, naming it. */
export function parsePeers(stdout: string): MeshPeer[] {
  const oneOf = <T extends string>(v: string | undefined, allowed: readonly T[], line: string): T => {
    if (v !== undefined && (allowed as readonly string[]).includes(v)) return v as T;
    throw new Error(`m1-mesh peers: unexpected line '${line}'`);
  };
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [name, address, state, subscription, worker, slot, ...rest] = line.split('\t');
      if (name === undefined || address === undefined || rest.length > 0) throw new Error(`m1-mesh peers: unexpected line '${line}'`);
      return {
        name,
        address,
        state: oneOf(state, ['peer', 'left'] as const, line),
        subscription: oneOf(subscription, ['enabled', 'disabled', 'unsubscribed'] as const, line),
        worker: oneOf(worker, ['streaming', 'idle'] as const, line),
        slot: oneOf(slot, ['slot-active', 'slot-inactive', 'no-slot'] as const, line),
      };
    });
}

/**
 * The health of a mesh node from its `m1-mesh peers`: healthy when each of its subscriptions to
 * its peers is enabled (a disabled one means rows written there no longer arrive here). A peer
 * without a subscription yet is a join still under way, which the watch itself retries: it is
 * said, not judged, so that a half-done join does not take the nodes already in the mesh out.
 * Nodes that left are not judged either.
 */
export function meshHealth(peers: readonly MeshPeer[]): { healthy: boolean; detail: string } {
  const current = peers.filter((p) => p.state === 'peer');
  const off = current.filter((p) => p.subscription === 'disabled');
  if (off.length > 0) return { healthy: false, detail: off.map((p) => `subscription to ${p.name} is disabled`).join('; ') };
  const on = current.filter((p) => p.subscription === 'enabled');
  const joining = current.filter((p) => p.subscription === 'unsubscribed');
  const parts = [on.length > 0 ? `subscribed to ${on.map((p) => `${p.name} (${p.worker})`).join(', ')}` : 'no subscriptions', ...(joining.length > 0 ? [`not yet subscribed to ${joining.map((p) => p.name).join(', ')}`] : [])];
  return { healthy: true, detail: `answers; ${parts.join('; ')}` };
}
