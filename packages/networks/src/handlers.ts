// RDMP command handlers of the network-controller: each applies one store method inside the
// task's database transaction. A semantic failure is thrown as an RdmpError carrying the
// specific ErrorInfo (path rebased under /payload, as the gateway's schema errors are), so the
// worker rolls the transaction back and the submitter gets the same code, message and path.
import { TaskFailed, type ApplyHandler, type JsonObject } from '@sdmi/bus';
import {
  SchemaIds,
  type AttachInterfacePayload,
  type CreateNetworksPayload,
  type DeleteNetworkPayload,
  type DetachInterfacePayload,
  type RegisterHostPayload,
  type ReleaseServiceAddressPayload,
  type SetServiceEndpointsPayload,
  type TenantConfig as TenantConfigSpec,
  type UnregisterHostPayload,
  type UpdateNetworkPayload,
} from '@sdmi/contracts';
import { hasInfo, rebaseInfo } from './errors';
import type { NetworkStore } from './store';

export const NetworkCommandKinds = {
  PutTenantConfig: 'putTenantConfig',
  CreateNetworks: 'createNetworks',
  UpdateNetwork: 'updateNetwork',
  DeleteNetwork: 'deleteNetwork',
  AttachInterface: 'attachInterface',
  DetachInterface: 'detachInterface',
  RegisterHost: 'registerHost',
  UnregisterHost: 'unregisterHost',
  SetServiceEndpoints: 'setServiceEndpoints',
  ReleaseServiceAddress: 'releaseServiceAddress',
} as const;
export type NetworkCommandKind = (typeof NetworkCommandKinds)[keyof typeof NetworkCommandKinds];

/** JSON-safe copy of a result (drops undefined, which JSON cannot carry). */
function json(value: unknown): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

async function guarded<T>(fn: () => Promise<T>): Promise<JsonObject> {
  try {
    return json(await fn());
  } catch (err) {
    if (hasInfo(err)) throw new TaskFailed(rebaseInfo(err.info, '/payload'), { cause: err });
    throw err;
  }
}

/** The handlers for an RdmpWorker; the store must have been migrated. */
export function networkHandlers(store: NetworkStore): ApplyHandler[] {
  const putTenantConfig: ApplyHandler<TenantConfigSpec> = {
    kind: NetworkCommandKinds.PutTenantConfig,
    payloadSchema: SchemaIds.TenantConfig,
    apply: ({ task, db }) => guarded(() => store.putTenantConfig(db, task.payload)),
  };
  const createNetworks: ApplyHandler<CreateNetworksPayload> = {
    kind: NetworkCommandKinds.CreateNetworks,
    payloadSchema: SchemaIds.CreateNetworksPayload,
    apply: ({ task, db }) => guarded(() => store.createNetworks(db, task.payload, task.principal)),
  };
  const updateNetwork: ApplyHandler<UpdateNetworkPayload> = {
    kind: NetworkCommandKinds.UpdateNetwork,
    payloadSchema: SchemaIds.UpdateNetworkPayload,
    apply: ({ task, db }) => guarded(() => store.updateNetwork(db, task.payload, task.principal)),
  };
  const deleteNetwork: ApplyHandler<DeleteNetworkPayload> = {
    kind: NetworkCommandKinds.DeleteNetwork,
    payloadSchema: SchemaIds.DeleteNetworkPayload,
    apply: ({ task, db }) => guarded(() => store.deleteNetwork(db, task.payload.id, task.principal)),
  };
  const attachInterface: ApplyHandler<AttachInterfacePayload> = {
    kind: NetworkCommandKinds.AttachInterface,
    payloadSchema: SchemaIds.AttachInterfacePayload,
    apply: ({ task, db }) => guarded(() => store.attachInterface(db, task.payload)),
  };
  const detachInterface: ApplyHandler<DetachInterfacePayload> = {
    kind: NetworkCommandKinds.DetachInterface,
    payloadSchema: SchemaIds.DetachInterfacePayload,
    apply: ({ task, db }) => guarded(() => store.detachInterface(db, task.payload.interfaceId)),
  };
  const registerHost: ApplyHandler<RegisterHostPayload> = {
    kind: NetworkCommandKinds.RegisterHost,
    payloadSchema: SchemaIds.RegisterHostPayload,
    apply: ({ task, db }) => guarded(() => store.registerHost(db, task.payload)),
  };
  const unregisterHost: ApplyHandler<UnregisterHostPayload> = {
    kind: NetworkCommandKinds.UnregisterHost,
    payloadSchema: SchemaIds.UnregisterHostPayload,
    apply: ({ task, db }) => guarded(() => store.unregisterHost(db, task.payload.name)),
  };
  const setServiceEndpoints: ApplyHandler<SetServiceEndpointsPayload> = {
    kind: NetworkCommandKinds.SetServiceEndpoints,
    payloadSchema: SchemaIds.SetServiceEndpointsPayload,
    apply: ({ task, db }) => guarded(() => store.setServiceEndpoints(db, task.payload)),
  };
  const releaseServiceAddress: ApplyHandler<ReleaseServiceAddressPayload> = {
    kind: NetworkCommandKinds.ReleaseServiceAddress,
    payloadSchema: SchemaIds.ReleaseServiceAddressPayload,
    apply: ({ task, db }) => guarded(() => store.releaseServiceAddress(db, task.payload.service, task.payload.networkId)),
  };
  return [putTenantConfig, createNetworks, updateNetwork, deleteNetwork, attachInterface, detachInterface, registerHost, unregisterHost, setServiceEndpoints, releaseServiceAddress] as ApplyHandler[];
}
