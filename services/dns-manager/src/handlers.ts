// dns-manager's commands. Their whole effect is a row (in the task's transaction) and a NOTIFY:
// the reconciler is the only writer to PowerDNS, so a command never races a pass.
import { TaskFailed, type ApplyHandler } from '@sdmi/bus';
import { DnsCommandKinds, DnsErrorCodes, SchemaIds, type DeleteRecordsPayload, type DeregisterReplicaPayload, type PutRecordsPayload, type RegisterReplicaPayload } from '@sdmi/contracts';
import { containerName, serviceName, userName, userRecords, userZone, UserRecordsRefused } from '@sdmi/dns-records';
import { InvalidDnsName } from '@sdmi/powerdns';
import type { DnsConfig } from './config';
import type { DnsStore } from './store';

function dnsOff(): TaskFailed {
  return new TaskFailed({ code: DnsErrorCodes.DnsOff, message: 'dns-manager runs without a cluster domain (SDMI_DNS_DOMAIN is not set): this cluster has no DNS' });
}

function refused(e: unknown): unknown {
  if (e instanceof UserRecordsRefused) return new TaskFailed({ code: e.code, message: e.message, path: e.path });
  if (e instanceof InvalidDnsName) return new TaskFailed({ code: DnsErrorCodes.InvalidDnsName, message: e.message });
  return e;
}

export function dnsHandlers(store: DnsStore, config: DnsConfig | undefined): ApplyHandler[] {
  const register: ApplyHandler<RegisterReplicaPayload> = {
    kind: DnsCommandKinds.RegisterReplica,
    payloadSchema: SchemaIds.RegisterReplicaPayload,
    async apply({ task, db }) {
      if (!config) throw dnsOff();
      const p = task.payload;
      const names: string[] = [];
      // Every name it will have, checked now: a name that cannot be made fails the start, with why.
      for (const [i, itf] of p.interfaces.entries()) {
        try {
          serviceName(p.service, itf.network, config.domain);
          if (itf.ip !== null) names.push(containerName(p.replicaId, itf.network, config.domain));
        } catch (e) {
          if (e instanceof InvalidDnsName) throw new TaskFailed({ code: DnsErrorCodes.InvalidDnsName, message: `replica ${p.replicaId} on ${itf.network}: ${e.message}`, path: `/interfaces/${i}/network` });
          throw e;
        }
      }
      if (!p.replicaId.startsWith(`${p.service}-`)) {
        throw new TaskFailed({ code: DnsErrorCodes.InvalidDnsName, message: `replica ${p.replicaId} is not a replica of service ${p.service}`, path: '/replicaId' });
      }
      await store.register(db, { replicaId: p.replicaId, service: p.service, interfaces: p.interfaces });
      return { replicaId: p.replicaId, names };
    },
  };
  const deregister: ApplyHandler<DeregisterReplicaPayload> = {
    kind: DnsCommandKinds.DeregisterReplica,
    payloadSchema: SchemaIds.DeregisterReplicaPayload,
    async apply({ task, db }) {
      // Off or not: a compensation must be able to complete.
      const removed = await store.deregister(db, task.payload.replicaId);
      return { replicaId: task.payload.replicaId, removed };
    },
  };
  const put: ApplyHandler<PutRecordsPayload> = {
    kind: DnsCommandKinds.PutRecords,
    payloadSchema: SchemaIds.PutRecordsPayload,
    async apply({ task, db }) {
      if (!config) throw dnsOff();
      try {
        const zone = userZone(task.payload.zone, config.domain);
        const owner = userName(task.payload.name, zone, config.domain);
        const set = userRecords(task.payload, config.domain, await store.customTypesAt(db, owner));
        await store.putCustom(db, set);
        return { zone: set.zone, name: set.name, type: set.type, ttl: set.ttl, records: [...set.records] };
      } catch (e) {
        throw refused(e);
      }
    },
  };
  const del: ApplyHandler<DeleteRecordsPayload> = {
    kind: DnsCommandKinds.DeleteRecords,
    payloadSchema: SchemaIds.DeleteRecordsPayload,
    async apply({ task, db }) {
      if (!config) throw dnsOff();
      try {
        const zone = userZone(task.payload.zone, config.domain);
        const owner = userName(task.payload.name, zone, config.domain);
        return { zone, name: owner, type: task.payload.type, removed: await store.deleteCustom(db, zone, owner, task.payload.type) };
      } catch (e) {
        throw refused(e);
      }
    },
  };
  return [register, deregister, put, del];
}
