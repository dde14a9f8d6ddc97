// One emulated OpenFlow 1.3 switch, cbench style: a TCP connection to the controller with its
// own datapath id, P ports and M hosts behind them. It does the switch side of the handshake
// (HELLO, FEATURES, PORT_DESC/DESC multiparts, BARRIER, ECHO, GET_CONFIG, ROLE) and then sends
// PACKET_INs (table-miss, no buffer, the whole frame) with at most `window` of them unanswered.
//
// A packet-in is *answered* by the first FLOW_MOD or PACKET_OUT that refers to it:
//   - a PACKET_OUT carries our frame back, whose tag names the packet-in exactly;
//   - a FLOW_MOD is matched by (eth_src, eth_dst) to the oldest outstanding packet-in of that
//     pair that has no flow-mod yet (the emulated switch never installs flows, so the same pair
//     keeps coming back, as in cbench).
// Both kinds are counted separately, so the report can say flow-mods/s (what cbench counts)
// and packet-outs/s as well as answered packet-ins/s.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  Capabilities,
  ErrorCode,
  ErrorType,
  Framer,
  MultipartType,
  NO_BUFFER,
  OFP_VERSION,
  PacketInReason,
  Port,
  PortFeatures,
  decode,
  encode,
  type MessageOf,
  type OfpMessage,
  type OfpPort,
} from '@sdmi/openflow';
import type { Logger } from 'pino';
import { FrameKind, type Host, makeHosts, readTag, writeFrame } from './frames';

export interface SwitchConfig {
  index: number;
  dpid: bigint;
  ports: number;
  /** Hosts (distinct source MACs) behind this switch. */
  macs: number;
  frame: FrameKind;
  frameBytes: number;
  /** A packet-in unanswered after this long is counted lost and frees its window slot. */
  lossTimeoutMs: number;
  log: Logger;
}

/** Cumulative counters; the bench diffs two snapshots to get one measurement window. */
export interface Counters {
  sent: number; // PACKET_INs sent
  answered: number; // PACKET_INs with at least one response
  flowMods: number; // every FLOW_MOD received
  flowModsAnswering: number; // FLOW_MODs matched to an outstanding packet-in
  packetOuts: number; // every PACKET_OUT received
  packetOutsAnswering: number; // PACKET_OUTs carrying the frame of an outstanding packet-in
  misdirected: number; // responses whose output port is not the one a learning switch must choose
  lost: number; // packet-ins given up after lossTimeoutMs
  late: number; // responses that came after their packet-in was given up
  errors: number; // OFPT_ERROR from the controller
  undecodable: number; // messages our codec refused
}

const zeroCounters = (): Counters => ({
  sent: 0,
  answered: 0,
  flowMods: 0,
  flowModsAnswering: 0,
  packetOuts: 0,
  packetOutsAnswering: 0,
  misdirected: 0,
  lost: 0,
  late: 0,
  errors: 0,
  undecodable: 0,
});

export function addCounters(into: Counters, c: Counters, sign = 1): Counters {
  for (const k of Object.keys(into) as (keyof Counters)[]) into[k] += sign * c[k];
  return into;
}
export const emptyCounters = zeroCounters;

const Phase = { Idle: 'idle', Learn: 'learn', Run: 'run' } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

interface Outstanding {
  seq: number;
  sentAt: number;
  /** The learning phase retries a lost packet-in: which host it came from. */
  host: number;
  /** `${eth_src}|${eth_dst}` when the destination is a known host (a flow-mod may answer). */
  key: string | undefined;
  /** The output port a learning switch must choose (a host's port, or FLOOD when broadcast). */
  expectPort: number;
  answered: boolean;
  fm: boolean;
  po: boolean;
}

/** How long the controller must stay quiet after FEATURES before the switch counts as ready. */
const QUIET_MS = 200;
const SWEEP_MS = 50;

export class EmulatedSwitch {
  readonly counters: Counters = zeroCounters();
  /** Controller-to-switch messages by type (handshake, SET_CONFIG, ECHO, …), for the report. */
  readonly seen = new Map<string, number>();
  /** First answering FLOW_MOD and PACKET_OUT of the measured traffic (not the learning phase's floods), to show what each controller sends. */
  sampleFlowMod?: MessageOf<'FLOW_MOD'>;
  samplePacketOut?: MessageOf<'PACKET_OUT'>;
  firstError?: string;
  /** Latency samples (ms) of packet-ins answered while `recording` is on. */
  latencies: number[] = [];
  recording = false;

