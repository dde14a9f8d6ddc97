// Access control through the real services on a nats-server with auth: every submit and query is
// signed by its sender's nkey and checked against principals.json; role bindings (bus resources
// kept by the network-controller) decide what a principal may change and read; every admission
// decision is in the append-only audit log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { nkeys } from '@nats-io/nats-core';
import { ErrorCodes, signRequest, signerFromSeed, signerOf, type RdmpClient } from '@sdmi/bus';
import {
  ACCESS_SERVICE,
  AccessCommandKinds,
  AccessQueries,
  DnsCommandKinds,
  METRICS_COLLECTOR,
  MetricsCommandKinds,
  MetricsQueries,
  NodeAgentCommandKinds,
  SWITCH_AGENT,
  SwitchCommandKinds,
  SwitchQueries,
  nodeService,
  roleBindingKey,
  type AuditRecord,
  type FollowEventsReply,
  type RoleBinding,
  type TaskStatusEvent,
} from '@sdmi/contracts';
import { NetworkCommandKinds, NetworkQueries } from '@sdmi/networks';
import { CATALOGUE } from '@sdmi/rbac';
import { SchedulerQueries, ServiceCommandKinds } from '@sdmi/scheduling';
import { SecureCluster } from './secure-cluster';

const NODE = 'host-a';
let cluster: SecureCluster;
let admin: RdmpClient;

/** The error info a refused call carries (or undefined when it was not refused). */
async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; path?: string; details?: Record<string, unknown> } | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { info?: { code: string; message: string } }).info ?? { code: 'THROWN', message: String(err) };
  }
}

const binding = (name: string, principal: string, role: RoleBinding['role'], tenant?: string): RoleBinding => ({ version: 1, name, principal, role, ...(tenant ? { tenant } : {}) });

async function bind(b: RoleBinding): Promise<void> {
  await admin.run(ACCESS_SERVICE, { kind: AccessCommandKinds.PutRoleBinding, key: roleBindingKey(b.name), payload: { binding: b } }, { timeoutMs: 30_000 });
}

/**
 * For every command kind the services take: which service takes it and a payload, valid against
 * the kind's schema, acting on tenant `t`'s resources (or, for cluster-wide and internal kinds, on
 * the cluster's). Valid, so that a refusal is the access rule's and not the schema's.
 */
