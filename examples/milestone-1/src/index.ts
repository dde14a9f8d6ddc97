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
  meshNodeName,
  removeNodePlan,
  removePeerStep,
} from './mesh';
export type { MeshNode, MeshStep, RemoveNodeOptions } from './mesh';
