// Test helpers for the fast tier: a clock moved by hand and a scripted switch on an in-memory transport.
import { decode, encode, MultipartFlags, type OfpMessage } from '@sdmi/openflow';
import type { Clock, Transport } from '../src/index';

export class ManualClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  now() {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number) {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number) {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

/** The switch's side of an in-memory transport: what the controller sent, and a way to answer. */
export class Peer implements Transport {
  readonly remote = 'peer:1';
  sent: OfpMessage[] = [];
  closed = false;
  private data?: (c: Uint8Array) => void;
  private close_?: (err?: Error) => void;
  write(data: Uint8Array) {
    const r = decode(data);
    if (!r.ok) throw r.error;
    this.sent.push(r.message);
  }
  close() {
    this.closed = true;
  }
  onData(cb: (c: Uint8Array) => void) {
    this.data = cb;
  }
  onClose(cb: (err?: Error) => void) {
    this.close_ = cb;
  }
  /** Delivers messages to the controller, all coalesced into one chunk, then split in two. */
  deliver(...msgs: OfpMessage[]) {
    const bytes = Buffer.concat(msgs.map((m) => encode(m)));
    const cut = Math.floor(bytes.length / 2) + 1;
    this.data!(bytes.subarray(0, cut));
    this.data!(bytes.subarray(cut));
  }
  raw(bytes: Uint8Array) {
    this.data!(bytes);
  }
  hangUp() {
    this.close_!();
  }
  last<T extends OfpMessage['type']>(type: T): Extract<OfpMessage, { type: T }> {
    const m = [...this.sent].reverse().find((x) => x.type === type);
    if (!m) throw new Error(`controller sent no ${type}`);
    return m as Extract<OfpMessage, { type: T }>;
  }
}


const flush = () => new Promise((r) => setImmediate(r));

/** Plays the switch's part of the handshake: datapath 0xa1, ports 1 and 2 in two multipart parts. */
export async function handshake(peer: Peer) {
  peer.deliver({ type: 'HELLO', xid: 1, version: 4, elements: [{ type: 'VERSIONBITMAP', bitmaps: [0b11010] }] });
  await flush();
  const fr = peer.last('FEATURES_REQUEST');
  peer.deliver({ type: 'FEATURES_REPLY', xid: fr.xid, datapathId: 0xa1n, nBuffers: 0, nTables: 254, auxiliaryId: 0, capabilities: 0x4f, reserved: 0 });
  await flush();
  const pd = peer.last('MULTIPART_REQUEST');
  const port = (portNo: number, name: string) => ({ portNo, hwAddr: '02:00:00:00:00:0' + portNo, name, config: 0, state: 4, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 });
  // Two parts: the first flagged MORE, as a switch with many ports sends them.
  peer.deliver(
    { type: 'MULTIPART_REPLY', xid: pd.xid, flags: MultipartFlags.MORE, body: { kind: 'PORT_DESC', ports: [port(1, 'p1')] } },
    { type: 'MULTIPART_REPLY', xid: pd.xid, flags: 0, body: { kind: 'PORT_DESC', ports: [port(2, 'p2')] } },
  );
  await flush();
}

