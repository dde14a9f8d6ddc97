export { desiredState, describePlan, isEmptyPlan, planVlans, vlanName } from './plan';
export type { NetworkVlan, TrunkSpec, VlanPlan, VlanState } from './plan';
export { InvalidSwitch, checkSwitch, desiredFor, fingerprint, networkVlans, switchProblems, vlansOf } from './spec';
