export { ANY_INBOX, ClusterServices, PrincipalKinds, narrowInbox, principalName, principalsFor } from './principals';
export type { Permissions, Principal, PrincipalKind, RdmpServing } from './principals';
export { quote, renderServerConfig } from './render';
export type { ServerConfigOptions, ServerTls, ServerUser } from './render';
export { ensureIdentities, seedFileOf, writeServerConfig } from './keys';
export type { GenerateOptions, Identity, ServerFiles, WriteServerConfigOptions } from './keys';
