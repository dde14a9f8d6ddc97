import { describe, expect, it } from 'vitest';
import { contracts, dnsReplicaKey, dnsZoneKey } from '../src/index';

// A key the gateway refuses would make every DNS step of such a replica fail.
const keyOk = (key: string) => contracts().check('SubmitRequest', { id: '0b4a2f6e-5c1d-4e8a-9f3b-7d2c1e0a9b8c', kind: 'registerReplica', key, payload: {} }).ok;

describe('dns command keys', () => {
  it("a replica's key is its node commands' key, valid also for a #n id", () => {
    expect(dnsReplicaKey('m1/app-1@rev2#3')).toBe('replica/m1/app-1@rev2.3');
    expect(keyOk(dnsReplicaKey('m1/app-1@rev2#3'))).toBe(true);
    expect(keyOk(dnsReplicaKey('m1/app-1@rev2'))).toBe(true);
  });

  it("a zone's key has no final dot and is lower case", () => {
    expect(dnsZoneKey('M1.Sdmi.Internal.')).toBe('zone/m1.sdmi.internal');
    expect(keyOk(dnsZoneKey('m1.sdmi.internal.'))).toBe(true);
  });
});