function commandsOn(t: string): Record<string, { service: string; payload: Record<string, unknown> }> {
  const svc = `${t}/web`;
  const replica = `${t}/web-1@rev1`;
  return {
    [NetworkCommandKinds.CreateNetworks]: { service: 'network-controller', payload: { tenantNetworks: [{ tenant: t, name: 'web', cidr: '10.40.0.0/24' }] } },
    [NetworkCommandKinds.UpdateNetwork]: { service: 'network-controller', payload: { tenantNetwork: { tenant: t, name: 'web', cidr: '10.40.0.0/24' } } },
    [NetworkCommandKinds.DeleteNetwork]: { service: 'network-controller', payload: { id: `${t}/web` } },
    [NetworkCommandKinds.PutTenantConfig]: { service: 'network-controller', payload: { tenant: t, hostDevices: [{ name: 'eth1', vniType: 'vlan', vniRange: '700-710' }] } },
    [NetworkCommandKinds.RegisterHost]: { service: 'network-controller', payload: { name: 'host-z', dpid: '00000000000000a1', uplinkPort: 'fab-a' } },
    [NetworkCommandKinds.UnregisterHost]: { service: 'network-controller', payload: { name: 'host-z' } },
    [NetworkCommandKinds.AttachInterface]: { service: 'network-controller', payload: { interfaceId: `${replica}/eth0`, networkId: `${t}/web`, host: NODE, portName: 'veth1f2e0', ip: { mode: 'dynamic' } } },
    [NetworkCommandKinds.DetachInterface]: { service: 'network-controller', payload: { interfaceId: `${replica}/eth0` } },
    [NetworkCommandKinds.SetServiceEndpoints]: { service: 'network-controller', payload: { service: svc, networkId: `${t}/web`, backends: [`${replica}/eth0`] } },
    [NetworkCommandKinds.ReleaseServiceAddress]: { service: 'network-controller', payload: { service: svc, networkId: `${t}/web` } },
    [AccessCommandKinds.PutRoleBinding]: { service: ACCESS_SERVICE, payload: { binding: binding('grab', 'user:alice', 'tenant-admin', t) } },
    [AccessCommandKinds.DeleteRoleBinding]: { service: ACCESS_SERVICE, payload: { name: `${t}-admins` } },
    [ServiceCommandKinds.DeployService]: { service: 'scheduler', payload: { spec: { tenant: t, name: 'web', image: 'nginx:1.27', replicas: 2, networks: [{ network: 'web', ip: { mode: 'dynamic' } }] } } },
    [ServiceCommandKinds.UpdateService]: { service: 'scheduler', payload: { spec: { tenant: t, name: 'web', image: 'nginx:1.28', replicas: 2, networks: [{ network: 'web', ip: { mode: 'dynamic' } }] } } },
    [ServiceCommandKinds.RemoveService]: { service: 'scheduler', payload: { service: svc } },
    [ServiceCommandKinds.ScaleService]: { service: 'scheduler', payload: { service: svc, replicas: 10 } },
    [ServiceCommandKinds.RolloutUndo]: { service: 'scheduler', payload: { service: svc } },
    addNode: { service: 'scheduler', payload: { name: 'host-z' } },
    removeNode: { service: 'scheduler', payload: { name: 'host-z' } },
    startReplica: { service: 'scheduler', payload: { replicaId: replica, service: svc, slot: 1, revision: 1, node: NODE, staticAddresses: [null] } },
    stopReplica: { service: 'scheduler', payload: { replicaId: replica, service: svc, node: NODE, reason: 'test' } },
    [NodeAgentCommandKinds.RunReplica]: {
      service: nodeService(NODE),
      payload: { replicaId: replica, service: svc, revision: 1, container: { image: 'sdmi/base:busybox', command: ['sleep', '3600'] }, interfaces: [] },
    },
    [NodeAgentCommandKinds.RemoveReplica]: { service: nodeService(NODE), payload: { replicaId: replica, timeoutSec: 2 } },
    [NodeAgentCommandKinds.ExecInReplica]: { service: nodeService(NODE), payload: { replicaId: replica, argv: ['true'] } },
    [DnsCommandKinds.RegisterReplica]: { service: 'dns-manager', payload: { replicaId: replica, service: svc, interfaces: [{ network: `${t}/web`, ip: '10.40.0.5' }] } },
    [DnsCommandKinds.DeregisterReplica]: { service: 'dns-manager', payload: { replicaId: replica } },
    [DnsCommandKinds.PutRecords]: { service: 'dns-manager', payload: { zone: `${t}.sdmi.internal`, name: `www.${t}.sdmi.internal`, type: 'CNAME', ttl: 300, records: [`lb.${t}.sdmi.internal.`] } },
    [DnsCommandKinds.DeleteRecords]: { service: 'dns-manager', payload: { zone: `${t}.sdmi.internal`, name: `www.${t}.sdmi.internal`, type: 'CNAME' } },
    [MetricsCommandKinds.SetAutoscalePolicy]: { service: METRICS_COLLECTOR, payload: { policy: { version: 1, service: svc, minReplicas: 1, maxReplicas: 5, metric: 'cpu.utilization', target: 0.6 } } },
    [MetricsCommandKinds.DeleteAutoscalePolicy]: { service: METRICS_COLLECTOR, payload: { service: svc } },
    [MetricsCommandKinds.SetThreshold]: {
      service: METRICS_COLLECTOR,
      payload: { threshold: { version: 1, name: 'cpu-high', service: svc, metric: 'cpu.utilization', aggregation: 'avg', comparator: '>', value: 0.8, durationMs: 10_000 } },
    },
    [MetricsCommandKinds.DeleteThreshold]: { service: METRICS_COLLECTOR, payload: { service: svc, name: 'cpu-high' } },
    // Switches are the fabric's, no tenant's: a tenant's principals are refused them whatever the tenant.
    [SwitchCommandKinds.RegisterSwitch]: { service: SWITCH_AGENT, payload: { switch: { name: `${t}-leaf`, kind: 'ovs', ovs: { ovsdb: 'unix:/var/run/openvswitch/db.sock', bridge: 'br-x' }, trunks: [] } } },
    [SwitchCommandKinds.RemoveSwitch]: { service: SWITCH_AGENT, payload: { name: `${t}-leaf` } },
    [SwitchCommandKinds.SyncSwitch]: { service: SWITCH_AGENT, payload: { name: `${t}-leaf` } },
  };
}

