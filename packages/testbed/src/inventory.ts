import { readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { dockerPing } from './docker';
import { run, tryRun } from './exec';
import { deleteStream, natsUrl } from './jetstream';
import { ownerAlive, processAlive, pruneOwnerRecords, tagOf, TEST_DB_PREFIX } from './names';
import { listNamespaces, removeNamespace } from './netns';
import { deleteLink, listBridges, vsctl } from './ovs';
import { dropDatabase, withAdminClient } from './postgres';
import { findProcesses, removeTree, terminate } from './procs';
import type { ProcessInfo } from './procs';

/** Test-bed resources that exist right now, found by their `sdmi-<tag>` names. */
export interface Inventory {
  namespaces: string[];
  bridges: string[];
  /** Host interfaces: veth ends, bridge and internal-port taps. */
  interfaces: string[];
  /**
   * Processes with a test-bed name in their arguments: extra dockerd, their containerd and shims,
   * the ovsdb-server and ovs-vswitchd of each OvsInNamespace (by their `/tmp/sdmi-<tag>-o<n>/` files),
   * the pdns_server of each PowerDns (by its `--config-dir=/tmp/sdmi-<tag>-p<n>`), the dnsdist of
   * each Dnsdist (by its `-C /tmp/sdmi-<tag>-d<n>/dnsdist.conf`), the netconfd, sshd and
   * netconf-subsystem of each Netconfd (by their `/tmp/sdmi-<tag>-n<n>/` files), the nats-server of each
   * NatsServer (by its `-c /tmp/sdmi-<tag>-a<n>/nats.conf`), and whatever else runs inside a
   * test-bed namespace.
   */
  processes: ProcessInfo[];
  /** Temp dirs (extra Docker hosts, OvsInNamespace run dirs, PowerDns, Dnsdist, Netconfd and NatsServer dirs, image root file systems). */
  directories: string[];
  databases: string[];
  streams: string[];
}

export interface InventoryOptions {
  /** Only resources of this run tag (e.g. `runId()`); default all runs. */
  tag?: string;
  /** Also list PostgreSQL databases; default true. */
  databases?: boolean;
  /** Also list JetStream streams; default true. */
  streams?: boolean;
}

async function listInterfaces(): Promise<string[]> {
  const out = await run('ip', ['-o', 'link', 'show']);
  return out
    .split('\n')
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '')
    .filter(Boolean);
}

function listDirectories(): string[] {
  return readdirSync(tmpdir()).map((e) => join(tmpdir(), e));
}

async function listDatabases(): Promise<string[]> {
  return withAdminClient(async (c) => {
    const r = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [TEST_DB_PREFIX]);
    return r.rows.map((row) => row.datname);
  });
}

async function listStreams(): Promise<string[]> {
  const nc = await connect({ servers: natsUrl(), timeout: 2_000, name: 'sdmi-testbed inventory' });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const n of jsm.streams.names()) names.push(n);
    return names;
  } finally {
    await nc.close();
  }
}

/**
 * Pids of the processes running inside these namespaces (`ip netns pids`), whatever their
 * arguments: a daemon started with `exec()` in an OvsInNamespace or a NetNamespace keeps its
 * namespace alive after `ip netns del`, so it must go first.
 */
async function pidsInNamespaces(namespaces: readonly string[]): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const ns of namespaces) {
    const r = await tryRun('ip', ['netns', 'pids', ns]);
    if (r.exitCode !== 0) continue; // removed meanwhile
    for (const line of r.stdout.split('\n')) if (/^\d+$/.test(line.trim())) pids.add(Number(line.trim()));
  }
  pids.delete(process.pid);
  return pids;
}

function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return processAlive(pid) ? { pid, argv } : undefined;
  } catch {
    return undefined; // exited meanwhile
  }
}

/** Processes with a test-bed name in their arguments, and those inside the given namespaces. */
async function listProcesses(match: (arg: string) => boolean, namespaces: readonly string[]): Promise<ProcessInfo[]> {
  const found = findProcesses(match);
  const known = new Set(found.map((p) => p.pid));
  for (const pid of await pidsInNamespaces(namespaces)) {
    const p = known.has(pid) ? undefined : processInfo(pid);
    if (p) found.push(p);
  }
  return found;
}

/** Removes all containers of an extra dockerd found by its process (its `-H unix://…` argument). */
async function removeContainers(p: ProcessInfo): Promise<void> {
  const i = p.argv.indexOf('-H');
  const host = i >= 0 ? p.argv[i + 1] : undefined;
  if (!host?.startsWith('unix://') || !(await dockerPing(host.slice('unix://'.length)))) return;
  const ids = (await run('docker', ['-H', host, 'ps', '-aq'])).split('\n').filter(Boolean);
  if (ids.length) await run('docker', ['-H', host, 'rm', '-f', '-v', ...ids]);
}

