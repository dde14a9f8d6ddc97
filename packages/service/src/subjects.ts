/**
 * Subjects of service endpoints. Service-wide endpoints are load-balanced across the instances of
 * a service (queue group); per-instance endpoints, such as health, reach exactly one process.
 * Everything sits under `sdmi.svc.<service>.` so a service's NATS permissions can be one wildcard.
 */
export const SUBJECT_ROOT = 'sdmi.svc';

/** `sdmi.svc.<service>.<endpoint>`: answered by any one instance. */
export function endpointSubject(service: string, endpoint: string): string {
  return `${SUBJECT_ROOT}.${service}.${endpoint}`;
}

/** `sdmi.svc.<service>.<instance>.<endpoint>`: answered by that instance only. */
export function instanceSubject(service: string, instance: string, endpoint: string): string {
  return `${SUBJECT_ROOT}.${service}.${instance}.${endpoint}`;
}

export const HEALTH_ENDPOINT = 'health';

export function healthSubject(service: string, instance: string): string {
  return instanceSubject(service, instance, HEALTH_ENDPOINT);
}
