export { CATALOGUE, targetsOf } from './catalogue';
export type { CatalogueContext, Target } from './catalogue';
export { RbacErrorCodes, authorize, canRead, readableTenants } from './authorize';
export type { Decision } from './authorize';
export { InvalidRoleBinding, ROLE_WRITES, ResourceKinds, Roles, TENANT_SCOPED, checkBinding, isTenantScoped } from './roles';
export type { ResourceKind, Role } from './roles';