/** Lists the test-bed resources that exist now (of every run, or of one tag). */
export async function inventory(options: InventoryOptions = {}): Promise<Inventory> {
  const mine = (name: string) => {
    const t = tagOf(name);
    return t !== undefined && (options.tag === undefined || t === options.tag);
  };
  const [namespaces, bridges, interfaces, databases, streams] = await Promise.all([
    listNamespaces(),
    listBridges(),
    listInterfaces(),
    options.databases === false ? [] : listDatabases(),
    options.streams === false ? [] : listStreams(),
  ]);
  const ours = namespaces.filter(mine);
  return {
    namespaces: ours,
    bridges: bridges.filter(mine),
    interfaces: interfaces.filter(mine),
    processes: await listProcesses(mine, ours),
    directories: listDirectories().filter(mine),
    databases: databases.filter(mine),
    streams: streams.filter(mine),
  };
}

/** Whether an inventory lists nothing. */
export function inventoryIsEmpty(inv: Inventory): boolean {
  return Object.values(inv).every((list: unknown[]) => list.length === 0);
}

/** One line per resource, for failure messages. */
export function describeInventory(inv: Inventory): string {
  const lines: string[] = [];
  for (const [kind, list] of Object.entries(inv) as [string, (string | ProcessInfo)[]][]) {
    for (const item of list) lines.push(`${kind}: ${typeof item === 'string' ? item : `${item.pid} ${item.argv.join(' ')}`}`);
  }
  return lines.join('\n');
}

export interface SweepOptions extends InventoryOptions {
  /**
   * Only remove what belongs to runs whose process is gone (default true), so that a sweep never
   * pulls resources from under a test that is still running, in this or a concurrent vitest run.
   */
  orphansOnly?: boolean;
}

/**
 * Removes leftover test-bed resources: processes first (SIGTERM, then SIGKILL), then their
 * directories, namespaces, bridges, interfaces, databases and streams. Every kind is tried even
 * when another fails. Resolves with what was found for removal, and the errors met.
 */
export async function sweepLeftovers(options: SweepOptions = {}): Promise<{ removed: Inventory; errors: unknown[] }> {
  const orphansOnly = options.orphansOnly ?? true;
  const errors: unknown[] = [];
  const keep = (name: string) => {
    const t = tagOf(name);
    return t !== undefined && (!orphansOnly || !ownerAlive(t));
  };
  const found = await inventory(options);
  const namespaces = found.namespaces.filter(keep);
  const inside = await pidsInNamespaces(namespaces);
  const removed: Inventory = {
    namespaces,
    bridges: found.bridges.filter(keep),
    interfaces: found.interfaces.filter(keep),
    processes: found.processes.filter((p) => p.argv.some(keep) || inside.has(p.pid)),
    directories: found.directories.filter(keep),
    databases: found.databases.filter(keep),
    streams: found.streams.filter(keep),
  };
  const attempt = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      errors.push(e);
    }
  };
  // dockerd first: it stops its own containerd and shims; what survives goes next. ovs-vswitchd
  // before its ovsdb-server, as OvsInNamespace's teardown does. Namespaces go only after the
  // processes inside them: until then `ip netns del` would just hide a namespace that lives on.
  const rank = (p: ProcessInfo) => (p.argv[0]?.endsWith('dockerd') ? 0 : p.argv[0]?.endsWith('ovs-vswitchd') ? 1 : 2);
  const inOrder = [...removed.processes].sort((a, b) => rank(a) - rank(b));
  for (const p of inOrder) {
    await attempt(async () => {
      if (p.argv[0]?.endsWith('dockerd')) await removeContainers(p);
      await terminate(p.pid, 10_000);
    });
  }
  for (const d of removed.directories) await attempt(() => removeTree(d));
  for (const n of removed.namespaces) await attempt(() => removeNamespace(n));
  for (const b of removed.bridges) await attempt(() => vsctl('--if-exists', 'del-br', b));
  for (const i of removed.interfaces) await attempt(() => vsctl('--if-exists', 'del-port', i).then(() => deleteLink(i)));
  if (removed.databases.length) {
    await attempt(() => withAdminClient(async (c) => {
      for (const d of removed.databases) await dropDatabase(c, d);
    }));
  }
  if (removed.streams.length) {
    await attempt(async () => {
      const nc = await connect({ servers: natsUrl(), timeout: 2_000, name: 'sdmi-testbed sweep' });
      try {
        for (const s of removed.streams) await deleteStream(nc, s);
      } finally {
        await nc.close();
      }
    });
  }
  pruneOwnerRecords();
  return { removed, errors };
}
