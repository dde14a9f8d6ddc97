// fast-check arbitraries generating valid OpenFlow 1.3 messages, in the canonical form decode()
// returns (lower-case MACs, RFC 5952 IPv6 text, names on known ERROR codes).
import fc from 'fast-check';
import {
  ActionType,
  ErrorType,
  InstructionType,
  NX_VENDOR_ID,
  NxActionSubtype,
  ONF_EXPERIMENTER_ID,
  OxmField,
  errorNames,
  ipv4ToString,
  ipv6ToString,
  macToString,
  type Action,
  type Bucket,
  type Instruction,
  type MeterBand,
  type MultipartReplyBody,
  type MultipartRequestBody,
  type NatRange,
  type NxCtAction,
  type NxNatAction,
  type OfpMessage,
  type OfpPort,
  type Oxm,
  type OxmFieldName,
} from '@sdmi/openflow';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u24 = fc.integer({ min: 0, max: 0xffffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
const bytes = (max = 24, min = 0) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
/** Bytes whose length is a multiple of 8 (plus `extra`). */
const bytes8 = (extra = 0) => fc.integer({ min: 0, max: 3 }).chain((k) => bytes(8 * k + extra, 8 * k + extra));
const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map(macToString);
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map(ipv4ToString);
// Bias towards zero runs so that "::" compression is exercised.
const ipv6 = fc
  .array(fc.oneof(fc.constant(0), u16), { minLength: 8, maxLength: 8 })
  .map((gs) => {
    const b = Buffer.alloc(16);
    gs.forEach((g, i) => b.writeUInt16BE(g, i * 2));
    return ipv6ToString(b);
  });
const text = (max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789 -_./'), maxLength: max });

const KIND_ARB = { u8, u16, u24, u32, u64, mac, ipv4, ipv6 } as const;

export const oxm: fc.Arbitrary<Oxm> = fc.oneof(
  fc.constantFrom(...(Object.keys(OxmField) as OxmFieldName[])).chain((name) => {
    const def = OxmField[name];
    const v = KIND_ARB[def.kind] as fc.Arbitrary<unknown>;
    const withMask = def.maskable ? fc.option(v, { nil: undefined }) : fc.constant(undefined);
    return fc.tuple(v, withMask).map(([value, mask]) => (mask === undefined ? { field: name, value } : { field: name, value, mask }) as Oxm);
  }),
  fc
    .record({
      field: fc.constant('RAW' as const),
      oxmClass: fc.constantFrom(0x0000, 0x0001, 0x8001, 0xffff),
      oxmField: fc.integer({ min: 0, max: 127 }),
      hasMask: fc.boolean(),
      payload: bytes(20),
    })
    // NXM_1 105..107 are the named CT_STATE, CT_ZONE, CT_MARK.
    .filter((o) => !(o.oxmClass === 0x0001 && o.oxmField >= 105 && o.oxmField <= 107)),
  fc.record({
    field: fc.constant('RAW' as const),
    oxmClass: fc.constant(0x8000),
    oxmField: fc.integer({ min: 40, max: 127 }),
    hasMask: fc.boolean(),
    payload: bytes(20),
  }),
);
export const match = fc.array(oxm, { maxLength: 6 });

const definedActionTypes = new Set<number>(Object.values(ActionType));
const typedNxSubtypes = new Set<number>(Object.values(NxActionSubtype));

// ---- Nicira actions, in the canonical form decode returns and within what encode accepts ----
const ipv4NonZero = fc.integer({ min: 1, max: 0xffffffff });
const v4 = (n: number): string => ipv4ToString(Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
const port1 = fc.integer({ min: 1, max: 0xffff });
const natRange: fc.Arbitrary<NatRange> = fc
  .record({
    min: ipv4NonZero,
    maxExtra: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
    pmin: fc.option(port1, { nil: undefined }),
    pmaxExtra: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  })
  .map(({ min, maxExtra, pmin, pmaxExtra }) => {
    const r: NatRange = { ipv4Min: v4(min) };
    if (maxExtra !== undefined) r.ipv4Max = v4(Math.min(0xffffffff, min + maxExtra));
    if (pmin !== undefined) {
      r.protoMin = pmin;
      if (pmaxExtra !== undefined) r.protoMax = Math.min(0xffff, pmin + pmaxExtra);
    }
    return r;
  });
export const natAction: fc.Arbitrary<NxNatAction> = fc.oneof(
  fc.constant({ type: 'NX_NAT' as const, persistent: false, protoHash: false, protoRandom: false }),
  fc
    .record({
      direction: fc.constantFrom('src' as const, 'dst' as const),
      persistent: fc.boolean(),
      proto: fc.constantFrom('none', 'hash', 'random'),
      range: fc.option(natRange, { nil: undefined }),
    })
    .map(({ direction, persistent, proto, range }) => {
      const a: NxNatAction = { type: 'NX_NAT', direction, persistent, protoHash: proto === 'hash', protoRandom: proto === 'random' };
      if (range !== undefined) a.range = range;
      return a;
    }),
);
const ctMarkSet: fc.Arbitrary<Action> = u32.map((value) => ({ type: 'SET_FIELD' as const, field: { field: 'CT_MARK' as const, value } }));
export const ctAction: fc.Arbitrary<NxCtAction> = fc
  .record({ commit: fc.boolean(), force: fc.boolean(), zone: u16, recircTable: u8, alg: fc.constantFrom(0, 21, 69), nested: fc.array(fc.oneof(natAction, ctMarkSet), { maxLength: 3 }) })
  .map(({ commit, force, zone, recircTable, alg, nested }) => ({
    type: 'NX_CT' as const,
    commit,
    force: commit && force,
    zone,
    recircTable,
    alg,
    // Without commit Open vSwitch takes only a plain nat inside ct.
    actions: commit ? nested : nested.filter((n): n is NxNatAction => n.type === 'NX_NAT' && n.direction === undefined).slice(0, 1),
  }));
/** Nicira actions this codec does not type: opaque bytes after the subtype. */
const opaqueNicira: fc.Arbitrary<Action> = fc
  .tuple(u16.filter((t) => !typedNxSubtypes.has(t)), bytes8(6))
  .map(([subtype, rest]) => {
    const data = Buffer.concat([Buffer.from([subtype >> 8, subtype & 0xff]), rest]);
    return { type: 'EXPERIMENTER' as const, experimenter: NX_VENDOR_ID, data };
  });
export const niciraAction: fc.Arbitrary<Action> = fc.oneof(
  ctAction,
  fc.record({ type: fc.constant('NX_RESUBMIT_TABLE' as const), inPort: u16, table: u8 }),
  opaqueNicira,
);
/** ct_mark and ct_label writes belong inside ct only. */
const setFieldOxm = oxm.filter((f) => !(f.field === 'CT_MARK' || (f.field === 'RAW' && f.oxmClass === 0x0001 && f.oxmField === 108)));
const definedInstructionTypes = new Set<number>(Object.values(InstructionType));

export const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ type: fc.constant('OUTPUT' as const), port: u32, maxLen: u16 }),
  fc.constantFrom(
    ...(['COPY_TTL_OUT', 'COPY_TTL_IN', 'DEC_MPLS_TTL', 'POP_VLAN', 'DEC_NW_TTL', 'POP_PBB'] as const).map((type) => ({ type })),
  ),
  fc.record({ type: fc.constant('SET_MPLS_TTL' as const), mplsTtl: u8 }),
  fc.record({ type: fc.constant('SET_NW_TTL' as const), nwTtl: u8 }),
  fc.record({ type: fc.constantFrom('PUSH_VLAN' as const, 'PUSH_MPLS' as const, 'POP_MPLS' as const, 'PUSH_PBB' as const), ethertype: u16 }),
  fc.record({ type: fc.constant('SET_QUEUE' as const), queueId: u32 }),
  fc.record({ type: fc.constant('GROUP' as const), groupId: u32 }),
  fc.record({ type: fc.constant('SET_FIELD' as const), field: setFieldOxm }),
  fc.record({ type: fc.constant('EXPERIMENTER' as const), experimenter: u32.filter((e) => e !== NX_VENDOR_ID), data: bytes8() }),
  niciraAction,
  fc.record({
    type: fc.constant('UNKNOWN' as const),
    actionType: u16.filter((t) => !definedActionTypes.has(t)),
    data: bytes8(4),
  }),
);
const actions = fc.array(action, { maxLength: 4 });

export const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  fc.record({ type: fc.constant('GOTO_TABLE' as const), tableId: u8 }),
  fc.record({ type: fc.constant('WRITE_METADATA' as const), metadata: u64, metadataMask: u64 }),
  fc.record({ type: fc.constantFrom('WRITE_ACTIONS' as const, 'APPLY_ACTIONS' as const), actions }),
  fc.constant({ type: 'CLEAR_ACTIONS' as const }),
  fc.record({ type: fc.constant('METER' as const), meterId: u32 }),
  fc.record({ type: fc.constant('EXPERIMENTER' as const), experimenter: u32, data: bytes8() }),
  fc.record({
    type: fc.constant('UNKNOWN' as const),
    instructionType: u16.filter((t) => !definedInstructionTypes.has(t)),
    data: bytes8(4),
  }),
);
const instructions = fc.array(instruction, { maxLength: 4 });

