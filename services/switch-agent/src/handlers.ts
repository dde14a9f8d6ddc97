// switch-agent's commands. registerSwitch and removeSwitch are rows (the reconciler is the only
// writer to switches, so a command never races a pass); syncSwitch runs one sync through the
// reconciler and answers with what changed, or the switch's refusal.
import { accessSync, constants } from 'node:fs';
import { TaskFailed, type ApplyHandler } from '@sdmi/bus';
import { SchemaIds, SwitchCommandKinds, SwitchErrorCodes, type RegisterSwitchPayload, type RemoveSwitchPayload, type SyncSwitchPayload } from '@sdmi/contracts';
import type { SwitchReconciler } from './reconciler';
import { InvalidSwitch, checkSwitch } from '@sdmi/switches';
import type { SwitchStore } from './store';

export function switchHandlers(store: SwitchStore, reconciler: () => SwitchReconciler | undefined): ApplyHandler[] {
  const register: ApplyHandler<RegisterSwitchPayload> = {
    kind: SwitchCommandKinds.RegisterSwitch,
    payloadSchema: SchemaIds.RegisterSwitchPayload,
    async apply({ task, db }) {
      const spec = task.payload.switch;
      try {
        checkSwitch(spec);
      } catch (e) {
        if (e instanceof InvalidSwitch) throw new TaskFailed({ code: e.code, message: e.message, path: e.path, rule: e.rule });
        throw e;
      }
      if (spec.netconf) {
        // The key stays on this host: a path the agent cannot read is refused now, not at every sync.
        try {
          accessSync(spec.netconf.privateKeyFile, constants.R_OK);
        } catch (e) {
          throw new TaskFailed({ code: SwitchErrorCodes.InvalidSwitch, message: `/switch/netconf/privateKeyFile: switch-agent cannot read ${spec.netconf.privateKeyFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, path: '/switch/netconf/privateKeyFile' });
        }
      }
      const created = await store.put(db, spec);
      return { name: spec.name, created };
    },
  };
  const remove: ApplyHandler<RemoveSwitchPayload> = {
    kind: SwitchCommandKinds.RemoveSwitch,
    payloadSchema: SchemaIds.RemoveSwitchPayload,
    async apply({ task, db }) {
      return { name: task.payload.name, removed: await store.remove(db, task.payload.name) };
    },
  };
  const sync: ApplyHandler<SyncSwitchPayload> = {
    kind: SwitchCommandKinds.SyncSwitch,
    payloadSchema: SchemaIds.SyncSwitchPayload,
    async apply({ task }) {
      const r = reconciler();
      if (!r) throw new TaskFailed({ code: SwitchErrorCodes.SwitchUnreachable, message: 'switch-agent is not started yet' });
      const out = await r.syncNow(task.payload.name);
      if (!out) throw new TaskFailed({ code: SwitchErrorCodes.UnknownSwitch, message: `no switch ${task.payload.name} is registered`, path: '/name' });
      if (!out.ok && out.error) throw new TaskFailed(out.error);
      return { name: task.payload.name, changed: out.changed, changes: out.changes };
    },
  };
  return [register, remove, sync];
}