  private readonly hosts: Host[];
  private readonly portList: OfpPort[];
  private socket?: net.Socket;
  private readonly framer = new Framer();
  private closedReason?: string;
  private featuresAnswered = false;
  private lastControlAt = 0;

  private phase: Phase = Phase.Idle;
  private window = 0;
  private outstandingCount = 0;
  private readonly records = new Map<number, Outstanding>();
  private readonly byKey = new Map<string, number[]>();
  private nextSeq = 1;
  private runK = 0;
  private learnQueue: number[] = [];
  private learned = 0;
  private onLearned?: () => void;
  private sweepTimer?: NodeJS.Timeout;

  // The PACKET_IN is encoded once by the codec; each packet copies it and patches the xid,
  // in_port and frame (offsets found by encoding, checked by decoding in selfCheck()).
  private readonly template: Buffer;
  private readonly inPortAt: number;
  private readonly dataAt: number;

  constructor(readonly cfg: SwitchConfig) {
    this.hosts = makeHosts(cfg.index, cfg.macs, cfg.ports);
    this.portList = Array.from({ length: cfg.ports }, (_, i) => ({
      portNo: i + 1,
      hwAddr: `02:ff:${hex2(cfg.index >> 8)}:${hex2(cfg.index)}:00:${hex2(i + 1)}`,
      name: `s${cfg.index}-eth${i + 1}`,
      config: 0,
      state: 0, // link up, not blocked
      curr: PortFeatures.COPPER | PortFeatures['10GB_FD'],
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 10_000_000,
      maxSpeed: 10_000_000,
    }));
    const marker = 0x0badcafe;
    const frame = Buffer.alloc(cfg.frameBytes);
    this.template = encode({
      type: 'PACKET_IN',
      xid: 0,
      bufferId: NO_BUFFER,
      totalLen: cfg.frameBytes,
      reason: PacketInReason.NO_MATCH, // a table-miss: ovs-testcontroller ignores any other reason
      tableId: 0,
      cookie: 0n,
      match: [{ field: 'IN_PORT', value: marker }],
      data: frame,
    });
    const m = Buffer.alloc(4);
    m.writeUInt32BE(marker);
    this.inPortAt = this.template.indexOf(m);
    this.dataAt = this.template.length - cfg.frameBytes;
    this.selfCheck();
  }

  get dpidText(): string {
    return this.cfg.dpid.toString(16).padStart(16, '0');
  }

  get outstanding(): number {
    return this.outstandingCount;
  }

  get closed(): string | undefined {
    return this.closedReason;
  }