const bucket: fc.Arbitrary<Bucket> = fc.record({ weight: u16, watchPort: u32, watchGroup: u32, actions });
const band: fc.Arbitrary<MeterBand> = fc.oneof(
  fc.record({ type: fc.constant('DROP' as const), rate: u32, burstSize: u32 }),
  fc.record({ type: fc.constant('DSCP_REMARK' as const), rate: u32, burstSize: u32, precLevel: u8 }),
  fc.record({ type: fc.constant('EXPERIMENTER' as const), rate: u32, burstSize: u32, experimenter: u32, data: bytes8() }),
);
const port: fc.Arbitrary<OfpPort> = fc.record({
  portNo: u32,
  hwAddr: mac,
  name: text(16),
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
  currSpeed: u32,
  maxSpeed: u32,
});
const flowStatsRequest = fc.record({ tableId: u8, outPort: u32, outGroup: u32, cookie: u64, cookieMask: u64, match });

const mpRequest: fc.Arbitrary<MultipartRequestBody> = fc.oneof(
  fc.constantFrom(...(['DESC', 'TABLE', 'PORT_DESC', 'GROUP_DESC'] as const).map((kind) => ({ kind }))),
  flowStatsRequest.chain((q) => fc.constantFrom({ kind: 'FLOW' as const, ...q }, { kind: 'AGGREGATE' as const, ...q })),
  fc.record({ kind: fc.constant('PORT_STATS' as const), portNo: u32 }),
  fc.record({ kind: fc.constant('GROUP' as const), groupId: u32 }),
  fc.record({ kind: fc.constant('METER' as const), meterId: u32 }),
  fc.record({ kind: fc.constant('RAW' as const), multipartType: fc.constantFrom(5, 8, 10, 11, 12, 0xffff), data: bytes() }),
);

