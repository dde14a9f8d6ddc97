import { Dnsdist } from './dnsdist';
import type { DnsdistOptions } from './dnsdist';
import { DockerHost } from './docker';
import type { DockerEndpoint, DockerHostOptions } from './docker';
import { AlreadyDisposed, TeardownFailed } from './errors';
import { buildBaseImage } from './images';
import type { BaseImageOptions } from './images';
import { inventory } from './inventory';
import type { Inventory } from './inventory';
import { TestStream } from './jetstream';
import type { StreamOptions } from './jetstream';
import { runId } from './names';
import { NatsServer } from './nats-server';
import type { NatsServerOptions } from './nats-server';
import { Netconfd } from './netconfd';
import type { NetconfdOptions } from './netconfd';
import { NetNamespace } from './netns';
import type { NamespaceOptions } from './netns';
import { OvsBridge } from './ovs';
import type { BridgeOptions } from './ovs';
import { OvsInNamespace } from './ovs-netns';
import type { OvsHostOptions } from './ovs-netns';
import { PowerDns } from './powerdns';
import type { PowerDnsOptions } from './powerdns';
import { TestDatabase } from './postgres';
import type { DatabaseOptions } from './postgres';
import { SoftHsmToken } from './softhsm';
import type { SoftHsmTokenOptions } from './softhsm';

/** Anything the Testbed can dispose: a resource, or a cleanup registered with `defer`. */
export interface Disposer {
  readonly name: string;
  dispose(): Promise<void>;
}

/**
 * Creates test resources and keeps track of them; `dispose()` (or `await using`) disposes them in
 * reverse order of creation, tries every one even when some fail, and then throws TeardownFailed
 * listing the failures. Typical use: one Testbed per test file, disposed in `afterAll`, or one per
 * test with `await using tb = new Testbed()`.
 */
export class Testbed implements AsyncDisposable {
  readonly tag = runId();
  readonly #tracked: Disposer[] = [];
  #disposal: Promise<void> | undefined;

  /** What is currently tracked, oldest first. */
  get resources(): readonly Disposer[] {
    return [...this.#tracked];
  }

  /** Tracks a resource made elsewhere; it will be disposed with the Testbed. */
  track<T extends Disposer>(resource: T): T {
    if (this.#disposal) throw new AlreadyDisposed(`Testbed ${this.tag}`);
    this.#tracked.push(resource);
    return resource;
  }

  /** Registers a cleanup function, run at disposal in reverse order with the resources. */
  defer(name: string, cleanup: () => unknown): void {
    this.track({ name, dispose: async () => void (await cleanup()) });
  }

  stream(options?: StreamOptions): Promise<TestStream> {
    return this.#add(TestStream.create(options));
  }

  database(options?: DatabaseOptions): Promise<TestDatabase> {
    return this.#add(TestDatabase.create(options));
  }

  bridge(options?: BridgeOptions): Promise<OvsBridge> {
    return this.#add(OvsBridge.create(options));
  }

  namespace(options?: NamespaceOptions): Promise<NetNamespace> {
    return this.#add(NetNamespace.create(options));
  }

  dockerHost(options?: DockerHostOptions): Promise<DockerHost> {
    return this.#add(DockerHost.start(options));
  }

  /** A complete Open vSwitch (ovsdb-server + ovs-vswitchd) in its own network namespace. */
  ovsHost(options?: OvsHostOptions): Promise<OvsInNamespace> {
    return this.#add(OvsInNamespace.create(options));
  }

  /** A PowerDNS Authoritative Server of its own (gsqlite3, DNSSEC, HTTP API) on loopback ports. */
  powerDns(options?: PowerDnsOptions): Promise<PowerDns> {
    return this.#add(PowerDns.start(options));
  }

  /** A dnsdist of its own: DNS over TLS (self-signed certificate) on a loopback port, in front of `backend`. */
  dnsdist(options: DnsdistOptions): Promise<Dnsdist> {
    return this.#add(Dnsdist.start(options));
  }

  /** A nats-server of its own with the caller's config (auth, JetStream) on a run-unique loopback port. */
  natsServer(options: NatsServerOptions): Promise<NatsServer> {
    return this.#add(NatsServer.start(options));
  }

  /** A real NETCONF server of its own: netconfd (yuma123) behind an sshd of its own, on a loopback port. */
  netconfd(options: NetconfdOptions): Promise<Netconfd> {
    return this.#add(Netconfd.start(options));
  }

  /** A SoftHSM v2 token of its own (config, token directory, PIN file) holding an Ed25519 key pair. */
  softHsmToken(options?: SoftHsmTokenOptions): Promise<SoftHsmToken> {
    return this.#add(SoftHsmToken.create(options));
  }

  /** Builds (or finds) the busybox base image on a daemon; images are not removed at disposal. */
  baseImage(endpoint: DockerEndpoint, options?: BaseImageOptions): Promise<string> {
    return buildBaseImage(endpoint, options);
  }

  /** The resources of this run that still exist (see {@link inventory}). */
  inventory(): Promise<Inventory> {
    return inventory({ tag: this.tag });
  }

  async #add<T extends Disposer>(pending: Promise<T>): Promise<T> {
    const resource = await pending;
    if (this.#disposal) {
      // Disposed while this was being created: do not leak it.
      await resource.dispose();
      throw new AlreadyDisposed(`Testbed ${this.tag}`);
    }
    return this.track(resource);
  }

  dispose(): Promise<void> {
    this.#disposal ??= this.#teardown();
    return this.#disposal;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  async #teardown(): Promise<void> {
    const errors: unknown[] = [];
    while (this.#tracked.length) {
      const r = this.#tracked.pop()!;
      try {
        await r.dispose();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw new TeardownFailed(errors);
  }
}
