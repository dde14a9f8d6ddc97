import { AckPolicy, JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import type { ConsumerConfig, JetStreamManager, StreamConfig } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { testName } from './names';
import { Resource } from './resource';

/** NATS URL of the test components: `SDMI_NATS_URL`, else `nats://127.0.0.1:4222`. */
export function natsUrl(): string {
  return process.env.SDMI_NATS_URL ?? 'nats://127.0.0.1:4222';
}

export interface StreamOptions {
  /** Subjects the stream captures; default `<stream name>.>`. */
  subjects?: string[];
  /** Further stream settings (storage, retention, duplicate_window …). */
  config?: Partial<Omit<StreamConfig, 'name' | 'subjects'>>;
  /** Also create a durable consumer: `true` for explicit-ack defaults, or its settings. */
  consumer?: boolean | Partial<ConsumerConfig>;
  /** Overrides {@link natsUrl}. */
  url?: string;
}

/**
 * A JetStream stream `sdmi-<tag>-s<n>` (and optionally a durable consumer `<stream>-c`) on its own
 * connection. Dispose deletes the stream, with its consumers and messages, and closes the connection.
 */
export class TestStream extends Resource {
  private constructor(
    readonly name: string,
    readonly subjects: readonly string[],
    readonly consumer: string | undefined,
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {
    super();
  }

  static async create(options: StreamOptions = {}): Promise<TestStream> {
    const name = testName('s');
    const subjects = options.subjects ?? [`${name}.>`];
    const nc = await connect({ servers: options.url ?? natsUrl(), name: `sdmi-testbed ${name}` });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ ...options.config, name, subjects });
      let consumer: string | undefined;
      if (options.consumer) {
        const extra = options.consumer === true ? {} : options.consumer;
        const info = await jsm.consumers.add(name, {
          durable_name: `${name}-c`,
          ack_policy: AckPolicy.Explicit,
          ...extra,
        });
        consumer = info.name;
      }
      return new TestStream(name, subjects, consumer, nc, jsm);
    } catch (e) {
      await deleteStream(nc, name).catch(() => {});
      await nc.close();
      throw e;
    }
  }

  protected async teardown(): Promise<void> {
    try {
      await deleteStream(this.nc, this.name);
    } finally {
      await this.nc.close();
    }
  }
}

/** Deletes a stream; a stream that is already gone is fine. */
export async function deleteStream(nc: NatsConnection, name: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.delete(name);
  } catch (e) {
    if (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound) return;
    throw e;
  }
}

/** Creates a {@link TestStream}. */
export function createStream(options?: StreamOptions): Promise<TestStream> {
  return TestStream.create(options);
}
