// The Milestone-1 example end to end on a running control plane: builds the images on the nodes'
// Docker, applies the manifest through the SDK, forms the database mesh, then prints what runs
// where with its addresses and a request that went LB -> App -> DB.
//
//   tsx examples/milestone-1/src/main.ts [--tenant m1] [--db-replicas N] [--keep-mesh]
//
// With --keep-mesh it stays in the foreground and keeps the mesh following the db replicas (so
// `sdmi scale m1/db 4` in another terminal runs the join workflow); Ctrl-C ends it.
import { parseArgs } from 'node:util';
import { Cluster } from '@sdmi/sdk';
import { dnsNames, resolveOverTls } from './dns';
import { buildExampleImages } from './images';
import { Milestone1, dbNodeName } from './milestone1';

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ')).join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { tenant: { type: 'string' }, 'db-replicas': { type: 'string' }, 'keep-mesh': { type: 'boolean' }, prefix: { type: 'string' } }, strict: true });
  const started = Date.now();
  const log = (s: string): void => void process.stderr.write(`m1: ${s}\n`);
  log('building the images (sdmi/m1-db, sdmi/m1-app, sdmi/m1-lb) from Debian packages; minutes the first time');
  const images = await buildExampleImages();
  log(`images ready: ${Object.values(images).join(', ')}`);
  const cluster = await Cluster.connect({ name: 'm1-example', ...(values.prefix ? { prefix: values.prefix } : {}) });
  const healthy = new Map<string, boolean>();
  const m1 = new Milestone1(cluster, {
    ...(values.tenant ? { tenant: values.tenant } : {}),
    timeoutMs: 300_000,
    onProgress: (p) => log(`${p.change.kind} ${p.change.id}: ${p.phase === 'waiting' ? p.detail : `${p.change.action} ${p.phase}`}`),
    onMesh: (e) => {
      if (e.type === 'step') log(`mesh: ${e.step.why}`);
      else if (e.type === 'hook-failed') log(`mesh: ${e.hook} of ${e.member.id} failed, retrying: ${e.error instanceof Error ? e.error.message : String(e.error)}`);
      else if (e.type === 'left') log(`mesh: ${e.member.id} left: ${e.reason.detail}`);
      else if (e.type === 'joined') log(`mesh: ${e.member.id} joined`);
      else if (healthy.get(e.member.id) !== e.health.healthy) {
        // Every check is an event; the output says only when a node's health changes.
        healthy.set(e.member.id, e.health.healthy);
        log(`mesh: ${e.member.id} ${e.health.healthy ? 'healthy' : `unhealthy (${e.health.failures} in a row)`}: ${e.health.detail}`);
      }
    },
  });
  try {
    await m1.deploy();
    if (values['db-replicas']) await m1.scaleDatabase(Number(values['db-replicas']));
    const tenant = m1.tenant;
    const services = await cluster.services(tenant);
    const replicas = (await cluster.replicas()).filter((r) => r.service.startsWith(`${tenant}/`) && r.state !== 'stopped');
    console.log(`\nMilestone-1 is up (tenant ${tenant}, ${Math.round((Date.now() - started) / 1000)} s)\n`);
    console.log(table(['SERVICE', 'SERVING', 'SERVICE ADDRESSES'], services.map((s) => [s.id, `${s.serving}/${s.desired}`, s.addresses.map((a) => `${a.network}=${a.address ?? 'pending'}`).join(' ')])));
    console.log('');
    console.log(table(['REPLICA', 'NODE', 'STATE', 'ADDRESSES'], replicas.map((r) => [r.id, r.node, r.state, r.interfaces.map((i) => `${i.network}=${i.ip ?? '-'}`).join(' ')])));
    console.log(`\ndatabase mesh: ${m1.meshMembers.map((m) => `${dbNodeName(m)}@${m.address('db')}`).join(', ')}`);
    const write = await m1.request('/items', { method: 'POST', body: JSON.stringify({ body: `hello from ${new Date().toISOString()}` }) });
    const read = await m1.request('/');
    const lb = await m1.lbAddress();
    console.log(`\nPOST https://${lb}/items -> ${write.status}`);
    console.log(`GET  https://${lb}/ -> ${read.status}: lb ${read.body.lb} -> app ${read.body.app} -> db ${read.body.db?.node} (${read.body.db?.address}); ${read.body.count} row(s), latest ${JSON.stringify((read.body.row as { body?: string } | undefined)?.body)}`);
    const dns = await dnsNames(cluster, services, tenant);
    if (dns) {
      console.log(`\nDNS (zone ${dns.domain}, DNSSEC-signed):`);
      console.log(table(['SERVICE', 'NAMES'], [...dns.names].map(([id, names]) => [id, names.join(' ')])));
      const lbName = dns.names.get(`${tenant}/lb`)?.[0];
      if (lbName) {
        const port = Number(process.env.SDMI_DOT_PORT || 5853);
        const r = resolveOverTls(lbName, port);
        console.log('error' in r ? `DoT 127.0.0.1:${port} ${lbName}: ${r.error}` : `DoT 127.0.0.1:${port} ${lbName} A ${r.addresses.join(', ')}${r.signed ? ' (with RRSIG)' : ' (unsigned!)'}`);
      }
    }
    if (write.status !== 201 || read.status !== 200) return 1;
    if (values['keep-mesh']) {
      log('keeping the mesh following m1/db; Ctrl-C ends');
      await new Promise<void>((r) => process.once('SIGINT', () => r()));
    }
    return 0;
  } finally {
    await m1.stop();
    await cluster.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`m1: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    process.exit(1);
  },
);
