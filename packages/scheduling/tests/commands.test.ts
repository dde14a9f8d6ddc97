// The service commands on desired state: deploy, update, scale, undo, remove; errors with paths in
// the payload, and no change on refusal.
import { describe, expect, it } from 'vitest';
import { contracts } from '@sdmi/contracts';
import { ServiceCommandKinds, applyServiceCommand, serviceCommandKey, type SchedulingError, type ServiceCommand } from '../src/index';
import { spec } from './helpers';

const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    const err = e as SchedulingError;
    return { name: err.name, code: err.info.code, path: err.info.path, message: err.message };
  }
  throw new Error('did not throw');
};

describe('applyServiceCommand', () => {
  it('deploys, updates, scales, undoes and removes a service; each payload passes its schema', () => {
    const cmds: ServiceCommand[] = [
      { kind: 'deployService', payload: { spec: spec() } },
      { kind: 'updateService', payload: { spec: spec({ image: 'app:2' }) } },
      { kind: 'scaleService', payload: { service: 'acme/app', replicas: 5 } },
      { kind: 'rolloutUndo', payload: { service: 'acme/app', toRevision: 1 } },
      { kind: 'removeService', payload: { service: 'acme/app' } },
    ];
    const names = { deployService: 'DeployServicePayload', updateService: 'UpdateServicePayload', scaleService: 'ScaleServicePayload', rolloutUndo: 'RolloutUndoPayload', removeService: 'RemoveServicePayload' } as const;
    let svc = null;
    const seen: unknown[] = [];
    for (const c of cmds) {
      expect(contracts().check(names[c.kind], c.payload).ok).toBe(true);
      expect(serviceCommandKey(c)).toBe('acme/app');
      svc = applyServiceCommand(svc, c, 10);
      seen.push(svc && { revision: svc.revision, replicas: svc.replicas, image: svc.spec.image });
    }
    expect(seen).toEqual([{ revision: 1, replicas: 3, image: 'app:1' }, { revision: 2, replicas: 3, image: 'app:2' }, { revision: 2, replicas: 5, image: 'app:2' }, { revision: 1, replicas: 5, image: 'app:1' }, null]);
    expect(Object.values(ServiceCommandKinds).sort()).toEqual(cmds.map((c) => c.kind).sort());
  });

  it('refuses deploying a service that exists, and acting on one that does not', () => {
    const svc = applyServiceCommand(null, { kind: 'deployService', payload: { spec: spec() } }, 0)!;
    expect(refused(() => applyServiceCommand(svc, { kind: 'deployService', payload: { spec: spec() } }, 1))).toEqual({
      name: 'ServiceExists',
      code: 'SERVICE_EXISTS',
      path: '/spec',
      message: '/spec: service acme/app already exists (revision 1); use updateService to change it',
    });
    expect(refused(() => applyServiceCommand(null, { kind: 'scaleService', payload: { service: 'acme/app', replicas: 1 } }, 1))).toEqual({
      name: 'ServiceNotFound',
      code: 'SERVICE_NOT_FOUND',
      path: '/service',
      message: '/service: service acme/app does not exist',
    });
    expect(refused(() => applyServiceCommand(null, { kind: 'updateService', payload: { spec: spec() } }, 1)).path).toBe('/spec');
    expect(refused(() => applyServiceCommand(null, { kind: 'removeService', payload: { service: 'acme/x' } }, 1)).message).toBe('/service: service acme/x does not exist');
    expect(refused(() => applyServiceCommand(null, { kind: 'rolloutUndo', payload: { service: 'acme/x' } }, 1)).code).toBe('SERVICE_NOT_FOUND');
  });

  it('reports spec rules at their place in the payload, and leaves the service as it was', () => {
    const svc = applyServiceCommand(null, { kind: 'deployService', payload: { spec: spec() } }, 0)!;
    const before = JSON.stringify(svc.toRecord());
    const bad = spec({ image: 'app:2', networks: [{ network: 'web', ip: { mode: 'dynamic' } }, { network: 'db', ip: { mode: 'static', addresses: ['10.0.0.1'] } }] });
    expect(refused(() => applyServiceCommand(svc, { kind: 'updateService', payload: { spec: bad } }, 1))).toEqual({
      name: 'StaticAddressCount',
      code: 'STATIC_ADDRESS_COUNT',
      path: '/spec/networks/1/ip/addresses',
      message: '/spec/networks/1/ip/addresses: mode static needs one address per replica: 3 replica(s) but 1 address(es)',
    });
    expect(refused(() => applyServiceCommand(svc, { kind: 'updateService', payload: { spec: spec({ name: 'other' }) } }, 1)).message).toBe(
      '/spec/name: an update of acme/app cannot change its name to other; deploy a new service instead',
    );
    expect(JSON.stringify(svc.toRecord())).toBe(before);
  });
});