const mpReply: fc.Arbitrary<MultipartReplyBody> = fc.oneof(
  fc.record({ kind: fc.constant('DESC' as const), mfrDesc: text(256), hwDesc: text(40), swDesc: text(40), serialNum: text(32), dpDesc: text(256) }),
  fc.record({
    kind: fc.constant('FLOW' as const),
    stats: fc.array(
      fc.record({
        tableId: u8,
        durationSec: u32,
        durationNsec: u32,
        priority: u16,
        idleTimeout: u16,
        hardTimeout: u16,
        flags: u16,
        cookie: u64,
        packetCount: u64,
        byteCount: u64,
        match,
        instructions,
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ kind: fc.constant('AGGREGATE' as const), packetCount: u64, byteCount: u64, flowCount: u32 }),
  fc.record({
    kind: fc.constant('TABLE' as const),
    stats: fc.array(fc.record({ tableId: u8, activeCount: u32, lookupCount: u64, matchedCount: u64 }), { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('PORT_STATS' as const),
    stats: fc.array(
      fc.record({
        portNo: u32,
        rxPackets: u64,
        txPackets: u64,
        rxBytes: u64,
        txBytes: u64,
        rxDropped: u64,
        txDropped: u64,
        rxErrors: u64,
        txErrors: u64,
        rxFrameErr: u64,
        rxOverErr: u64,
        rxCrcErr: u64,
        collisions: u64,
        durationSec: u32,
        durationNsec: u32,
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ kind: fc.constant('PORT_DESC' as const), ports: fc.array(port, { maxLength: 3 }) }),
  fc.record({
    kind: fc.constant('GROUP' as const),
    stats: fc.array(
      fc.record({
        groupId: u32,
        refCount: u32,
        packetCount: u64,
        byteCount: u64,
        durationSec: u32,
        durationNsec: u32,
        bucketStats: fc.array(fc.record({ packetCount: u64, byteCount: u64 }), { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({
    kind: fc.constant('GROUP_DESC' as const),
    groups: fc.array(fc.record({ groupType: u8, groupId: u32, buckets: fc.array(bucket, { maxLength: 3 }) }), { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant('METER' as const),
    stats: fc.array(
      fc.record({
        meterId: u32,
        flowCount: u32,
        packetInCount: u64,
        byteInCount: u64,
        durationSec: u32,
        durationNsec: u32,
        bandStats: fc.array(fc.record({ packetBandCount: u64, byteBandCount: u64 }), { maxLength: 3 }),
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ kind: fc.constant('RAW' as const), multipartType: fc.constantFrom(5, 8, 10, 11, 12, 0xffff), data: bytes() }),
);

const xid = u32;
const pair = fc.tuple(u32, u32);

/** One arbitrary per message type, by type. */
export const messageArbs = {
  HELLO: fc.record({
    type: fc.constant('HELLO' as const),
    xid,
    version: u8,
    elements: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant('VERSIONBITMAP' as const), bitmaps: fc.array(u32, { maxLength: 3 }) }),
        fc.record({ type: fc.constant('UNKNOWN' as const), elemType: u16.filter((t) => t !== 1), data: bytes(12) }),
      ),
      { maxLength: 3 },
    ),
  }),
  ERROR: fc.oneof(
    fc
      .tuple(xid, fc.oneof(fc.constantFrom(...Object.values(ErrorType).filter((t) => t !== 0xffff)), u16.filter((t) => t !== 0xffff)), fc.oneof(fc.integer({ min: 0, max: 15 }), u16), bytes())
      .map(([x, errorType, code, data]) => ({ type: 'ERROR' as const, xid: x, errorType, code, data, ...errorNames(errorType, code) })),
    fc.record({
      type: fc.constant('ERROR' as const),
      xid,
      errorType: fc.constant(0xffff),
      code: u16,
      experimenter: u32,
      data: bytes(),
      errorTypeName: fc.constant('EXPERIMENTER' as const),
    }),
  ),
  ECHO_REQUEST: fc.record({ type: fc.constant('ECHO_REQUEST' as const), xid, data: bytes() }),
  ECHO_REPLY: fc.record({ type: fc.constant('ECHO_REPLY' as const), xid, data: bytes() }),
  EXPERIMENTER: fc
    .record({ type: fc.constant('EXPERIMENTER' as const), xid, experimenter: u32, expType: u32, data: bytes() })
    .filter((m) => !(m.experimenter === ONF_EXPERIMENTER_ID && (m.expType === 2300 || m.expType === 2301))),
  FEATURES_REQUEST: fc.record({ type: fc.constant('FEATURES_REQUEST' as const), xid }),
  FEATURES_REPLY: fc.record({
    type: fc.constant('FEATURES_REPLY' as const),
    xid,
    datapathId: u64,
    nBuffers: u32,
    nTables: u8,
    auxiliaryId: u8,
    capabilities: u32,
    reserved: u32,
  }),
  GET_CONFIG_REQUEST: fc.record({ type: fc.constant('GET_CONFIG_REQUEST' as const), xid }),
  GET_CONFIG_REPLY: fc.record({ type: fc.constant('GET_CONFIG_REPLY' as const), xid, flags: u16, missSendLen: u16 }),
  SET_CONFIG: fc.record({ type: fc.constant('SET_CONFIG' as const), xid, flags: u16, missSendLen: u16 }),
  PACKET_IN: fc.record({
    type: fc.constant('PACKET_IN' as const),
    xid,
    bufferId: u32,
    totalLen: u16,
    reason: u8,
    tableId: u8,
    cookie: u64,
    match,
    data: bytes(64),
  }),
  FLOW_REMOVED: fc.record({
    type: fc.constant('FLOW_REMOVED' as const),
    xid,
    cookie: u64,
    priority: u16,
    reason: u8,
    tableId: u8,
    durationSec: u32,
    durationNsec: u32,
    idleTimeout: u16,
    hardTimeout: u16,
    packetCount: u64,
    byteCount: u64,
    match,
  }),
  PORT_STATUS: fc.record({ type: fc.constant('PORT_STATUS' as const), xid, reason: u8, desc: port }),
  PACKET_OUT: fc.record({ type: fc.constant('PACKET_OUT' as const), xid, bufferId: u32, inPort: u32, actions, data: bytes(64) }),
  FLOW_MOD: fc.record({
    type: fc.constant('FLOW_MOD' as const),
    xid,
    cookie: u64,
    cookieMask: u64,
    tableId: u8,
    command: u8,
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    bufferId: u32,
    outPort: u32,
    outGroup: u32,
    flags: u16,
    match,
    instructions,
  }),
  GROUP_MOD: fc.record({
    type: fc.constant('GROUP_MOD' as const),
    xid,
    command: u16,
    groupType: u8,
    groupId: u32,
    buckets: fc.array(bucket, { maxLength: 3 }),
  }),
  PORT_MOD: fc.record({ type: fc.constant('PORT_MOD' as const), xid, portNo: u32, hwAddr: mac, config: u32, mask: u32, advertise: u32 }),
  TABLE_MOD: fc.record({ type: fc.constant('TABLE_MOD' as const), xid, tableId: u8, config: u32 }),
  METER_MOD: fc.record({
    type: fc.constant('METER_MOD' as const),
    xid,
    command: u16,
    flags: u16,
    meterId: u32,
    bands: fc.array(band, { maxLength: 3 }),
  }),
  MULTIPART_REQUEST: fc.record({ type: fc.constant('MULTIPART_REQUEST' as const), xid, flags: u16, body: mpRequest }),
  MULTIPART_REPLY: fc.record({ type: fc.constant('MULTIPART_REPLY' as const), xid, flags: u16, body: mpReply }),
  BARRIER_REQUEST: fc.record({ type: fc.constant('BARRIER_REQUEST' as const), xid }),
  BARRIER_REPLY: fc.record({ type: fc.constant('BARRIER_REPLY' as const), xid }),
  ROLE_REQUEST: fc.record({ type: fc.constant('ROLE_REQUEST' as const), xid, role: u32, generationId: u64 }),
  ROLE_REPLY: fc.record({ type: fc.constant('ROLE_REPLY' as const), xid, role: u32, generationId: u64 }),
  GET_ASYNC_REQUEST: fc.record({ type: fc.constant('GET_ASYNC_REQUEST' as const), xid }),
  GET_ASYNC_REPLY: fc.record({
    type: fc.constant('GET_ASYNC_REPLY' as const),
    xid,
    packetInMask: pair,
    portStatusMask: pair,
    flowRemovedMask: pair,
  }),
  SET_ASYNC: fc.record({ type: fc.constant('SET_ASYNC' as const), xid, packetInMask: pair, portStatusMask: pair, flowRemovedMask: pair }),
  BUNDLE_CONTROL: fc.record({
    type: fc.constant('BUNDLE_CONTROL' as const),
    xid,
    bundleId: u32,
    bundleCtrlType: u16,
    flags: u16,
    properties: bytes(),
  }),
} satisfies Record<string, fc.Arbitrary<OfpMessage>>;

const bundlable = fc.oneof(messageArbs.FLOW_MOD, messageArbs.GROUP_MOD, messageArbs.PACKET_OUT, messageArbs.PORT_MOD);

export const bundleAdd: fc.Arbitrary<OfpMessage> = fc
  .tuple(bundlable, u32, u16, fc.oneof(fc.constant(Buffer.alloc(0)), bytes(16, 1)))
  .map(([inner, bundleId, flags, properties]) => ({
    type: 'BUNDLE_ADD_MESSAGE' as const,
    xid: inner.xid,
    bundleId,
    flags,
    message: inner,
    properties,
  }));

export const anyMessage: fc.Arbitrary<OfpMessage> = fc.oneof(...Object.values(messageArbs), bundleAdd);
