// dns-manager: keeps a DNSSEC-signed PowerDNS zone for the cluster domain, one per tenant and the
// reverse zones of every network, following the replicas the scheduler runs. Its commands record
// what only they know (registrations, the user's record sets); the reconciler writes PowerDNS.
import { BusNames, PgListener, QueryServer, RdmpClient, createPool, defaultPgUrl, type Handler } from '@sdmi/bus';
import { PowerDnsClient } from '@sdmi/powerdns';
import { attachRdmp, RdmpEnv, SdmiService, queryAccess } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { DnsEnv, loadDnsConfig } from './config';
import { dnsHandlers } from './handlers';
import { dnsQueries } from './queries';
import { DnsReconciler } from './reconciler';
import { DNS_CHANGED_CHANNEL, DnsStore } from './store';

const service = new SdmiService({ name: 'dns-manager', version: pkg.version, description: pkg.description, knownEnv: Object.values(DnsEnv) });
const store = new DnsStore();
// Read before start: a malformed setting stops the service with the reason, before it takes tasks.
const config = loadDnsConfig();
let reconciler: DnsReconciler | undefined;
let handlers: Handler[] = [];

service.onStart('dns', async ({ nc, log }) => {
  const prefix = process.env[RdmpEnv.busPrefix] ?? 'sdmi';
  const names = new BusNames(prefix);
  const dbUrl = defaultPgUrl();
  const pool = createPool(dbUrl);
  await store.migrate(pool);
  handlers = dnsHandlers(store, config);
  const pdns = config ? new PowerDnsClient({ baseUrl: config.apiUrl, apiKey: config.apiKey, logger: log }) : undefined;
  const queries = new QueryServer({ nc, service: 'dns-manager', names, handlers: dnsQueries(store, pool, config, pdns), log, ...(await queryAccess(pool, log)) }).start();
  if (!config || !pdns) {
    log.warn(`${DnsEnv.domain} is not set: the cluster has no DNS; commands are refused with DNS_OFF`);
    return async () => {
      await queries.stop();
      await pool.end();
    };
  }
  await pdns.server();
  const client = new RdmpClient(nc, { names });
  const loop = new DnsReconciler({ pool, dbUrl, store, client, pdns, config, log });
  reconciler = loop;
  // Prompt passes: a command's row (NOTIFY, from whichever instance applied it), a replica's task
  // finishing, the balancer following health (the network-controller's tasks), a container event.
  const listen = new PgListener({ dbUrl, channel: DNS_CHANGED_CHANNEL, applicationName: 'sdmi dns-manager listen', log, onNotify: () => loop.trigger(), onConnected: () => loop.trigger() });
  await listen.start();
  const subs = [names.taskEvents('scheduler'), names.taskEvents('network-controller'), names.nodeEvents('*', 'container')].map((subject) => {
    const sub = nc.subscribe(subject);
    void (async () => {
      for await (const _ of sub) loop.trigger();
    })();
    return sub;
  });
  loop.start();
  return async () => {
    subs.forEach((s) => s.unsubscribe());
    await loop.stop();
    await listen.stop();
    await queries.stop();
    await pool.end();
  };
});
service.addReadinessCheck('dns', () => {
  if (!config) return { ok: true, detail: 'DNS off: SDMI_DNS_DOMAIN is not set' };
  if (!reconciler) return { ok: false, detail: 'not started' };
  if (!reconciler.leader) return { ok: true, detail: `standby for ${config.domain}` };
  const p = reconciler.lastPass;
  if (!p) return { ok: false, detail: `no pass yet for ${config.domain}` };
  return { ok: p.ok, detail: `${config.domain}: last pass ${new Date(p.at).toISOString()} ${p.ok ? 'reached PowerDNS' : `failed: ${p.detail}`}` };
});
attachRdmp(service, {
  get handlers() {
    return handlers;
  },
});
await service.runUntilSignal();
