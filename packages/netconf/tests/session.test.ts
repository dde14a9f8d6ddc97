// NetconfSession over an in-memory stream, against a scripted server: the hello and the framing
// switch, replies matched by message-id, warnings, and how a broken server ends the session.
import { duplexPair, type Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  BASE_1_0,
  BASE_1_1,
  Deframer,
  FramingError,
  NUDGE_MS,
  NetconfSession,
  ProtocolError,
  RpcError,
  RpcTimeout,
  SessionClosed,
  encodeChunked,
  encodeEom,
  parseXml,
} from '@sdmi/netconf';

const NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const hello = (caps: string[], sid = 7) =>
  `<hello xmlns="${NS}"><capabilities>${caps.map((c) => `<capability>${c}</capability>`).join('')}</capabilities><session-id>${sid}</session-id></hello>`;
const ok = (id: string) => `<rpc-reply message-id="${id}" xmlns="${NS}"><ok/></rpc-reply>`;

/** A scripted server on the other end: collects the client's messages, in the framing it says. */
class FakeServer {
  readonly messages: string[] = [];
  readonly deframer = new Deframer('eom');
  #waiters: (() => void)[] = [];
  constructor(
    readonly end: Duplex,
    readonly caps: readonly string[],
  ) {
    end.on('data', (d: Buffer) => {
      this.deframer.push(d);
      for (let m = this.deframer.next(); m !== undefined; m = this.deframer.next()) {
        this.messages.push(m);
        if (this.messages.length === 1 && m.includes(BASE_1_1) && caps.includes(BASE_1_1)) this.deframer.framing = 'chunked';
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }
  async message(n: number): Promise<string> {
    while (this.messages.length <= n) await new Promise<void>((r) => this.#waiters.push(r));
    return this.messages[n]!;
  }
  async messageId(n: number): Promise<string> {
    const doc = parseXml(await this.message(n)) as { rpc: Record<string, string> };
    return doc.rpc['@_message-id']!;
  }
  send(bytes: Buffer | string): void {
    this.end.write(bytes);
  }
}

/** A session on a scripted server; without the first probe unless asked (the tests below script every message). */
async function start(clientCaps?: string[], serverCaps = [BASE_1_0, BASE_1_1], timeoutMs = 5_000, probe = false) {
  const [client, server] = duplexPair();
  const srv = new FakeServer(server, serverCaps);
  const opening = NetconfSession.open(client, { capabilities: clientCaps, timeoutMs, probe });
  return { srv, opening };
}

describe('NetconfSession on a scripted server', () => {
  it('sends its hello, reads the server hello, and switches both ways to chunked framing', async () => {
    const { srv, opening } = await start();
    const ourHello = await srv.message(0);
    expect(ourHello).toContain(`<capability>${BASE_1_0}</capability><capability>${BASE_1_1}</capability>`);
    // the server's hello and the first bytes of a chunked message in one read
    srv.send(Buffer.concat([encodeEom(hello([BASE_1_0, BASE_1_1], 42)), Buffer.from('\n#3\n<rp')]));
    const s = await opening;
    expect(s.sessionId).toBe(42);
    expect(s.framing).toBe('chunked');
    const reply = s.lock('candidate');
    const id = await srv.messageId(1); // the server deframed it as chunked
    expect(id).toBe('1');
    // the rest of that reply ("<rp" was its first chunk), in chunks of 5 cut across two reads
    const rest = encodeChunked(`c-reply message-id="${id}" xmlns="${NS}"><ok/></rpc-reply>`, 5);
    srv.send(rest.subarray(0, 9));
    srv.send(rest.subarray(9));
    await expect(reply).resolves.toMatchObject({ warnings: [] });
  });

  it('is ready only once the server has answered the probe, which it sends again while unanswered; an rpc-error answers too', async () => {
    const { srv, opening } = await start(undefined, undefined, 5_000, true);
    await srv.message(0);
    srv.send(encodeEom(hello([BASE_1_0, BASE_1_1])));
    let ready = false;
    void opening.then(() => (ready = true));
    const probe = await srv.message(1);
    expect(parseXml(probe)).toMatchObject({ rpc: { 'get-config': { source: { running: '' }, filter: { '@_type': 'subtree' } } } });
    expect(probe).toContain('<filter type="subtree"');
    // Unanswered, the same request again: a server that sat on the first one reads it now.
    const t0 = Date.now();
    const again = await srv.message(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(NUDGE_MS - 100);
    expect(again.replace(/message-id="\d+"/, '')).toBe(probe.replace(/message-id="\d+"/, ''));
    expect(ready).toBe(false);
    srv.send(
      encodeChunked(
        `<rpc-reply message-id="${await srv.messageId(1)}" xmlns="${NS}"><rpc-error><error-type>protocol</error-type><error-tag>operation-not-supported</error-tag><error-severity>error</error-severity></rpc-error></rpc-reply>`,
      ),
    );
    const s = await opening;
    // The nudge's reply, when it comes, is taken and dropped; the session goes on.
    srv.send(encodeChunked(`<rpc-reply message-id="${await srv.messageId(2)}" xmlns="${NS}"><data/></rpc-reply>`));
    const p = s.discardChanges();
    expect(await srv.messageId(3)).toBe('3');
    srv.send(encodeChunked(ok('3')));
    await expect(p).resolves.toMatchObject({ warnings: [] });
    s.destroy();
  });

  it('stays on end-of-message framing when one side lacks base:1.1', async () => {
    const { srv, opening } = await start([BASE_1_0, BASE_1_1], [BASE_1_0]);
    await srv.message(0);
    srv.send(encodeEom(hello([BASE_1_0])));
    const s = await opening;
    expect(s.framing).toBe('eom');
    const p = s.discardChanges();
    srv.send(encodeEom(ok(await srv.messageId(1))));
    await p;
  });

  it('matches replies by message-id whatever their order, and keeps warnings apart from errors', async () => {
    const { srv, opening } = await start([BASE_1_0]);
    await srv.message(0);
    srv.send(encodeEom(hello([BASE_1_0])));
    const s = await opening;
    const a = s.lock('candidate');
    const b = s.unlock('candidate');
    const idA = await srv.messageId(1);
    const idB = await srv.messageId(2);
    srv.send(
      encodeEom(
        `<rpc-reply message-id="${idB}" xmlns="${NS}"><rpc-error><error-type>protocol</error-type><error-tag>operation-failed</error-tag><error-severity>warning</error-severity><error-message>just so you know</error-message></rpc-error><ok/></rpc-reply>`,
      ),
    );
    srv.send(
      encodeEom(
        `<rpc-reply message-id="${idA}" xmlns="${NS}"><rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity><error-info><session-id>3</session-id></error-info></rpc-error><rpc-error><error-type>application</error-type><error-tag>in-use</error-tag><error-severity>error</error-severity></rpc-error></rpc-reply>`,
      ),
    );
    expect((await b).warnings).toEqual([{ type: 'protocol', tag: 'operation-failed', severity: 'warning', message: 'just so you know' }]);
    const e = await a.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RpcError);
    expect(e).toMatchObject({ operation: 'lock', type: 'protocol', tag: 'lock-denied', info: { 'session-id': '3' } });
    expect((e as RpcError).errors.map((x) => x.tag)).toEqual(['lock-denied', 'in-use']);
    expect((e as RpcError).message).toMatch(/lock: protocol\/lock-denied and 1 more/);
  });

  it('a malformed chunk header from the server ends the session with a FramingError', async () => {
    const { srv, opening } = await start(undefined, [BASE_1_1]);
    await srv.message(0);
    srv.send(encodeEom(hello([BASE_1_1])));
    const s = await opening;
    const p = s.getConfig('running');
    await srv.message(1);
    srv.send('\n#0x10\n<rpc-reply/>');
    await expect(p).rejects.toBeInstanceOf(FramingError);
    expect(s.closed).toBe(true);
    await expect(s.get()).rejects.toBeInstanceOf(FramingError);
  });

  it('refuses a server with no base version in common, and one that does not start with a hello', async () => {
    const one = await start([BASE_1_1], [BASE_1_0]);
    await one.srv.message(0);
    one.srv.send(encodeEom(hello([BASE_1_0])));
    await expect(one.opening).rejects.toThrow(/no NETCONF base version in common/);
    const two = await start();
    await two.srv.message(0);
    two.srv.send(encodeEom(ok('1')));
    await expect(two.opening).rejects.toBeInstanceOf(ProtocolError);
  });

  it('times out a reply that does not come, and rejects what is in flight when the stream closes', async () => {
    const { srv, opening } = await start([BASE_1_0], undefined, 300);
    await srv.message(0);
    srv.send(encodeEom(hello([BASE_1_0])));
    const s = await opening;
    await expect(s.validate('candidate')).rejects.toBeInstanceOf(RpcTimeout);
    const p = s.commit();
    await srv.message(2);
    srv.end.end();
    await expect(p).rejects.toBeInstanceOf(SessionClosed);
  });
});
