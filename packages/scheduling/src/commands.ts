// The service commands' effect on desired state, as a pure function the scheduler's RDMP handlers
// call inside their transaction: (current service or none, command, now) → the new service, or null
// when it is removed. Errors carry paths into the command's payload, as the gateway reports schema
// errors, so `/spec/networks/1/ip/addresses` points at the field the user wrote.
import type { DeployServicePayload, RemoveServicePayload, RolloutUndoPayload, ScaleServicePayload, UpdateServicePayload } from '@sdmi/contracts';
import { SchedulingError, ServiceExists, ServiceNotFound, withPath } from './errors';
import { Service, serviceId } from './model';

export const ServiceCommandKinds = {
  DeployService: 'deployService',
  ScaleService: 'scaleService',
  UpdateService: 'updateService',
  RemoveService: 'removeService',
  RolloutUndo: 'rolloutUndo',
} as const;
export type ServiceCommandKind = (typeof ServiceCommandKinds)[keyof typeof ServiceCommandKinds];

export type ServiceCommand =
  | { readonly kind: 'deployService'; readonly payload: DeployServicePayload }
  | { readonly kind: 'scaleService'; readonly payload: ScaleServicePayload }
  | { readonly kind: 'updateService'; readonly payload: UpdateServicePayload }
  | { readonly kind: 'removeService'; readonly payload: RemoveServicePayload }
  | { readonly kind: 'rolloutUndo'; readonly payload: RolloutUndoPayload };

/** The RDMP resource key of a command: the service id, so one service's commands apply in order. */
export function serviceCommandKey(command: ServiceCommand): string {
  return 'spec' in command.payload ? serviceId(command.payload.spec.tenant, command.payload.spec.name) : command.payload.service;
}

function under<T>(prefix: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof SchedulingError ? withPath(e, prefix) : e;
  }
}

/**
 * Applies one command to the service it names (`current`, null when there is none). Throws the
 * rule's error, with its path in the payload, and changes nothing.
 */
export function applyServiceCommand(current: Service | null, command: ServiceCommand, now: number): Service | null {
  const id = serviceCommandKey(command);
  switch (command.kind) {
    case 'deployService':
      if (current) throw new ServiceExists('/spec', id, current.revision);
      return under('/spec', () => Service.create(command.payload.spec, now));
    case 'updateService':
      if (!current) throw new ServiceNotFound('/spec', id);
      return under('/spec', () => current.update(command.payload.spec, now));
    case 'scaleService':
      if (!current) throw new ServiceNotFound('/service', id);
      return current.scale(command.payload.replicas);
    case 'rolloutUndo':
      if (!current) throw new ServiceNotFound('/service', id);
      return current.undo(command.payload.toRevision, now);
    case 'removeService':
      if (!current) throw new ServiceNotFound('/service', id);
      return null;
  }
}
