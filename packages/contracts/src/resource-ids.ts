/**
 * The tenant of a `<tenant>/<name>` id (services, tenant networks, replicas, interfaces), or
 * undefined for an id without one. Access checks read ownership from ids with this one rule.
 */
export function tenantOfId(id: string): string | undefined {
  const slash = id.indexOf('/');
  return slash > 0 ? id.slice(0, slash) : undefined;
}
