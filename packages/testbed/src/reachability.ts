import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { mainDocker, dockerPing } from './docker';
import { ComponentUnavailable } from './errors';
import { tryRun } from './exec';
import { natsUrl } from './jetstream';
import { pgAdminUrl } from './postgres';

export interface ComponentStatus {
  component: string;
  ok: boolean;
  detail: string;
}

/** Reads the INFO line a NATS server sends on connect. */
function natsInfo(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const u = new URL(url.includes('://') ? url : `nats://${url}`);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: u.hostname, port: Number(u.port || 4222) });
    let buf = '';
    const timer = setTimeout(() => socket.destroy(new Error(`no INFO from ${u.host} within ${timeoutMs} ms`)), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      const end = buf.indexOf('\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.destroy();
      const line = buf.slice(0, end);
      if (!line.startsWith('INFO ')) reject(new Error(`not a NATS server: ${line.slice(0, 60)}`));
      else resolve(JSON.parse(line.slice(5)) as Record<string, unknown>);
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

async function check(component: string, probe: () => Promise<string>): Promise<ComponentStatus> {
  try {
    return { component, ok: true, detail: await probe() };
  } catch (e) {
    return { component, ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}

/** Probes NATS (with JetStream), PostgreSQL, the main dockerd and Open vSwitch, in parallel. */
export function checkComponents(timeoutMs = 1_500): Promise<ComponentStatus[]> {
  return Promise.all([
    check('nats', async () => {
      const url = natsUrl();
      const info = await natsInfo(url, timeoutMs);
      if (info.jetstream !== true) throw new Error(`${url} answers but JetStream is not enabled (start nats-server with -js)`);
      return `${url} (nats-server ${String(info.version)}, JetStream)`;
    }),
    check('postgres', async () => {
      const url = pgAdminUrl();
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => {});
      }
      return url;
    }),
    check('docker', async () => {
      const socket = mainDocker.host.replace(/^unix:\/\//, '');
      if (!(await dockerPing(socket, timeoutMs))) throw new Error(`no answer on ${mainDocker.host}`);
      return mainDocker.host;
    }),
    check('ovs', async () => {
      const t = `--timeout=${Math.max(1, Math.floor(timeoutMs / 1000))}`;
      const db = await tryRun('ovs-vsctl', [t, 'show'], { timeoutMs });
      if (db.exitCode !== 0) throw new Error(`ovsdb-server: ${db.stderr.trim() || 'no answer'}`);
      const vs = await tryRun('ovs-appctl', [t, '-t', 'ovs-vswitchd', 'version'], { timeoutMs });
      if (vs.exitCode !== 0) throw new Error(`ovs-vswitchd: ${vs.stderr.trim() || 'no answer'}`);
      return vs.stdout.split('\n')[0] ?? 'ovs-vswitchd';
    }),
  ]);
}

/** Throws ComponentUnavailable (naming each missing component and the set-up script) unless all answer. */
export async function assertComponentsReachable(timeoutMs?: number): Promise<ComponentStatus[]> {
  const status = await checkComponents(timeoutMs);
  const down = status.filter((s) => !s.ok);
  if (down.length) throw new ComponentUnavailable(down.map(({ component, detail }) => ({ component, detail })));
  return status;
}
