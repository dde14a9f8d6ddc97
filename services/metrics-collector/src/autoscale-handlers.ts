// The metrics-collector's commands: autoscale policies and thresholds as resources. A command's
// whole effect is its row (in the task's transaction); the loop picks it up at its next pass.
import { TaskFailed, type ApplyHandler, type RdmpClient } from '@sdmi/bus';
import { AutoscalingError, ThresholdEvaluator, resolvePolicy } from '@sdmi/autoscaling';
import {
  MetricsCommandKinds,
  MetricsErrorCodes,
  SchemaIds,
  type DeleteAutoscalePolicyPayload,
  type DeleteThresholdPayload,
  type SetAutoscalePolicyPayload,
  type SetThresholdPayload,
} from '@sdmi/contracts';
import { SchedulerQueries } from '@sdmi/scheduling';
import type { AutoscaleStore } from './autoscale-store';

function refused(e: unknown, under: string): unknown {
  if (e instanceof AutoscalingError) return new TaskFailed({ ...e.info, path: `${under}${e.path}` });
  return e;
}

/** The service must exist: a policy for a typo would wait silently for a service that never comes. */
async function mustExist(client: RdmpClient, service: string, path: string): Promise<void> {
  try {
    await client.query('scheduler', SchedulerQueries.getService, { service });
  } catch (e) {
    const info = (e as { info?: { code?: string } }).info;
    if (info?.code === MetricsErrorCodes.ServiceNotFound) {
      throw new TaskFailed({ code: MetricsErrorCodes.ServiceNotFound, message: `${path}: service ${service} does not exist (deploy it first)`, path, rule: 'service-exists' });
    }
    throw new TaskFailed({ code: MetricsErrorCodes.SchedulerUnavailable, message: `${path}: could not ask the scheduler whether service ${service} exists: ${(e as Error).message}; nothing was changed, try again`, path });
  }
}

export function autoscaleHandlers(store: AutoscaleStore, client: RdmpClient): ApplyHandler[] {
  const setPolicy: ApplyHandler<SetAutoscalePolicyPayload> = {
    kind: MetricsCommandKinds.SetAutoscalePolicy,
    payloadSchema: SchemaIds.SetAutoscalePolicyPayload,
    async apply({ task, db }) {
      const { policy } = task.payload;
      try {
        resolvePolicy(policy);
      } catch (e) {
        throw refused(e, '/payload/policy');
      }
      await mustExist(client, policy.service, '/payload/policy/service');
      const { created } = await store.putPolicy(db, policy);
      return { service: policy.service, created };
    },
  };
  const deletePolicy: ApplyHandler<DeleteAutoscalePolicyPayload> = {
    kind: MetricsCommandKinds.DeleteAutoscalePolicy,
    payloadSchema: SchemaIds.DeleteAutoscalePolicyPayload,
    async apply({ task, db }) {
      return { service: task.payload.service, removed: await store.deletePolicy(db, task.payload.service) };
    },
  };
  const setThreshold: ApplyHandler<SetThresholdPayload> = {
    kind: MetricsCommandKinds.SetThreshold,
    payloadSchema: SchemaIds.SetThresholdPayload,
    async apply({ task, db }) {
      const { threshold } = task.payload;
      try {
        // The evaluator's own checks (beyond the schema), on this threshold alone.
        new ThresholdEvaluator([threshold]);
      } catch (e) {
        throw refused(e, '/payload/threshold');
      }
      await mustExist(client, threshold.service, '/payload/threshold/service');
      const { created, wasRaised } = await store.putThreshold(db, threshold);
      return { service: threshold.service, name: threshold.name, created, restarted: wasRaised };
    },
  };
  const deleteThreshold: ApplyHandler<DeleteThresholdPayload> = {
    kind: MetricsCommandKinds.DeleteThreshold,
    payloadSchema: SchemaIds.DeleteThresholdPayload,
    async apply({ task, db }) {
      return { service: task.payload.service, name: task.payload.name, removed: await store.deleteThreshold(db, task.payload.service, task.payload.name) };
    },
  };
  return [setPolicy, deletePolicy, setThreshold, deleteThreshold] as ApplyHandler[];
}
