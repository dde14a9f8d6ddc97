// The feed's rules as pure logic (who gets which event, for how long). That it works end to end,
// on a real nats-server with auth and the real services, is tested in packages/access/tests.
import { describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/nats-core';
import type { TaskStatusEvent } from '@sdmi/contracts';
import pino from 'pino';
import { EventFeed } from '../src/event-feed';

function feed(max?: number) {
  let now = 1_000;
  const sent: { inbox: string; ev: TaskStatusEvent }[] = [];
  // Only publish is used: a recorder of what would be sent, not a stand-in for a server.
  const nc = { publish: (inbox: string, body: string) => sent.push({ inbox, ev: JSON.parse(body) as TaskStatusEvent }) } as unknown as NatsConnection;
  const f = new EventFeed({ nc, log: pino({ level: 'silent' }), now: () => now, ...(max !== undefined ? { maxFollowers: max } : {}) });
  return { f, sent, tick: (ms: number) => (now += ms) };
}

const ev = (service: string, taskId: string): TaskStatusEvent => ({ taskId, service, kind: 'createNetworks', key: 'networks', endpoint: '', status: 'completed', at: '2026-12-03T00:00:00.000Z' });
const acmeReader = (t: string | undefined) => t === 'acme';
const all = () => true;

describe('EventFeed', () => {
  it("sends a tenant's task to that tenant's readers, a cluster task to readers of all only", () => {
    const { f, sent } = feed();
    f.follow('user:bob', acmeReader, { inbox: '_INBOX.B.1.ev', ttlMs: 5000 });
    f.follow('user:erin', all, { inbox: '_INBOX.E.1.ev', ttlMs: 5000 });
    f.forward(ev('network-controller', 'a'), ['acme']);
    f.forward(ev('network-controller', 'b'), ['beta']);
    f.forward(ev('network-controller', 'c'), []);
    f.forward(ev('network-controller', 'd'), ['beta', 'acme']);
    expect(sent.filter((s) => s.inbox === '_INBOX.B.1.ev').map((s) => s.ev.taskId)).toEqual(['a', 'd']);
    expect(sent.filter((s) => s.inbox === '_INBOX.E.1.ev').map((s) => s.ev.taskId)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('forgets a follower at its TTL unless renewed, at once with ttlMs 0, and filters by service', () => {
    const { f, sent, tick } = feed();
    expect(f.follow('user:bob', all, { inbox: '_INBOX.B.1.ev', ttlMs: 5000 })).toEqual({ until: 6000 });
    f.follow('user:bob', all, { inbox: '_INBOX.B.2.ev', ttlMs: 5000, services: ['scheduler'] });
    tick(4000);
    f.forward(ev('network-controller', 'a'), []);
    expect(f.follow('user:bob', all, { inbox: '_INBOX.B.1.ev', ttlMs: 5000 })).toEqual({ until: 10_000 }); // renewed
    tick(2000);
    f.forward(ev('scheduler', 'b'), []); // B.2 expired at 6000; B.1 lives
    expect(f.follow('user:bob', all, { inbox: '_INBOX.B.1.ev', ttlMs: 0 })).toEqual({ until: null });
    f.forward(ev('scheduler', 'c'), []);
    expect(sent.map((s) => `${s.inbox}:${s.ev.taskId}`)).toEqual(['_INBOX.B.1.ev:a', '_INBOX.B.1.ev:b']);
    expect(f.size).toBe(0);
  });

  it('refuses a follower past its limit, but renews one it has', () => {
    const { f } = feed(1);
    f.follow('user:bob', all, { inbox: '_INBOX.B.1.ev', ttlMs: 5000 });
    expect(f.follow('user:bob', all, { inbox: '_INBOX.B.1.ev', ttlMs: 5000 })).toEqual({ until: 6000 });
    expect(f.follow('user:erin', all, { inbox: '_INBOX.E.1.ev', ttlMs: 5000 })).toMatchObject({ error: { code: 'UNAVAILABLE', path: '/inbox', rule: 'maxFollowers' } });
  });
});
