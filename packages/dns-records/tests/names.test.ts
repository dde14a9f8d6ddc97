import { InvalidDnsName } from '@sdmi/powerdns';
import { describe, expect, it } from 'vitest';
import { checkedLabel, containerName, replicaLabel, serviceName, splitId, tenantZone } from '../src/index';

const DOMAIN = 'sdmi.test.';

function refusal(f: () => unknown): InvalidDnsName {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidDnsName);
    return e as InvalidDnsName;
  }
  throw new Error('expected an InvalidDnsName, nothing was thrown');
}

describe('replicaLabel', () => {
  it('is <service>-<slot>-r<revision>', () => {
    expect(replicaLabel('m1/app-1@rev2')).toBe('app-1-r2');
    expect(replicaLabel('m1/web-api-12@rev345')).toBe('web-api-12-r345');
  });

  it('tells the old and new revision of a slot apart', () => {
    expect(replicaLabel('m1/app-1@rev2')).not.toBe(replicaLabel('m1/app-1@rev3'));
  });

  it('adds -<n> for a #n id', () => {
    expect(replicaLabel('m1/app-1@rev2#3')).toBe('app-1-r2-3');
    expect(replicaLabel('m1/app-1@rev2#3')).not.toBe(replicaLabel('m1/app-1@rev2'));
  });

  it('keeps a 63-character service name whole when it is not needed, cuts it to fit 63 characters otherwise', () => {
    const long = 'a'.repeat(63);
    const label = replicaLabel(`m1/${long}-1@rev2`);
    expect(label).toBe(`${'a'.repeat(58)}-1-r2`);
    expect(label).toHaveLength(63);
    const withN = replicaLabel(`m1/${long}-123456@rev123456789#999999`);
    expect(withN.length).toBeLessThanOrEqual(63);
    expect(withN.endsWith('-123456-r123456789-999999')).toBe(true);
  });

  it('leaves no hyphen before the suffix when the cut falls on one', () => {
    // 57 x, then "-abcde": cut to 58 characters the name would end in "-".
    const service = `${'x'.repeat(57)}-abcde`;
    expect(service).toHaveLength(63);
    const label = replicaLabel(`m1/${service}-1@rev2`);
    expect(label).toBe(`${'x'.repeat(57)}-1-r2`);
    expect(label).not.toMatch(/--/);
    expect(label.length).toBeLessThanOrEqual(63);
    // And it makes a usable name.
    expect(containerName(`m1/${service}-1@rev2`, 'm1/app', DOMAIN)).toBe(`${label}.app.m1.${DOMAIN}`);
  });

  it.each(['m1/app', 'app-1@rev2', 'm1/app-1', 'm1/app-1@2', 'm1/app-1@rev2#x', 'M1/App-1@rev2', 'm1/app-1@rev2 ', '', 'm1/1app-1@rev2'])(
    'refuses %j, which is not a replica id',
    (id) => {
      const e = refusal(() => replicaLabel(id));
      expect(e.value).toBe(id);
      expect(e.where).toBe('replicaId');
      expect(e.message).toContain('is not a replica id');
    },
  );
});

describe('splitId', () => {
  it('splits at the first slash', () => {
    expect(splitId('m1/app')).toEqual({ scope: 'm1', name: 'app' });
    expect(splitId('cluster/mgmt')).toEqual({ scope: 'cluster', name: 'mgmt' });
    expect(splitId('m1/app-1@rev2')).toEqual({ scope: 'm1', name: 'app-1@rev2' });
  });

  it('refuses an id without a scope', () => {
    expect(refusal(() => splitId('app')).message).toContain('not <scope>/<name>');
  });
});

describe('checkedLabel', () => {
  it('lower-cases a good label', () => {
    expect(checkedLabel('App', 'service')).toBe('app');
  });

  it('refuses a dotted name, naming where it was', () => {
    const e = refusal(() => checkedLabel('a.b', 'network'));
    expect(e.where).toBe('network');
    expect(e.message).toContain('single label');
  });
});

describe('tenantZone, containerName, serviceName', () => {
  it('names a tenant zone <tenant>.<domain>', () => {
    expect(tenantZone('m1', DOMAIN)).toBe('m1.sdmi.test.');
  });

  it('names a container interface <replica>.<network>.<tenant>.<domain>', () => {
    expect(containerName('m1/app-1@rev2', 'm1/app', DOMAIN)).toBe('app-1-r2.app.m1.sdmi.test.');
    expect(containerName('m1/app-1@rev2#3', 'm1/back', DOMAIN)).toBe('app-1-r2-3.back.m1.sdmi.test.');
  });

  it('names a service <service>.<network>.<tenant>.<domain>', () => {
    expect(serviceName('m1/app', 'm1/app', DOMAIN)).toBe('app.app.m1.sdmi.test.');
    expect(serviceName('m1/web', 'm1/back', DOMAIN)).toBe('web.back.m1.sdmi.test.');
  });

  it('uses the network name of a cluster network, under the replica’s own tenant', () => {
    expect(containerName('m1/app-1@rev2', 'cluster/mgmt', DOMAIN)).toBe('app-1-r2.mgmt.m1.sdmi.test.');
    expect(serviceName('m1/app', 'cluster/mgmt', DOMAIN)).toBe('app.mgmt.m1.sdmi.test.');
    expect(containerName('t2/db-1@rev1', 'cluster/mgmt', DOMAIN)).toBe('db-1-r1.mgmt.t2.sdmi.test.');
  });

  // ^[a-z][a-z0-9-]{0,62}$ (SDMI's pattern for tenant and service names) allows a final hyphen, a
  // DNS label does not.
  it('refuses a service name ending with a hyphen, naming the label and why', () => {
    const e = refusal(() => serviceName('m1/app-', 'm1/app', DOMAIN));
    expect(e.where).toBe('service');
    expect(e.message).toContain('"app-"');
    expect(e.message).toContain('starts or ends with a hyphen');
  });

  it('refuses a tenant name ending with a hyphen, naming the label and why', () => {
    for (const f of [() => tenantZone('m1-', DOMAIN), () => serviceName('m1-/app', 'm1-/app', DOMAIN), () => containerName('m1-/app-1@rev2', 'm1-/app', DOMAIN)]) {
      const e = refusal(f);
      expect(e.where).toBe('tenant');
      expect(e.message).toContain('"m1-"');
      expect(e.message).toContain('starts or ends with a hyphen');
    }
  });

  it('refuses a network name that is not a label, naming it', () => {
    const e = refusal(() => containerName('m1/app-1@rev2', 'm1/net-', DOMAIN));
    expect(e.where).toBe('network');
    expect(e.message).toContain('"net-"');
    expect(refusal(() => serviceName('m1/app', 'm1/a_b', DOMAIN)).message).toContain('"a_b"');
  });

  it('refuses a container name for something that is not a replica id', () => {
    expect(refusal(() => containerName('m1/app', 'm1/app', DOMAIN)).where).toBe('replicaId');
  });
});