beforeAll(async () => {
  cluster = await SecureCluster.start({ users: ['alice', 'bob', 'carol', 'dave', 'erin'], nodes: [NODE] });
  admin = await cluster.client('admin');
  await bind(binding('alice-acme', 'user:alice', 'tenant-admin', 'acme'));
  await bind(binding('bob-acme', 'user:bob', 'tenant-user', 'acme'));
  await bind(binding('carol-net', 'user:carol', 'network-admin'));
  await bind(binding('dave-acme', 'user:dave', 'viewer', 'acme'));
  await bind(binding('erin-all', 'user:erin', 'viewer'));
  // Tenant beta exists, with a network and a service, so that refusals are about real resources.
  for (const t of ['acme', 'beta']) {
    await admin.run('network-controller', { kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', payload: { tenant: t, hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: t === 'acme' ? '700-709' : '710-719' }] } }, { timeoutMs: 30_000 });
  }
  await admin.run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { tenantNetworks: [{ tenant: 'beta', name: 'web', cidr: '10.41.0.0/24' }] } }, { timeoutMs: 30_000 });
  await admin.run('scheduler', { kind: ServiceCommandKinds.DeployService, key: 'service/beta/web', payload: { spec: { tenant: 'beta', name: 'web', image: 'sdmi/none:never', replicas: 0, networks: [{ network: 'web', ip: { mode: 'dynamic' } }] } } }, { timeoutMs: 30_000 });
  // The scheduler gives the service its address on its own time: wait, so that "nothing changed" compares settled states.
  const end = Date.now() + 60_000;
  while ((await admin.query('network-controller', NetworkQueries.listNetworks, { tenant: 'beta' })).tenantNetworks.find((n) => n.id === 'beta/web')?.addresses !== 1) {
    if (Date.now() > end) throw new Error('beta/web got no service address within 60 s');
    await new Promise((r) => setTimeout(r, 200));
  }
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('principals come from signatures', () => {
  it('an unsigned submit is refused UNAUTHENTICATED and nothing is persisted; the refusal is audited', async () => {
    const unsigned = await cluster.client('admin', { signer: null });
    const id = randomUUID();
    const r = await refusal(unsigned.submit('network-controller', { id, kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', payload: { tenant: 'gamma', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '720-729' }] } }));
    expect(r?.code).toBe(ErrorCodes.Unauthenticated);
    expect(r?.message).toMatch(/carries no Sdmi-Principal\/Sdmi-Signature headers/);
    expect((await admin.status('network-controller', id)).records).toEqual([]);
    const audit = await admin.query(ACCESS_SERVICE, AccessQueries.audit, { taskId: id });
    expect(audit.records).toMatchObject([{ taskId: id, outcome: 'refused', principal: 'unauthenticated', error: { code: ErrorCodes.Unauthenticated } }]);
  });

  it('a task claiming a principal it was not sent by is refused PRINCIPAL_MISMATCH, changes nothing, and is audited under its signer', async () => {
    const alice = await cluster.client('alice');
    const id = randomUUID();
    const r = await refusal(alice.submit('network-controller', { id, kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', principal: { id: 'user:admin' }, payload: { tenant: 'gamma', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '720-729' }] } }));
    expect(r).toMatchObject({ code: ErrorCodes.PrincipalMismatch, path: '/principal/id', details: { claimed: 'user:admin', signedBy: 'user:alice' } });
    expect((await admin.status('network-controller', id)).records).toEqual([]);
    const listed = await admin.query('network-controller', NetworkQueries.listNetworks, {});
    expect(listed.tenantConfigs.map((c) => c.tenant)).not.toContain('gamma');
    const audit = await admin.query(ACCESS_SERVICE, AccessQueries.audit, { taskId: id });
    expect(audit.records).toMatchObject([{ principal: 'user:alice', outcome: 'refused', error: { code: ErrorCodes.PrincipalMismatch } }]);
    // Naming itself is fine: the field may say who the signer is.
    const own = await refusal(alice.submit('network-controller', { kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', principal: { id: 'user:alice' }, payload: { tenant: 'gamma', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '720-729' }] } }));
    expect(own?.code).toBe(ErrorCodes.Forbidden);
  });

  it('a key the cluster does not know is refused, though its signature is good', async () => {
    const stranger = await cluster.client('admin', { signer: signerFromSeed(nkeys.createUser().getSeed()) });
    const r = await refusal(stranger.submit('scheduler', { kind: ServiceCommandKinds.ScaleService, key: 'service/beta/web', payload: { service: 'beta/web', replicas: 3 } }));
    expect(r?.code).toBe(ErrorCodes.Unauthenticated);
    expect(r?.message).toMatch(/belongs to no principal of this cluster/);
  });

  it("a user may not follow task events (their subjects carry no tenant); it waits on its task's status instead", async () => {
    const nc = await cluster.connect('alice');
    const sub = nc.subscribe(cluster.names.taskEvents('*', '*'));
    await expect((async () => {
      for await (const _m of sub) return 'message';
      return 'ended';
    })()).rejects.toThrow(/Permissions Violation for Subscription/);
    // run() = submit + wait: the outcome still arrives.
    const out = await (await cluster.client('carol')).run('network-controller', { kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', payload: { tenant: 'omega', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '740-749' }] } }, { timeoutMs: 30_000 });
    expect(out.status).toBe('completed');
  });

  it('queries must be signed too', async () => {
    const unsigned = await cluster.client('viewer', { signer: null });
    const r = await refusal(unsigned.query('scheduler', SchedulerQueries.listServices, {}));
    expect(r?.code).toBe(ErrorCodes.Unauthenticated);
  });
});

describe('role bindings decide', () => {
  it('covers every command kind of the access catalogue', () => {
    expect(Object.keys(commandsOn('beta')).sort()).toEqual(Object.keys(CATALOGUE).sort());
  });

  for (const user of ['alice', 'bob']) {
    it(`a tenant ${user === 'alice' ? 'admin' : 'user'} of acme is refused every command kind on tenant beta's resources, nothing changes, and each refusal is audited`, async () => {
      const client = await cluster.client(user);
      const before = await admin.query('network-controller', NetworkQueries.listNetworks, {});
      const servicesBefore = await admin.query('scheduler', SchedulerQueries.listServices, {});
      const ids = new Map<string, string>();
      for (const [kind, { service, payload }] of Object.entries(commandsOn('beta'))) {
        const id = randomUUID();
        ids.set(id, kind);
        const r = await refusal(client.submit(service, { id, kind, key: `${kind}/beta`, payload }));
        expect(r?.code, `${kind}: ${r?.message}`).toBe(ErrorCodes.Forbidden);
        expect(r?.message, kind).toMatch(new RegExp(`^user:${user} \\((tenant-admin|tenant-user) of acme\\) may not ${kind} `));
        expect(r?.details, kind).toMatchObject({ principal: `user:${user}`, kind });
        expect((await admin.status(service, id)).records, kind).toEqual([]);
      }
      expect(await admin.query('network-controller', NetworkQueries.listNetworks, {})).toEqual(before);
      expect((await admin.query('scheduler', SchedulerQueries.listServices, {})).services).toEqual(servicesBefore.services);
      const audit = await admin.query(ACCESS_SERVICE, AccessQueries.audit, { principal: `user:${user}`, outcome: 'refused', limit: 1000 });
      const byId = new Map<string, AuditRecord>(audit.records.map((a) => [a.taskId, a]));
      for (const [id, kind] of ids) {
        expect(byId.get(id), kind).toMatchObject({ kind, principal: `user:${user}`, outcome: 'refused', error: { code: ErrorCodes.Forbidden } });
      }
    }, 120_000);
  }

  it('a network-admin manages TenantConfigs and cluster networks, and no services', async () => {
    const carol = await cluster.client('carol');
    const done = await carol.run('network-controller', { kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', payload: { tenant: 'delta', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '730-739' }] } }, { timeoutMs: 30_000 });
    expect(done.status).toBe('completed');
    await carol.run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { clusterNetworks: [{ name: 'shared', cidr: '10.42.0.0/24' }] } }, { timeoutMs: 30_000 });
    const listed = await carol.query('network-controller', NetworkQueries.listNetworks, {});
    expect(listed.tenantConfigs.map((c) => c.tenant)).toContain('delta');
    expect(listed.clusterNetworks.map((n) => n.id)).toContain('cluster/shared');
    const r = await refusal(carol.submit('scheduler', { kind: ServiceCommandKinds.DeployService, key: 'service/delta/web', payload: commandsOn('delta')[ServiceCommandKinds.DeployService]!.payload }));
    expect(r?.code).toBe(ErrorCodes.Forbidden);
    expect(r?.message).toMatch(/^user:carol \(network-admin\) may not deployService service delta\/web: that needs cluster-admin or tenant-admin of delta$/);
    // and the fabric's switches (an OVSDB that is not there: the switch-agent keeps it, failing to reach it)
    const leaf = { name: 'carol-leaf', kind: 'ovs', ovs: { ovsdb: 'unix:/nonexistent/sdmi-test/db.sock', bridge: 'br-carol' }, trunks: [] };
    expect((await carol.run(SWITCH_AGENT, { kind: SwitchCommandKinds.RegisterSwitch, key: 'switch/carol-leaf', payload: { switch: leaf } }, { timeoutMs: 30_000 })).result).toEqual({ name: 'carol-leaf', created: true });
    expect((await carol.query(SWITCH_AGENT, SwitchQueries.listSwitches, { name: 'carol-leaf' })).switches.map((x) => x.spec)).toEqual([leaf]);
    expect((await carol.run(SWITCH_AGENT, { kind: SwitchCommandKinds.RemoveSwitch, key: 'switch/carol-leaf', payload: { name: 'carol-leaf' } }, { timeoutMs: 30_000 })).result).toEqual({ name: 'carol-leaf', removed: true });
  });

  it("a tenant-admin manages its tenant's networks and services, and nothing of the cluster's", async () => {
    const alice = await cluster.client('alice');
    const net = await alice.run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { tenantNetworks: [{ tenant: 'acme', name: 'web', cidr: '10.43.0.0/24' }] } }, { timeoutMs: 30_000 });
    expect(net.status).toBe('completed');
    const svc = await alice.run('scheduler', { kind: ServiceCommandKinds.DeployService, key: 'service/acme/web', payload: { spec: { tenant: 'acme', name: 'web', image: 'sdmi/none:never', replicas: 0, networks: [{ network: 'web', ip: { mode: 'dynamic' } }] } } }, { timeoutMs: 30_000 });
    expect(svc.status).toBe('completed');
    for (const kind of [NetworkCommandKinds.PutTenantConfig, NetworkCommandKinds.RegisterHost]) {
      const { service, payload } = commandsOn('acme')[kind]!;
      expect((await refusal(alice.submit(service, { kind, key: 'networks', payload })))?.code, kind).toBe(ErrorCodes.Forbidden);
    }
    const cluster_ = await refusal(alice.submit('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { clusterNetworks: [{ name: 'mine', cidr: '10.44.0.0/24' }] } }));
    expect(cluster_?.message).toMatch(/may not createNetworks cluster network mine: that needs cluster-admin or network-admin$/);
  });

  it('a viewer reads and changes nothing', async () => {
    // erin: a user bound as viewer (no tenant) reads everything; the gateways refuse its commands.
    const erin = await cluster.client('erin');
    const listed = await erin.query('network-controller', NetworkQueries.listNetworks, {});
    expect(listed.tenantConfigs.map((c) => c.tenant)).toEqual(expect.arrayContaining(['acme', 'beta']));
    expect((await erin.query('scheduler', SchedulerQueries.listServices, {})).services.map((s) => s.id)).toContain('beta/web');
    for (const kind of [NetworkCommandKinds.PutTenantConfig, ServiceCommandKinds.ScaleService, MetricsCommandKinds.SetThreshold, AccessCommandKinds.PutRoleBinding]) {
      const { service, payload } = commandsOn('beta')[kind]!;
      const r = await refusal(erin.submit(service, { kind, key: 'x', payload }));
      expect(r?.code, kind).toBe(ErrorCodes.Forbidden);
      expect(r?.message, kind).toMatch(/^user:erin \(viewer\) may not /);
    }
    // The builtin viewer credential reads too, and may not even publish a command: the NATS server refuses it.
    const viewer = await cluster.client('viewer', { retries: 0 });
    expect((await viewer.query('scheduler', SchedulerQueries.listServices, {})).services.map((s) => s.id)).toContain('beta/web');
    const r = await refusal(viewer.submit('scheduler', { kind: ServiceCommandKinds.ScaleService, key: 'service/beta/web', payload: { service: 'beta/web', replicas: 3 } }));
    expect(r?.message).toMatch(/Permissions Violation for Publish/i);
    expect((await admin.query('scheduler', SchedulerQueries.getService, { service: 'beta/web' })).service.spec.replicas).toBe(0);
  });

  it("a tenant's reader sees its tenant's resources and not another tenant's", async () => {
    const dave = await cluster.client('dave');
    const listed = await dave.query('network-controller', NetworkQueries.listNetworks, {});
    expect(listed.tenantConfigs.map((c) => c.tenant)).toEqual(['acme']);
    expect(listed.tenantNetworks.map((n) => n.id)).not.toContain('beta/web');
    expect((await dave.query('scheduler', SchedulerQueries.listServices, {})).services.map((s) => s.id)).not.toContain('beta/web');
    const hidden = await refusal(dave.query('scheduler', SchedulerQueries.getService, { service: 'beta/web' }));
    expect(hidden?.code).toBe('SERVICE_NOT_FOUND');
    // Its audit view holds only acme's records.
    const audit = await dave.query(ACCESS_SERVICE, AccessQueries.audit, { limit: 1000 });
    for (const a of audit.records) expect(a.tenants).toContain('acme');
  });

  it("metrics and autoscaling: a tenant's reader sees its tenant's policies, and no node of the cluster", async () => {
    for (const svc of ['acme/web', 'beta/web']) {
      await admin.run(METRICS_COLLECTOR, { kind: MetricsCommandKinds.SetThreshold, key: `autoscale/${svc}`, payload: { threshold: { version: 1, name: 'cpu-high', service: svc, metric: 'cpu.utilization', aggregation: 'avg', comparator: '>', value: 0.8, durationMs: 10_000 } } }, { timeoutMs: 30_000 });
    }
    const dave = await cluster.client('dave');
    expect((await dave.query(METRICS_COLLECTOR, MetricsQueries.autoscaleStatus, {})).thresholds.map((t) => t.threshold.service)).toEqual(['acme/web']);
    expect((await admin.query(METRICS_COLLECTOR, MetricsQueries.autoscaleStatus, {})).thresholds.map((t) => t.threshold.service).sort()).toEqual(['acme/web', 'beta/web']);
    // The node-agent reports its node within seconds; the cluster's readers see it, a tenant's do not.
    const end = Date.now() + 30_000;
    while ((await admin.query(METRICS_COLLECTOR, MetricsQueries.top, {})).nodes.length === 0) {
      if (Date.now() > end) throw new Error('no node sample within 30 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    expect((await dave.query(METRICS_COLLECTOR, MetricsQueries.top, {})).nodes).toEqual([]);
  });

  it('a tenant-user scales its services, and loses that the moment its binding is deleted', async () => {
    const bob = await cluster.client('bob');
    const scaled = await bob.run('scheduler', { kind: ServiceCommandKinds.ScaleService, key: 'service/acme/web', payload: { service: 'acme/web', replicas: 0 } }, { timeoutMs: 30_000 });
    expect(scaled.status).toBe('completed');
    await admin.run(ACCESS_SERVICE, { kind: AccessCommandKinds.DeleteRoleBinding, key: roleBindingKey('bob-acme'), payload: { name: 'bob-acme' } }, { timeoutMs: 30_000 });
    const r = await refusal(bob.submit('scheduler', { kind: ServiceCommandKinds.ScaleService, key: 'service/acme/web', payload: { service: 'acme/web', replicas: 0 } }));
    expect(r?.message).toMatch(/^user:bob \(no role bindings\) may not scaleService service acme\/web/);
  });

  it('bindings are checked when stored, and only a cluster-admin stores them', async () => {
    const bad = await refusal(admin.run(ACCESS_SERVICE, { kind: AccessCommandKinds.PutRoleBinding, key: roleBindingKey('x'), payload: { binding: binding('x', 'user:eve', 'tenant-admin') } }, { timeoutMs: 30_000 }));
    expect(bad).toMatchObject({ code: 'INVALID_ROLE_BINDING', path: '/payload/binding/tenant' });
    const listed = await admin.query(ACCESS_SERVICE, AccessQueries.listRoleBindings, {});
    expect(listed.bindings.map((b) => `${b.source}:${b.binding.name}`)).toEqual(expect.arrayContaining(['stored:alice-acme', 'stored:carol-net', 'builtin:builtin-admin', 'builtin:builtin-scheduler']));
    expect(listed.bindings.map((b) => b.binding.name)).not.toContain('bob-acme');
  });
});

describe('the audit log', () => {
  it('records accepted tasks with where they are now, and cannot be changed by the services', async () => {
    const alice = await admin.query(ACCESS_SERVICE, AccessQueries.audit, { principal: 'user:alice', outcome: 'accepted' });
    expect(alice.records.map((r) => [r.kind, r.status])).toEqual(expect.arrayContaining([['deployService', 'completed'], ['createNetworks', 'completed']]));
    // The services' own database role (here the same as the test's) cannot rewrite history.
    const db = new pg.Client({ connectionString: cluster.db.url });
    await db.connect();
    try {
      await expect(db.query("UPDATE access.audit SET accepted = true WHERE principal = 'user:bob'")).rejects.toThrow(/access.audit is append-only: UPDATE refused/);
      await expect(db.query('DELETE FROM access.audit')).rejects.toThrow(/append-only: DELETE refused/);
      await expect(db.query('TRUNCATE access.audit')).rejects.toThrow(/append-only: TRUNCATE refused/);
    } finally {
      await db.end();
    }
  });
});

describe('secrets', () => {
  it('no seed is in what the services printed, at debug level, with access control on', async () => {
    const { readFileSync } = await import('node:fs');
    expect(cluster.log).toMatch(/access control on: submits are authenticated by signature/);
    for (const [name, identity] of cluster.ids) {
      const seed = readFileSync(identity.seedFile, 'utf8').trim();
      expect(cluster.log.includes(seed), `${name}'s seed`).toBe(false);
    }
  });
});

describe('the event feed', () => {
  it("a tenant's reader follows its tenant's task events and no other tenant's nor the cluster's; a viewer of all gets all three; an inbox not its own, or no signature, is refused", async () => {
    const collect = (c: RdmpClient) => {
      const seen: TaskStatusEvent[] = [];
      const it = c.follow({ ttlMs: 6000 });
      // Caught here: a failing test must not leave a rejection behind when the connections close.
      const done = (async () => {
        for await (const ev of it) seen.push(ev);
      })().catch((err: unknown) => err);
      return { seen, it, done };
    };
    // dave: a viewer of acme (bob's binding is gone by now: see "loses that the moment…" above).
    const dave = collect(await cluster.client('dave'));
    const erin = collect(await cluster.client('erin')); // viewer of every tenant
    // The request goes out as follow() is called; a moment for every worker to take it in.
    await new Promise((r) => setTimeout(r, 1500));
    const acme = await admin.run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { tenantNetworks: [{ tenant: 'acme', name: 'feed', cidr: '10.45.0.0/24' }] } }, { timeoutMs: 30_000 });
    const beta = await admin.run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { tenantNetworks: [{ tenant: 'beta', name: 'feed', cidr: '10.46.0.0/24' }] } }, { timeoutMs: 30_000 });
    const ours = await admin.run('network-controller', { kind: NetworkCommandKinds.PutTenantConfig, key: 'networks', payload: { tenant: 'omega', hostDevices: [{ name: 'fabric0', vniType: 'vlan', vniRange: '740-749' }] } }, { timeoutMs: 30_000 });
    const completed = (f: { seen: TaskStatusEvent[] }, taskId: string) => f.seen.some((e) => e.taskId === taskId && e.status === 'completed');
    // Renewed past its 6 s TTL while waiting: the feed outlives one TTL.
    const end = Date.now() + 30_000;
    while (!(completed(erin, acme.taskId) && completed(erin, beta.taskId) && completed(erin, ours.taskId) && completed(dave, acme.taskId))) {
      if (Date.now() > end) throw new Error(`events did not arrive: dave ${JSON.stringify(dave.seen.map((e) => [e.kind, e.status]))}, erin ${erin.seen.length}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 7000));
    const afterTtl = await admin.run('network-controller', { kind: NetworkCommandKinds.DeleteNetwork, key: 'networks', payload: { id: 'acme/feed' } }, { timeoutMs: 30_000 });
    const end2 = Date.now() + 30_000;
    while (!completed(dave, afterTtl.taskId)) {
      if (Date.now() > end2) throw new Error('dave got no event of a task after the first TTL: the feed was not renewed');
      await new Promise((r) => setTimeout(r, 200));
    }
    const daveTasks = new Set(dave.seen.map((e) => e.taskId));
    expect(daveTasks.has(acme.taskId)).toBe(true);
    expect(daveTasks.has(beta.taskId)).toBe(false);
    expect(daveTasks.has(ours.taskId)).toBe(false);
    expect(dave.seen.find((e) => e.taskId === acme.taskId && e.status === 'completed')).toMatchObject({ service: 'network-controller', kind: 'createNetworks' });
    await dave.it.return(undefined);
    await erin.it.return(undefined);
    expect(await Promise.all([dave.done, erin.done])).toEqual([undefined, undefined]);
    await admin.run('network-controller', { kind: NetworkCommandKinds.DeleteNetwork, key: 'networks', payload: { id: 'beta/feed' } }, { timeoutMs: 30_000 });

    // By hand, as a client that tries: events into alice's inbox, and no signature at all.
    const nc = await cluster.connect('bob');
    const ask = async (inbox: string, signed: boolean) => {
      const body = JSON.stringify({ inbox, ttlMs: 5000 });
      const m = await nc.request(cluster.names.follow, body, { timeout: 5000, ...(signed ? { headers: signRequest(signerOf(nc)!, cluster.names.follow, body) } : {}) });
      return m.json<FollowEventsReply>();
    };
    const foreign = await ask(`_INBOX.${cluster.ids.get('alice')!.publicKey}.x.ev`, true);
    expect(foreign).toMatchObject({ ok: false, error: { code: ErrorCodes.Forbidden, path: '/inbox', rule: 'ownInbox' } });
    const unsigned = await ask(`_INBOX.${cluster.ids.get('bob')!.publicKey}.x.ev`, false);
    expect(unsigned).toMatchObject({ ok: false, error: { code: ErrorCodes.Unauthenticated } });
    // And through follow(): a stranger's key is refused, and thrown from the iterator.
    const stranger = await cluster.client('bob', { signer: signerFromSeed(nkeys.createUser().getSeed()) });
    await expect((async () => {
      for await (const _e of stranger.follow()) return 'event';
      return 'ended';
    })()).rejects.toThrow(/belongs to no principal of this cluster/);
  }, 120_000);
});

describe('task status', () => {
  it("is told to the task's sender and to readers of its tenants; to another tenant's principal it is a task never heard of; unsigned is refused", async () => {
    const beta = await admin.run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { tenantNetworks: [{ tenant: 'beta', name: 'status', cidr: '10.47.0.0/24' }] } }, { timeoutMs: 30_000 });
    const records = async (who: string, taskId: string) => (await (await cluster.client(who)).status('network-controller', taskId)).records.map((r) => r.status);
    expect(await records('admin', beta.taskId)).toEqual(['completed']);
    expect(await records('erin', beta.taskId)).toEqual(['completed']); // viewer of every tenant
    expect(await records('alice', beta.taskId)).toEqual([]); // tenant-admin of acme
    expect(await records('dave', beta.taskId)).toEqual([]); // viewer of acme
    // alice's own task on acme: she and acme's viewer are told, beta's nobody is.
    const mine = await (await cluster.client('alice')).run('network-controller', { kind: NetworkCommandKinds.CreateNetworks, key: 'networks', payload: { tenantNetworks: [{ tenant: 'acme', name: 'status', cidr: '10.48.0.0/24' }] } }, { timeoutMs: 30_000 });
    expect(mine.status).toBe('completed');
    expect(await records('dave', mine.taskId)).toEqual(['completed']);
    expect(await records('carol', mine.taskId)).toEqual(['completed']); // network-admin: reads every tenant
    const unsigned = await cluster.client('viewer', { signer: null });
    expect((await refusal(unsigned.status('network-controller', beta.taskId)))?.code).toBe(ErrorCodes.Unauthenticated);
    for (const id of ['beta/status', 'acme/status']) await admin.run('network-controller', { kind: NetworkCommandKinds.DeleteNetwork, key: 'networks', payload: { id } }, { timeoutMs: 30_000 });
  }, 120_000);
});
