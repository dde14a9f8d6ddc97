// Runs a manifest plan: each change as the command of the service that owns the resource, in the
// plan's order, with new networks created together (one all-or-none transaction, so networks that
// depend on each other need no order). A failed change stops the run; PlanFailed says what was done.
import type { ClusterNetwork as ClusterNetworkSpec, TenantNetwork as TenantNetworkSpec } from '@sdmi/contracts';
import { ChangeActions, resourceLabel, type Change, type Plan } from '@sdmi/manifest';
import { Services, type Cluster } from './cluster';
import { PlanFailed } from './errors';

export interface PlanProgress {
  change: Change;
  phase: 'start' | 'waiting' | 'done';
  detail?: string;
}

export interface RunPlanOptions {
  /** Wait for services to serve as declared (and to be gone, when deleted) before returning. Default true. */
  wait?: boolean;
  /** Per service; default 180 s. */
  timeoutMs?: number;
  onProgress?: (p: PlanProgress) => void;
}

type Step = { changes: Change[]; run: () => Promise<void> };

export async function runPlan(cluster: Cluster, plan: Plan, opts: RunPlanOptions = {}): Promise<void> {
  const steps = stepsOf(cluster, plan, opts);
  const done: string[] = [];
  for (const [i, step] of steps.entries()) {
    for (const c of step.changes) opts.onProgress?.({ change: c, phase: 'start' });
    try {
      await step.run();
    } catch (e) {
      throw new PlanFailed(
        step.changes.map((c) => `${c.action} ${resourceLabel(c)}`).join(', '),
        done,
        steps.slice(i + 1).flatMap((s) => s.changes.map((c) => `${c.action} ${resourceLabel(c)}`)),
        { cause: e },
      );
    }
    for (const c of step.changes) {
      done.push(`${c.action} ${resourceLabel(c)}`);
      opts.onProgress?.({ change: c, phase: 'done' });
    }
  }
}

function stepsOf(cluster: Cluster, plan: Plan, opts: RunPlanOptions): Step[] {
  const wait = opts.wait !== false;
  const steps: Step[] = [];
  const newNetworks = plan.changes.filter((c) => c.action === ChangeActions.Create && (c.kind === 'ClusterNetwork' || c.kind === 'TenantNetwork'));
  let networksPlaced = false;
  for (const c of plan.changes) {
    const r = c.resource;
    if (c.action === ChangeActions.Unchanged || c.action === ChangeActions.Keep || !r) continue;
    if (r.kind === 'RoleBinding') {
      // Create and update are the same command: put replaces the binding of that name.
      steps.push({ changes: [c], run: async () => void (await (c.action === ChangeActions.Delete ? cluster.access.deleteRoleBinding(r.spec.name) : cluster.access.putRoleBinding(r.spec))) });
    } else if (r.kind === 'Switch') {
      // Create and update are the same command: registerSwitch replaces the spec of that name (the
      // agent syncs the switch right after, on its own: the step does not wait for that sync).
      steps.push({ changes: [c], run: async () => void (await (c.action === ChangeActions.Delete ? cluster.switches.remove(r.spec.name) : cluster.switches.register(r.spec))) });
    } else if (r.kind === 'TenantConfig') {
      steps.push({ changes: [c], run: () => cluster.tenant(r.spec.tenant).putConfig(r.spec.hostDevices) });
    } else if (r.kind === 'ClusterNetwork' || r.kind === 'TenantNetwork') {
      if (c.action === ChangeActions.Create) {
        if (networksPlaced) continue;
        networksPlaced = true;
        const cluster_ = newNetworks.flatMap((n) => (n.resource?.kind === 'ClusterNetwork' ? [n.resource.spec as ClusterNetworkSpec] : []));
        const tenant_ = newNetworks.flatMap((n) => (n.resource?.kind === 'TenantNetwork' ? [n.resource.spec as TenantNetworkSpec] : []));
        steps.push({
          changes: newNetworks,
          run: async () => {
            await cluster.run(Services.NetworkController, 'createNetworks', 'networks', {
              ...(cluster_.length > 0 ? { clusterNetworks: cluster_ } : {}),
              ...(tenant_.length > 0 ? { tenantNetworks: tenant_ } : {}),
            });
          },
        });
      } else if (c.action === ChangeActions.Update) {
        const payload = r.kind === 'ClusterNetwork' ? { clusterNetwork: r.spec } : { tenantNetwork: r.spec };
        steps.push({ changes: [c], run: async () => void (await cluster.run(Services.NetworkController, 'updateNetwork', 'networks', payload)) });
      } else if (c.action === ChangeActions.Delete) {
        steps.push({ changes: [c], run: async () => void (await cluster.run(Services.NetworkController, 'deleteNetwork', 'networks', { id: c.id })) });
      }
    } else if (r.kind === 'AutoscalePolicy' || r.kind === 'Threshold') {
      const [tenant, name] = r.spec.service.split('/') as [string, string];
      const svc = cluster.tenant(tenant).service(name);
      // Create and update are the same command: set replaces the service's policy (or the threshold of that name).
      const run =
        r.kind === 'AutoscalePolicy'
          ? () => (c.action === ChangeActions.Delete ? svc.stopAutoscaling() : svc.autoscale(r.spec))
          : () => (c.action === ChangeActions.Delete ? svc.deleteThreshold(r.spec.name) : svc.setThreshold(r.spec));
      steps.push({ changes: [c], run: async () => void (await run()) });
    } else {
      const svc = cluster.tenant(r.spec.tenant).service(r.spec.name);
      const { tenant: _t, name: _n, ...template } = r.spec;
      const waitOpts = { ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), onProgress: (_s: unknown, detail: string) => opts.onProgress?.({ change: c, phase: 'waiting', detail }) };
      const run: Record<string, () => Promise<unknown>> = {
        [ChangeActions.Create]: () => svc.deploy(template, { ...waitOpts, wait: false }),
        [ChangeActions.Update]: () => svc.update(template, { ...waitOpts, wait: false }),
        [ChangeActions.Scale]: () => svc.scale(r.spec.replicas, { ...waitOpts, wait: false }),
        [ChangeActions.Delete]: () => svc.remove({ wait, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}) }),
      };
      steps.push({ changes: [c], run: async () => void (await run[c.action]!()) });
    }
  }
  // Services converge in parallel: a step per service that waits after all were submitted.
  if (wait) {
    const converging = plan.changes.filter((c) => c.kind === 'Service' && (c.action === ChangeActions.Create || c.action === ChangeActions.Update || c.action === ChangeActions.Scale));
    if (converging.length > 0) {
      steps.push({
        changes: [],
        run: async () => {
          await Promise.all(
            converging.map((c) => {
              const [tenant, name] = c.id.split('/') as [string, string];
              return cluster
                .tenant(tenant)
                .service(name)
                .waitConverged({ ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), onProgress: (_s, detail) => opts.onProgress?.({ change: c, phase: 'waiting', detail }) });
            }),
          );
        },
      });
    }
  }
  return steps;
}
