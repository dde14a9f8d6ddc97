// The DNS steps of a replica's transactions, when the cluster has DNS (SDMI_DNS_DOMAIN set). A new
// replica counts as running only once its container names resolve; a stopping one leaves DNS
// before its container goes and its addresses can be handed to another. dns-manager reconciles
// what these steps miss (it drops registrations of replicas the scheduler no longer has), so a
// dns-manager that does not answer holds up a start, which must be resolvable, but not a stop.
import { ErrorCodes, TaskFailed, type JsonValue, type RdmpClient, type Step } from '@sdmi/bus';
import { DnsCommandKinds, DnsQueries, dnsReplicaKey, type StartReplicaPayload, type StopReplicaPayload } from '@sdmi/contracts';
import type { Logger } from 'pino';
import { runOnce } from './handlers';

/** How long a new replica's names may take to reach PowerDNS before its start fails (and is undone), unless configured. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 20_000;
/** How long a stop waits for dns-manager before going on without it (its next pass catches up). */
const LEAVE_DEADLINE_MS = 5_000;

export interface DnsStepOptions {
  client: RdmpClient;
  /** The call's task id, per replica incarnation (as the other steps' calls). */
  call: (replicaId: string, what: string) => Promise<string>;
  log: Logger;
  /** Default {@link DEFAULT_PUBLISH_TIMEOUT_MS}. */
  publishTimeoutMs?: number;
}

async function published(client: RdmpClient, replicaId: string): Promise<{ published: boolean; reason: string | null }> {
  const r = await client.query('dns-manager', DnsQueries.replicaRecords, { replicaId }, { timeoutMs: 2_000 });
  return { published: r.published, reason: r.reason };
}

export function dnsStartStep({ client, call, publishTimeoutMs }: DnsStepOptions): Step<StartReplicaPayload> {
  const deadline = publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  return {
    name: 'register dns names',
    async do({ task, outputs }) {
      const p = task.payload;
      const allocated = (outputs[0] as unknown as { interfaces: { networkId: string; ip: string | null }[] }).interfaces;
      const r = await runOnce(client, 'dns-manager', await call(p.replicaId, 'dns-register'), {
        kind: DnsCommandKinds.RegisterReplica,
        key: dnsReplicaKey(p.replicaId),
        payload: { replicaId: p.replicaId, service: p.service, interfaces: allocated.map((a) => ({ network: a.networkId, ip: a.ip })) },
      }, deadline).catch((err: Error & { code?: string }) => {
        // A refusal keeps its own code (INVALID_DNS_NAME...); only silence is said to be DNS's.
        if (err.code !== ErrorCodes.Timeout) throw err;
        throw new TaskFailed({ code: 'DNS_NOT_PUBLISHED', message: `names of ${p.replicaId} not registered: dns-manager did not complete registerReplica (${err.message})` }, { cause: err });
      });
      const end = Date.now() + deadline;
      let why = 'not yet published';
      for (;;) {
        try {
          const s = await published(client, p.replicaId);
          if (s.published) return r as JsonValue;
          why = s.reason ?? 'not yet published';
        } catch (err) {
          why = `dns-manager did not answer: ${(err as Error).message}`;
        }
        if (Date.now() > end) throw new TaskFailed({ code: 'DNS_NOT_PUBLISHED', message: `names of ${p.replicaId} not in DNS after ${deadline / 1000} s: ${why}` });
        await new Promise((res) => setTimeout(res, 100));
      }
    },
    async undo({ task }) {
      await leave(client, await call(task.payload.replicaId, 'undo-dns-register'), task.payload.replicaId);
    },
  };
}

/** Deregisters and waits until the names are gone, or gives up quietly after LEAVE_DEADLINE_MS. */
async function leave(client: RdmpClient, id: string, replicaId: string): Promise<boolean> {
  const end = Date.now() + LEAVE_DEADLINE_MS;
  try {
    await runOnce(client, 'dns-manager', id, { kind: DnsCommandKinds.DeregisterReplica, key: dnsReplicaKey(replicaId), payload: { replicaId } }, LEAVE_DEADLINE_MS);
    while (Date.now() < end) {
      if (!(await published(client, replicaId)).published) return true;
      await new Promise((res) => setTimeout(res, 100));
    }
  } catch {
    // dns-manager is away: it forgets the replica by itself once the scheduler no longer lists it.
  }
  return false;
}

export function dnsStopStep({ client, call, log }: DnsStepOptions): Step<StopReplicaPayload> {
  return {
    name: 'leave dns',
    async do({ task }) {
      const left = await leave(client, await call(task.payload.replicaId, 'dns-leave'), task.payload.replicaId);
      if (!left) log.warn({ replica: task.payload.replicaId }, 'dns-manager did not confirm the names are gone; its next pass removes them');
      return { left };
    },
    async undo() {},
  };
}
