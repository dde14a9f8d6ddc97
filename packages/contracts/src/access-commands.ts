// How role bindings and the audit log are named and addressed on the bus. The network-controller
// keeps them (it already keeps the tenants' configs); every service's gateway reads the bindings.
import type { AuditQuery, AuditReply, ListRoleBindingsQuery, ListRoleBindingsReply } from './generated/types';
import { SchemaIds } from './ids';
import { queryContract } from './queries';

/** The RDMP service that takes putRoleBinding/deleteRoleBinding and answers the access queries. */
export const ACCESS_SERVICE = 'network-controller';

export const AccessCommandKinds = {
  PutRoleBinding: 'putRoleBinding',
  DeleteRoleBinding: 'deleteRoleBinding',
} as const;
export type AccessCommandKind = (typeof AccessCommandKinds)[keyof typeof AccessCommandKinds];

export const AccessQueries = {
  /** The role bindings: stored ones and those the cluster's credentials give (builtin). */
  listRoleBindings: queryContract<ListRoleBindingsQuery, ListRoleBindingsReply>('listRoleBindings', SchemaIds.ListRoleBindingsQuery, SchemaIds.ListRoleBindingsReply),
  /** Admission records of every service's gateway, newest first. */
  audit: queryContract<AuditQuery, AuditReply>('audit', SchemaIds.AuditQuery, SchemaIds.AuditReply),
} as const;

/** The RDMP key of a role binding: its commands run in order per binding. */
export function roleBindingKey(name: string): string {
  return `rolebinding/${name}`;
}
