export { InvalidMeshChange, InvalidNodeAddress, InvalidNodeName } from './errors';
export { BASE_PACKAGES, CONTEXT_LABEL, IMAGE_TAGS, buildExampleImages } from './images';
export type { ExampleImages } from './images';
export {
  MAX_NODE_NAME,
  MESH_COMMAND,
  addNodePlan,
  addPeerStep,
  checkNodeName,
  createMeshPlan,
  initStep,
  meshHealth,
  meshNodeName,
  parsePeers,
  removeNodePlan,
  removePeerStep,
} from './mesh';
export type { MeshNode, MeshPeer, MeshStep, RemoveNodeOptions } from './mesh';
export { DEFAULT_TENANT, Database, MANIFEST_FILE, Milestone1, dbNodeName, milestone1Resources } from './milestone1';
export type { Milestone1Options, Milestone1Reply } from './milestone1';
