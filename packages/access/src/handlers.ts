// Role bindings as resources of the bus (commands putRoleBinding/deleteRoleBinding, whose whole
// effect is their row, in the task's transaction) and the access queries. Served by the
// network-controller (ACCESS_SERVICE); every gateway reads the same table.
import { TaskFailed, serveQuery, type ApplyHandler, type QueryHandler } from '@sdmi/bus';
import { AccessCommandKinds, AccessQueries, SchemaIds, type DeleteRoleBindingPayload, type ListedRoleBinding, type PutRoleBindingPayload } from '@sdmi/contracts';
import { InvalidRoleBinding, checkBinding } from '@sdmi/rbac';
import type { AccessControl } from './access-control';
import type { AccessStore } from './store';

export function roleBindingHandlers(store: AccessStore): ApplyHandler[] {
  const put: ApplyHandler<PutRoleBindingPayload> = {
    kind: AccessCommandKinds.PutRoleBinding,
    payloadSchema: SchemaIds.PutRoleBindingPayload,
    async apply({ task, db }) {
      const { binding } = task.payload;
      try {
        checkBinding(binding);
      } catch (e) {
        if (e instanceof InvalidRoleBinding) throw new TaskFailed({ code: e.code, message: `/payload/binding${e.message}`, path: `/payload/binding${e.path}`, rule: e.rule });
        throw e;
      }
      if (binding.name.startsWith('builtin-')) {
        throw new TaskFailed({ code: 'INVALID_ROLE_BINDING', message: `/payload/binding/name: names starting with builtin- are the credentials' own bindings`, path: '/payload/binding/name', rule: 'reserved-name' });
      }
      const { created } = await store.putBinding(db, binding);
      return { name: binding.name, created };
    },
  };
  const del: ApplyHandler<DeleteRoleBindingPayload> = {
    kind: AccessCommandKinds.DeleteRoleBinding,
    payloadSchema: SchemaIds.DeleteRoleBindingPayload,
    async apply({ task, db }) {
      return { name: task.payload.name, removed: await store.deleteBinding(db, task.payload.name) };
    },
  };
  return [put, del];
}

/** listRoleBindings and audit; `access` undefined: access control is off (no builtin bindings, everyone reads all). */
export function accessQueries(store: AccessStore, access: AccessControl | undefined): QueryHandler[] {
  return [
    serveQuery(AccessQueries.listRoleBindings, async ({ principal }, ctx) => {
      const builtin: ListedRoleBinding[] = (access?.directory.builtinBindings() ?? []).map((binding) => ({ binding, source: 'builtin' }));
      const stored: ListedRoleBinding[] = (await store.bindings(principal)).map((binding) => ({ binding, source: 'stored' }));
      const all = [...builtin.filter((b) => principal === undefined || b.binding.principal === principal), ...stored];
      return { bindings: all.filter((b) => ctx.canRead(b.binding.tenant)).sort((a, b) => a.binding.name.localeCompare(b.binding.name)) };
    }),
    serveQuery(AccessQueries.audit, async (q, ctx) => {
      const tenants = access ? await access.readable(ctx.principal.id) : 'all';
      return { records: await store.audit(q, tenants) };
    }),
  ];
}
