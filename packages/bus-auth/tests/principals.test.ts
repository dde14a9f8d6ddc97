import { describe, expect, it } from 'vitest';
import { BusNames } from '@sdmi/bus';
import { narrowInbox, principalsFor, type Principal } from '../src/index';

const names = new BusNames('sdmi');
const all = principalsFor(names, ['host-a', 'host-b']);
const get = (name: string): Principal => {
  const p = all.find((x) => x.name === name);
  if (!p) throw new Error(`no principal ${name}`);
  return p;
};

/** Whether a NATS subject matches an allow entry (`*` one token, `>` the rest). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}
const mayPublish = (who: string, subject: string) => get(who).permissions.publish.some((p) => matches(p, subject));
const maySubscribe = (who: string, subject: string) => get(who).permissions.subscribe.some((p) => matches(p, subject));

describe('principalsFor', () => {
  it('lists each service, one node-agent per node, admin and viewer', () => {
    expect(all.map((p) => p.name)).toEqual(['scheduler', 'network-controller', 'switch-agent', 'metrics-collector', 'dns-manager', 'node-agent-host-a', 'node-agent-host-b', 'admin', 'viewer']);
    expect(get('node-agent-host-b').node).toBe('host-b');
  });

  it('a service serves its own RDMP subjects and no other service’s', () => {
    expect(maySubscribe('network-controller', 'sdmi.cmd.network-controller')).toBe(true);
    expect(maySubscribe('network-controller', 'sdmi.query.network-controller.listNetworks')).toBe(true);
    expect(mayPublish('network-controller', 'sdmi.task.network-controller.q')).toBe(true);
    expect(mayPublish('network-controller', 'sdmi.evt.task.network-controller.6a1b')).toBe(true);
    expect(maySubscribe('network-controller', 'sdmi.cmd.scheduler')).toBe(false);
    expect(mayPublish('network-controller', 'sdmi.task.scheduler.q')).toBe(false);
    expect(mayPublish('network-controller', 'sdmi.evt.task.scheduler.6a1b')).toBe(false);
    expect(mayPublish('network-controller', '$JS.API.CONSUMER.MSG.NEXT.SDMI_TASKS.network-controller-q')).toBe(true);
    expect(mayPublish('network-controller', '$JS.API.CONSUMER.MSG.NEXT.SDMI_TASKS.scheduler-q')).toBe(false);
    expect(mayPublish('network-controller', '$JS.ACK.SDMI_TASKS.network-controller-q.1.2.3.4.0')).toBe(true);
    expect(mayPublish('network-controller', '$JS.ACK.SDMI_TASKS.scheduler-q.1.2.3.4.0')).toBe(false);
    expect(mayPublish('network-controller', '$JS.API.STREAM.DELETE.SDMI_TASKS')).toBe(false);
  });

  it('only the services that call another may submit to it', () => {
    expect(mayPublish('scheduler', 'sdmi.cmd.network-controller')).toBe(true);
    expect(mayPublish('scheduler', 'sdmi.cmd.node-host-a')).toBe(true);
    expect(mayPublish('scheduler', 'sdmi.cmd.node-host-c')).toBe(false);
    expect(mayPublish('metrics-collector', 'sdmi.cmd.scheduler')).toBe(true);
    expect(mayPublish('metrics-collector', 'sdmi.cmd.network-controller')).toBe(false);
    expect(mayPublish('dns-manager', 'sdmi.cmd.scheduler')).toBe(false);
    expect(mayPublish('dns-manager', 'sdmi.query.scheduler.listReplicas')).toBe(true);
    // switch-agent reads the networks and follows the network-controller's tasks, and changes none.
    expect(mayPublish('switch-agent', 'sdmi.query.network-controller.listNetworks')).toBe(true);
    expect(maySubscribe('switch-agent', 'sdmi.evt.task.network-controller.6a1b')).toBe(true);
    expect(maySubscribe('switch-agent', 'sdmi.query.switch-agent.listSwitches')).toBe(true);
    expect(mayPublish('switch-agent', 'sdmi.cmd.network-controller')).toBe(false);
    for (const who of ['network-controller', 'switch-agent', 'node-agent-host-a', 'viewer']) {
      expect(mayPublish(who, 'sdmi.cmd.scheduler'), who).toBe(false);
    }
  });

  it('a node-agent speaks for its own node only', () => {
    expect(mayPublish('node-agent-host-a', 'sdmi.evt.node.host-a.status')).toBe(true);
    expect(mayPublish('node-agent-host-a', 'sdmi.evt.node.host-b.status')).toBe(false);
    expect(mayPublish('node-agent-host-a', 'sdmi.metrics.node.host-a')).toBe(true);
    expect(mayPublish('node-agent-host-a', 'sdmi.metrics.node.host-b')).toBe(false);
    expect(mayPublish('node-agent-host-a', 'sdmi.metrics.network.host-a')).toBe(false);
    expect(maySubscribe('node-agent-host-a', 'sdmi.cmd.node-host-a')).toBe(true);
    expect(maySubscribe('node-agent-host-a', 'sdmi.cmd.node-host-b')).toBe(false);
    expect(mayPublish('node-agent-host-a', '$JS.API.CONSUMER.MSG.NEXT.SDMI_TASKS.node-host-b-q')).toBe(false);
  });

  it('metrics: node-agents and the network-controller publish them, the collector reads them', () => {
    expect(maySubscribe('metrics-collector', 'sdmi.metrics.container.acme_web-1_rev1_1')).toBe(true);
    expect(mayPublish('metrics-collector', 'sdmi.evt.metrics.scale.acme.web')).toBe(true);
    expect(mayPublish('scheduler', 'sdmi.evt.metrics.scale.acme.web')).toBe(false);
    expect(maySubscribe('scheduler', 'sdmi.metrics.node.host-a')).toBe(false);
    expect(mayPublish('network-controller', 'sdmi.metrics.network.host-a')).toBe(true);
    expect(mayPublish('network-controller', 'sdmi.metrics.container.x')).toBe(false);
  });

  it('viewer reads but does not command; admin does everything under the prefix', () => {
    expect(mayPublish('viewer', 'sdmi.query.scheduler.listServices')).toBe(true);
    expect(mayPublish('viewer', 'sdmi.q.scheduler.task')).toBe(true);
    expect(maySubscribe('viewer', 'sdmi.evt.task.scheduler.x')).toBe(true);
    expect(mayPublish('viewer', 'sdmi.task.scheduler.q')).toBe(false);
    expect(mayPublish('viewer', '$JS.API.STREAM.DELETE.SDMI_EVENTS')).toBe(false);
    expect(mayPublish('admin', 'sdmi.cmd.scheduler')).toBe(true);
    expect(mayPublish('admin', 'other.cmd.scheduler')).toBe(false);
  });

  it('the event feed: every RDMP server hears <p>.follow and may send into inboxes; a named user may ask and not read events', () => {
    const users = principalsFor(new BusNames('sdmi'), ['host-a'], ['alice']);
    const can = (name: string, verb: 'publish' | 'subscribe', subject: string) => users.find((x) => x.name === name)!.permissions[verb].some((p) => matches(p, subject));
    for (const svc of ['scheduler', 'network-controller', 'switch-agent', 'metrics-collector', 'dns-manager', 'node-agent-host-a']) {
      expect(can(svc, 'subscribe', 'sdmi.follow'), svc).toBe(true);
      expect(can(svc, 'publish', '_INBOX.UALICE.abc.ev'), svc).toBe(true);
    }
    expect(can('alice', 'publish', 'sdmi.follow')).toBe(true);
    expect(can('alice', 'subscribe', 'sdmi.evt.task.scheduler.x')).toBe(false);
    expect(can('alice', 'subscribe', 'sdmi.follow')).toBe(false);
  });

  it('services answer requests; users do not', () => {
    for (const p of all) expect(p.permissions.allowResponses, p.name).toBe(p.kind !== 'user');
    for (const p of all) expect(p.permissions.subscribe, p.name).toContain('_INBOX.>');
  });

  it('narrowInbox gives a principal its own inbox instead of every inbox', () => {
    const p = narrowInbox(get('scheduler').permissions, '_INBOX.UABC');
    expect(p.subscribe).toContain('_INBOX.UABC.>');
    expect(p.subscribe).not.toContain('_INBOX.>');
    expect(p.publish).toEqual(get('scheduler').permissions.publish);
  });

  it('subjects follow the prefix', () => {
    const other = principalsFor(new BusNames('c2'), []);
    const nc = other.find((p) => p.name === 'network-controller')!;
    expect(nc.permissions.subscribe).toContain('c2.cmd.network-controller');
    expect(nc.permissions.publish.some((s) => s.startsWith('sdmi.') && !s.startsWith('sdmi.svc.'))).toBe(false);
  });

  it('refuses node names that are not one subject token, and duplicates', () => {
    expect(() => principalsFor(names, ['host.a'])).toThrow(/subject token/);
    expect(() => principalsFor(names, ['host-a', 'host-a'])).toThrow(/twice/);
  });
});
