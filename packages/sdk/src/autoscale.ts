// A service's autoscale policy and thresholds (kept and evaluated by the metrics-collector), and
// the decisions and threshold events it announces on core NATS, each checked against its contract.
import type { NatsConnection } from '@nats-io/nats-core';
import type { BusNames } from '@sdmi/bus';
import { contracts, type AutoscalePolicy, type ScaleDecision, type Threshold, type ThresholdEvent } from '@sdmi/contracts';
import { jsonIterator } from './messages';
import { isBoolean, isString, resultField } from './results';

/** A policy as `service.autoscale()` takes it: the service is the one it is called on. */
export type AutoscaleSpec = Omit<AutoscalePolicy, 'service' | 'version'> & { version?: AutoscalePolicy['version'] };
/** A threshold as `service.setThreshold()` takes it. */
export type ThresholdSpec = Omit<Threshold, 'service' | 'version'> & { version?: Threshold['version'] };

export interface SetAutoscaleResult {
  service: string;
  /** false when it replaced the service's policy. */
  created: boolean;
}

export interface SetThresholdResult {
  service: string;
  name: string;
  created: boolean;
  /** The replaced threshold was raised; it starts over in phase ok (no cleared event is sent for it). */
  restarted: boolean;
}

export interface RemoveResult {
  service: string;
  /** false when there was nothing to remove (removing is idempotent). */
  removed: boolean;
}

const SERVICE_ID = /^[a-z][a-z0-9-]{0,62}\/[a-z][a-z0-9-]{0,62}$/;

/** The subject would silently match nothing (or the wrong services) for an id that is not <tenant>/<service>. */
function checkServiceId(service: string | undefined): void {
  if (service !== undefined && !SERVICE_ID.test(service)) throw new TypeError(`"${service}" is not a service id: write <tenant>/<service>`);
}

/**
 * Messages of one contract on a core-NATS subject until the iterator is returned; one that is not
 * JSON or breaks its contract is skipped (a consumer cannot act on it, and the publisher is ours).
 * The subscription is made at the call, not at the first next(), so that what is announced right
 * after (the decision of a policy just set) is not missed. return() ends the subscription at once,
 * even while the iterator waits for a message (a generator alone would finish only at the next one).
 */
function checked<T>(nc: NatsConnection, subject: string, check: (data: unknown) => T | null): AsyncGenerator<T> {
  return jsonIterator(nc.subscribe(subject), (_subject, data) => check(data));
}

/** The autoscaler's decisions of one service (default every service), as announced. */
export function scaleDecisions(nc: NatsConnection, names: BusNames, service?: string): AsyncGenerator<ScaleDecision> {
  checkServiceId(service);
  const c = contracts();
  return checked(nc, names.scaleDecisions(service), (d) => {
    const v = c.check('ScaleDecision', d);
    return v.ok ? v.value : null;
  });
}

/** Thresholds raised and cleared, of one service (default every service). */
export function thresholdEvents(nc: NatsConnection, names: BusNames, service?: string): AsyncGenerator<ThresholdEvent> {
  checkServiceId(service);
  const c = contracts();
  return checked(nc, names.thresholdEvents(service), (d) => {
    const v = c.check('ThresholdEvent', d);
    return v.ok ? v.value : null;
  });
}

const field = <T>(r: Record<string, unknown> | undefined, k: string, ok: (v: unknown) => v is T): T => resultField('the metrics-collector', r, k, ok);

export function setAutoscaleResult(r: Record<string, unknown> | undefined): SetAutoscaleResult {
  return { service: field(r, 'service', isString), created: field(r, 'created', isBoolean) };
}

export function setThresholdResult(r: Record<string, unknown> | undefined): SetThresholdResult {
  return { service: field(r, 'service', isString), name: field(r, 'name', isString), created: field(r, 'created', isBoolean), restarted: field(r, 'restarted', isBoolean) };
}

export function removeResult(r: Record<string, unknown> | undefined): RemoveResult {
  return { service: field(r, 'service', isString), removed: field(r, 'removed', isBoolean) };
}
