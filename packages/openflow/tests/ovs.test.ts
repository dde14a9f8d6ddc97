// Cross-checks against the real Open vSwitch (ovs-ofctl ofp-print, from openvswitch-common):
// random messages encoded by this package must be decoded by OVS to the same field values.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { BundleCtrlType, ControllerRole, encode } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';

const ofpPrint = (b: Buffer): string => execFileSync('ovs-ofctl', ['ofp-print', b.toString('hex')], { encoding: 'utf8' });
const ctrlNames = Object.keys(BundleCtrlType);

describe('Open vSwitch reads what we write', () => {
  it('ONF bundle control messages (OFPRAW_ONFT13_BUNDLE_CONTROL)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        (bundleId, ctrl, flags, xid) => {
          const out = ofpPrint(encode({ type: 'BUNDLE_CONTROL', xid, bundleId, bundleCtrlType: ctrl, flags, properties: Buffer.alloc(0) }));
          // OVS prints with %#x and bit names, so zero shows as "0".
          const flagText = [flags & 1 ? 'atomic' : '', flags & 2 ? 'ordered' : ''].filter(Boolean).join(' ') || '0';
          const idText = bundleId === 0 ? '0' : `0x${bundleId.toString(16)}`;
          expect(out).toContain(`ONFT_BUNDLE_CONTROL (OF1.3) (xid=0x${xid.toString(16)}):`);
          expect(out).toContain(`bundle_id=${idText} type=${ctrlNames[ctrl]} flags=${flagText}`);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('ROLE_REQUEST (§7.3.9)', () => {
    fc.assert(
      fc.property(fc.constantFrom(ControllerRole.EQUAL, ControllerRole.MASTER, ControllerRole.SLAVE), fc.bigInt({ min: 0n, max: 2n ** 63n }), (role, generationId) => {
        const out = ofpPrint(encode({ type: 'ROLE_REQUEST', xid: 1, role, generationId }));
        const name = { 1: 'equal', 2: 'primary', 3: 'secondary' }[role]; // OVS 3.x prints master/slave as primary/secondary
        expect(out).toContain(`role=${name}`);
        expect(out).toContain(`generation_id=${generationId}`);
      }),
      { numRuns: 30 },
    );
  });

  // weight ≥ 2: OVS leaves the default weight 1 out of its printout; ports < 0xff00: OVS maps
  // OpenFlow 1.3 ports into its 16-bit port space and refuses larger physical port numbers.
  it('GROUP_MOD wrapped in a bundle add keeps the inner message intact', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffff00 }), fc.integer({ min: 1, max: 0xfeff }), fc.integer({ min: 2, max: 0xffff }), (groupId, port, weight) => {
        const inner = {
          type: 'GROUP_MOD' as const,
          xid: 9,
          command: 0,
          groupType: 1,
          groupId,
          buckets: [{ weight, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'OUTPUT' as const, port, maxLen: 0 }] }],
        };
        const out = ofpPrint(encode({ type: 'BUNDLE_ADD_MESSAGE', xid: 9, bundleId: 7, flags: 1, message: inner, properties: Buffer.alloc(0) }));
        expect(out).toContain('bundle_id=0x7 flags=atomic');
        expect(out).toContain(`ADD group_id=${groupId},type=select,bucket=weight:${weight},actions=output:${port}`);
      }),
      { numRuns: 30 },
    );
  });
});
