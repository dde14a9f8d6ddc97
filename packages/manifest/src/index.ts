export { ManifestError, ManifestInvalid } from './errors';
export { loadManifests } from './load';
export { parseManifest } from './parse';
export type { ParseOptions } from './parse';
export { ChangeActions, diff, planApply, planDelete, planIsEmpty } from './plan';
export type { Change, ChangeAction, ClusterState, FieldChange, Plan } from './plan';
export { API_VERSION, ResourceKinds, networkRef, resourceId, resourceLabel } from './resource';
export type { Resource, ResourceKind, SourceLocation } from './resource';
