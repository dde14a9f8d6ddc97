export { AccessControl, AccessEnv } from './access-control';
export { authenticator } from './authenticate';
export { PrincipalDirectory, PrincipalsFileError, principalId } from './directory';
export type { KnownPrincipal } from './directory';
export { accessQueries, roleBindingHandlers } from './handlers';
export { AccessStore } from './store';
