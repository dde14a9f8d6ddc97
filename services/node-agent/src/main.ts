// node-agent: one per Docker host. Host-wide work reaches every agent as broadcast tasks of
// `node-agent`; the host's own work (run, remove and exec in replicas) comes as queued tasks of
// `node-<host>`, so exactly one agent per host executes it, in order per replica. Its queries
// (replicaLogs) are asked of `node-<host>` too.
import { BusNames, QueryServer, createPool, defaultPgUrl } from '@sdmi/bus';
import { nodeService } from '@sdmi/contracts';
import { attachRdmp, SdmiService, hostInstanceId, RdmpEnv, queryAccess } from '@sdmi/service';
import pkg from '../package.json' with { type: 'json' };
import { NodeAgent } from './agent';
import { NodeEnv, loadNodeConfig } from './config';

const config = loadNodeConfig();
const service = new SdmiService({
  name: 'node-agent',
  version: pkg.version,
  description: pkg.description,
  metadata: { host: config.node },
  defaults: { instanceId: hostInstanceId(config.node) },
  knownEnv: Object.values(NodeEnv),
});
let agent: NodeAgent | undefined;

service.onStart('node', async ({ nc, log }) => {
  const pool = createPool(defaultPgUrl());
  const prefix = process.env[RdmpEnv.busPrefix] ?? 'sdmi';
  try {
    agent = await NodeAgent.start({ ...config, instance: service.instanceId, pool, nc, prefix, log });
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const queries = new QueryServer({ nc, service: nodeService(config.node), names: new BusNames(prefix), handlers: agent.queries(), log, ...(await queryAccess(pool, log)) }).start();
  return async () => {
    await queries.stop();
    await agent?.stop();
    await pool.end();
  };
});
service.addReadinessCheck('node', async () => {
  if (!agent) return { ok: false, detail: 'not started' };
  await agent.engine.ping();
  return { ok: true, detail: `node ${config.node}, bridge ${config.bridge}` };
});
attachRdmp(service, { handlers: [], queued: false, broadcast: true });
// The handlers exist once the agent has started; the worker asks for them only when it starts.
attachRdmp(service, {
  rdmpService: nodeService(config.node),
  endpointNames: { submit: 'node-submit', status: 'node-task-status', check: 'node-rdmp' },
  get handlers() {
    return agent?.handlers() ?? [];
  },
});
await service.runUntilSignal();
