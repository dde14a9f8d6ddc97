import { EncodeError, FlowModCommand, NO_BUFFER, Port, encode, type OfpMessage } from '@sdmi/openflow';
import { describe, expect, it } from 'vitest';

const flowMod = (over: Partial<Extract<OfpMessage, { type: 'FLOW_MOD' }>>): OfpMessage => ({
  type: 'FLOW_MOD',
  xid: 1,
  cookie: 0n,
  cookieMask: 0n,
  tableId: 0,
  command: FlowModCommand.ADD,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 0,
  bufferId: NO_BUFFER,
  outPort: Port.ANY,
  outGroup: 0xffffffff,
  flags: 0,
  match: [],
  instructions: [],
  ...over,
});

function encodeError(msg: OfpMessage): EncodeError {
  try {
    encode(msg);
  } catch (e) {
    if (e instanceof EncodeError) return e;
    throw e;
  }
  throw new Error('encode did not fail');
}

describe('encode refuses what cannot be put on the wire, naming the field', () => {
  it('a priority above 16 bits', () => {
    expect(encodeError(flowMod({ priority: 0x10000 })).field).toBe('priority');
  });

  it('a negative or fractional port in an action', () => {
    const e = encodeError(flowMod({ instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: -1, maxLen: 0 }] }] }));
    expect(e.field).toBe('instructions[0].actions[0].port');
    expect(encodeError(flowMod({ tableId: 1.5 })).field).toBe('tableId');
  });

  it('a cookie that is not a 64-bit bigint', () => {
    expect(encodeError(flowMod({ cookie: 1n << 64n })).field).toBe('cookie');
  });

  it('a malformed MAC, IPv4 or IPv6 text', () => {
    expect(encodeError(flowMod({ match: [{ field: 'ETH_DST', value: '00:11:22:33:44' }] })).field).toBe('match[0].value');
    expect(encodeError(flowMod({ match: [{ field: 'IPV4_SRC', value: '10.0.0.256' }] })).field).toBe('match[0].value');
    expect(encodeError(flowMod({ match: [{ field: 'IPV6_SRC', value: '1:2:3:4:5:6:7:8:9' }] })).field).toBe('match[0].value');
    expect(encodeError(flowMod({ match: [{ field: 'IPV6_SRC', value: '1::2::3' }] })).field).toBe('match[0].value');
  });

  it('a mask on a field the spec does not let be masked', () => {
    const bad = { field: 'TCP_DST', value: 80, mask: 0xff00 } as never;
    expect(encodeError(flowMod({ match: [bad] })).field).toBe('match[0].mask');
  });

  it('a message longer than 65535 bytes', () => {
    expect(encodeError({ type: 'ECHO_REQUEST', xid: 1, data: Buffer.alloc(65535) }).field).toBe('length');
  });

  it('experimenter action data that would break 8-byte alignment', () => {
    const e = encodeError({
      type: 'PACKET_OUT',
      xid: 1,
      bufferId: NO_BUFFER,
      inPort: Port.CONTROLLER,
      actions: [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: Buffer.alloc(3) }],
      data: Buffer.alloc(0),
    });
    expect(e.field).toBe('actions[0].data');
  });

  it('a port name longer than 16 bytes', () => {
    const e = encodeError({
      type: 'MULTIPART_REPLY',
      xid: 1,
      flags: 0,
      body: {
        kind: 'PORT_DESC',
        ports: [
          { portNo: 1, hwAddr: '00:00:00:00:00:01', name: 'x'.repeat(17), config: 0, state: 0, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 },
        ],
      },
    });
    expect(e.field).toBe('body.ports[0].name');
  });
});