  /** Connects and sends HELLO; resolves once the TCP connection is up. */
  connect(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      this.socket = s;
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', (err) => (this.closedReason ??= `socket error: ${err.message}`));
        this.send({ type: 'HELLO', xid: 1, version: OFP_VERSION, elements: [{ type: 'VERSIONBITMAP', bitmaps: [1 << OFP_VERSION] }] });
        resolve();
      });
      s.once('error', reject);
      s.on('data', (chunk) => this.receive(chunk));
      s.on('close', () => {
        this.closedReason ??= 'closed by the controller';
        this.stopTimers();
      });
    });
  }

  /**
   * Resolves when the controller has had our FEATURES_REPLY and then been quiet for a moment
   * (ours sends SET_CONFIG, PORT_DESC, the table-miss flow and a barrier in quick succession;
   * ovs-testcontroller only SET_CONFIG).
   */
  ready(timeoutMs: number): Promise<void> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const poll = (): void => {
        if (this.closedReason) return reject(new Error(`switch ${this.dpidText}: ${this.closedReason} during the handshake`));
        const now = performance.now();
        if (this.featuresAnswered && now - this.lastControlAt >= QUIET_MS) return resolve();
        if (now - started > timeoutMs) {
          return reject(new Error(`switch ${this.dpidText}: no handshake within ${timeoutMs} ms (FEATURES_REQUEST ${this.featuresAnswered ? 'answered' : 'never came'})`));
        }
        setTimeout(poll, 20);
      };
      poll();
    });
  }

  /**
   * Sends one broadcast ARP request from every host (W at a time, lost ones again) so that the
   * controller knows where every MAC lives. Resolves with how many hosts were not learned.
   */
  learn(window: number, timeoutMs: number): Promise<number> {
    this.learnQueue = this.hosts.map((_, i) => i);
    this.learned = 0;
    this.begin(Phase.Learn, window);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.onLearned = undefined;
        this.stop();
        resolve(this.hosts.length - this.learned);
      };
      this.onLearned = finish;
      if (this.learned === this.hosts.length) finish();
    });
  }

  /** Starts sending measurement traffic, keeping up to `window` packet-ins unanswered. */
  run(window: number): void {
    this.begin(Phase.Run, window);
  }

  /** Stops sending; what is outstanding may still be answered. */
  stop(): void {
    this.phase = Phase.Idle;
  }

  /** Forgets what is outstanding (between phases), so a late answer counts as late. */
  reset(): void {
    this.records.clear();
    this.byKey.clear();
    this.outstandingCount = 0;
  }

  close(): void {
    this.stop();
    this.stopTimers();
    this.closedReason ??= 'closed by the bench';
    this.socket?.destroy();
  }

  // --- sending -------------------------------------------------------------------------------

  private begin(phase: Phase, window: number): void {
    this.phase = phase;
    this.window = window;
    this.sweepTimer ??= setInterval(() => this.sweep(), SWEEP_MS);
    this.pump();
  }

  private stopTimers(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private send(msg: OfpMessage): void {
    if (!this.socket || this.socket.destroyed) return;
    this.socket.write(encode(msg));
  }

  /** Fills the window; one write per call (a burst of packet-ins is one TCP send). */
  private pump(): void {
    if (this.phase === Phase.Idle || !this.socket || this.closedReason) return;
    const out: Buffer[] = [];
    while (this.outstandingCount < this.window) {
      const b = this.phase === Phase.Learn ? this.nextLearn() : this.nextRun();
      if (!b) break;
      out.push(b);
    }
    if (out.length === 1) this.socket.write(out[0] as Buffer);
    else if (out.length > 1) this.socket.write(Buffer.concat(out));
  }

  private nextLearn(): Buffer | undefined {
    const h = this.learnQueue.shift();
    if (h === undefined) return undefined;
    return this.packetIn(h, undefined);
  }

  private nextRun(): Buffer {
    // Source walks over all hosts; destination is another known host, on another port (a
    // learning switch drops a packet for its own input port, and ovs-testcontroller then
    // sends nothing at all), shifting every round so the (src, dst) pairs vary.
    const m = this.hosts.length;
    const k = this.runK++;
    const s = k % m;
    let d = (s + 1 + (Math.floor(k / m) % (m - 1))) % m;
    const src = this.hosts[s] as Host;
    while (d === s || (this.hosts[d] as Host).port === src.port) d = (d + 1) % m;
    return this.packetIn(s, d);
  }

  private packetIn(srcIndex: number, dstIndex: number | undefined): Buffer {
    const seq = this.nextSeq;
    this.nextSeq = (this.nextSeq + 1) >>> 0 || 1;
    const src = this.hosts[srcIndex] as Host;
    const dst = dstIndex === undefined ? undefined : (this.hosts[dstIndex] as Host);
    const key = dst ? `${src.macText}|${dst.macText}` : undefined;
    const buf = this.buildPacketIn(seq, src, dst, dst ? this.cfg.frame : FrameKind.Arp);
    this.records.set(seq, { seq, sentAt: performance.now(), host: srcIndex, key, expectPort: dst ? dst.port : Port.FLOOD, answered: false, fm: false, po: false });
    if (key !== undefined) {
      const q = this.byKey.get(key);
      if (q) q.push(seq);
      else this.byKey.set(key, [seq]);
    }
    this.outstandingCount++;
    this.counters.sent++;
    return buf;
  }

  private buildPacketIn(seq: number, src: Host, dst: Host | undefined, kind: FrameKind): Buffer {
    const buf = Buffer.allocUnsafe(this.template.length);
    this.template.copy(buf);
    buf.writeUInt32BE(seq, 4); // xid
    buf.writeUInt32BE(src.port, this.inPortAt);
    writeFrame(buf, this.dataAt, this.cfg.frameBytes, kind, src, dst, seq);
    return buf;
  }

  /** The patched template must decode to the packet-in we mean; fails loudly otherwise. */
  private selfCheck(): void {
    const src = this.hosts[0] as Host;
    const dst = this.hosts[1] as Host;
    const buf = this.buildPacketIn(77, src, dst, this.cfg.frame);
    const r = decode(buf);
    const inPort = r.ok && r.message.type === 'PACKET_IN' ? r.message.match.find((f) => f.field === 'IN_PORT')?.value : undefined;
    if (this.inPortAt < 0 || !r.ok || r.message.type !== 'PACKET_IN' || r.message.xid !== 77 || inPort !== src.port || readTag(r.message.data) !== 77 || r.message.data.length !== this.cfg.frameBytes) {
      throw new Error(`packet-in template self-check failed: ${r.ok ? JSON.stringify({ type: r.message.type, inPort }) : r.error.message}`);
    }
  }

  // --- receiving -----------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    for (const r of this.framer.push(chunk)) {
      if (!r.ok) {
        this.counters.undecodable++;
        this.firstError ??= `undecodable: ${r.error.message}`;
        continue;
      }
      this.handle(r.message);
    }
    if (this.framer.failed) {
      this.closedReason ??= `stream cannot be framed: ${this.framer.failed.message}`;
      this.socket?.destroy();
      return;
    }
    this.pump();
  }

  private handle(msg: OfpMessage): void {
    if (msg.type === 'FLOW_MOD') return this.onFlowMod(msg);
    if (msg.type === 'PACKET_OUT') return this.onPacketOut(msg);
    this.lastControlAt = performance.now();
    // SET_CONFIG's miss_send_len is worth showing: it says whether the controller wants whole frames.
    const name = msg.type === 'SET_CONFIG' ? `SET_CONFIG(miss_send_len=${msg.missSendLen})` : msg.type;
    this.seen.set(name, (this.seen.get(name) ?? 0) + 1);
    switch (msg.type) {
      case 'HELLO':
        return;
      case 'FEATURES_REQUEST':
        this.send({
          type: 'FEATURES_REPLY',
          xid: msg.xid,
          datapathId: this.cfg.dpid,
          nBuffers: 0, // we never buffer: every packet-in carries the whole frame
          nTables: 254,
          auxiliaryId: 0,
          capabilities: Capabilities.FLOW_STATS | Capabilities.TABLE_STATS | Capabilities.PORT_STATS,
          reserved: 0,
        });
        this.featuresAnswered = true;
        return;
      case 'MULTIPART_REQUEST':
        if (msg.body.kind === 'PORT_DESC') {
          this.send({ type: 'MULTIPART_REPLY', xid: msg.xid, flags: 0, body: { kind: 'PORT_DESC', ports: this.portList } });
        } else if (msg.body.kind === 'DESC') {
          this.send({
            type: 'MULTIPART_REPLY',
            xid: msg.xid,
            flags: 0,
            body: { kind: 'DESC', mfrDesc: 'SDMI', hwDesc: 'bench/openflow emulated switch', swDesc: '0.1.0', serialNum: String(this.cfg.index), dpDesc: this.dpidText },
          });
        } else {
          this.refuse(msg.xid, ErrorCode.BAD_REQUEST.BAD_MULTIPART);
        }
        return;
      case 'BARRIER_REQUEST':
        // FLOW_MODs are not installed, so everything before the barrier is already "done".
        this.send({ type: 'BARRIER_REPLY', xid: msg.xid });
        return;
      case 'ECHO_REQUEST':
        this.send({ type: 'ECHO_REPLY', xid: msg.xid, data: msg.data });
        return;
      case 'GET_CONFIG_REQUEST':
        this.send({ type: 'GET_CONFIG_REPLY', xid: msg.xid, flags: 0, missSendLen: 0xffff });
        return;
      case 'ROLE_REQUEST':
        this.send({ type: 'ROLE_REPLY', xid: msg.xid, role: msg.role, generationId: msg.generationId });
        return;
      case 'ERROR':
        this.counters.errors++;
        this.firstError ??= `OFPT_ERROR ${msg.errorTypeName ?? msg.errorType}/${msg.codeName ?? msg.code} for xid ${msg.xid}`;
        return;
      case 'SET_CONFIG':
      case 'ECHO_REPLY':
        return;
      default:
        // Anything else a real switch would have to refuse; these controllers do not send it.
        this.refuse(msg.xid, ErrorCode.BAD_REQUEST.BAD_TYPE);
    }
  }

  private refuse(xid: number, code: number): void {
    this.send({ type: 'ERROR', xid, errorType: ErrorType.BAD_REQUEST, code, data: Buffer.alloc(0) });
  }

  private onFlowMod(msg: MessageOf<'FLOW_MOD'>): void {
    this.counters.flowMods++;
    let src: string | undefined;
    let dst: string | undefined;
    for (const f of msg.match) {
      if (f.field === 'ETH_SRC' && f.mask === undefined) src = f.value;
      else if (f.field === 'ETH_DST' && f.mask === undefined) dst = f.value;
    }
    if (src === undefined || dst === undefined) {
      // e.g. the table-miss flow of the handshake: not an answer to a packet-in.
      this.lastControlAt = performance.now();
      this.seen.set('FLOW_MOD (not for a packet-in)', (this.seen.get('FLOW_MOD (not for a packet-in)') ?? 0) + 1);
      return;
    }
    const q = this.byKey.get(`${src}|${dst}`);
    let rec: Outstanding | undefined;
    while (q && q.length > 0) {
      const r = this.records.get(q.shift() as number);
      if (r && !r.fm) {
        rec = r;
        break;
      }
    }
    if (!rec) {
      this.counters.late++;
      return;
    }
    rec.fm = true;
    this.counters.flowModsAnswering++;
    if (this.phase === Phase.Run) this.sampleFlowMod ??= msg;
    if (outputPort(msg.instructions.flatMap((i) => (i.type === 'APPLY_ACTIONS' || i.type === 'WRITE_ACTIONS' ? i.actions : []))) !== rec.expectPort) {
      this.counters.misdirected++;
    }
    this.answer(rec);
  }

  private onPacketOut(msg: MessageOf<'PACKET_OUT'>): void {
    this.counters.packetOuts++;
    const seq = readTag(msg.data);
    const rec = seq === undefined ? undefined : this.records.get(seq);
    if (!rec || rec.po) {
      this.counters.late++;
      return;
    }
    rec.po = true;
    this.counters.packetOutsAnswering++;
    if (this.phase === Phase.Run) this.samplePacketOut ??= msg;
    if (outputPort(msg.actions) !== rec.expectPort) this.counters.misdirected++;
    this.answer(rec);
  }

  private answer(rec: Outstanding): void {
    if (!rec.answered) {
      rec.answered = true;
      this.outstandingCount--;
      this.counters.answered++;
      if (this.recording) this.latencies.push(performance.now() - rec.sentAt);
      if (this.phase === Phase.Learn) {
        this.learned++;
        if (this.learned === this.hosts.length) this.onLearned?.();
      }
    }
    // Done with it once nothing more is expected: the packet-out (a learning switch sends it
    // last) and, for a known destination, the flow-mod.
    if (rec.po && (rec.fm || rec.key === undefined)) this.records.delete(rec.seq);
  }

  /** Gives up on packet-ins unanswered for lossTimeoutMs (their window slot is freed). */
  private sweep(): void {
    const limit = performance.now() - this.cfg.lossTimeoutMs;
    for (const rec of this.records.values()) {
      if (rec.sentAt > limit) break; // records are in send order
      this.records.delete(rec.seq);
      if (rec.key !== undefined && !rec.fm) {
        const q = this.byKey.get(rec.key);
        if (q && q[0] === rec.seq) q.shift();
      }
      if (!rec.answered) {
        this.counters.lost++;
        this.outstandingCount--;
        if (this.phase === Phase.Learn) this.learnQueue.push(rec.host);
      }
    }
    this.pump();
  }
}

function outputPort(actions: readonly { type: string; port?: number }[]): number | undefined {
  const out = actions.find((a) => a.type === 'OUTPUT');
  return out?.port;
}

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}
