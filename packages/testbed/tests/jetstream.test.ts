import { JetStreamApiError, jetstream } from '@nats-io/jetstream';
import { afterAll, describe, expect, it } from 'vitest';
import { TestStream, createStream } from '../src/index';
import { expectNothingLeft } from './leak-check';

describe('JetStream stream fixture', () => {
  afterAll(expectNothingLeft);

  it('creates a stream and a durable consumer with unique names, deletes them on dispose', async () => {
    const stream = await createStream({ consumer: true });
    try {
      expect(stream.subjects).toEqual([`${stream.name}.>`]);
      const js = jetstream(stream.nc);
      const ack = await js.publish(`${stream.name}.hello`, 'world');
      expect(ack.stream).toBe(stream.name);
      const info = await stream.jsm.streams.info(stream.name);
      expect(info.state.messages).toBe(1);
      const consumer = await stream.jsm.consumers.info(stream.name, stream.consumer!);
      expect(consumer.num_pending).toBe(1);
      const msg = await (await js.consumers.get(stream.name, stream.consumer!)).next({ expires: 5_000 });
      expect(msg?.string()).toBe('world');
      msg?.ack();
    } finally {
      await stream.dispose();
    }
    expect(stream.disposed).toBe(true);
    // a new connection sees the stream gone
    const other = await createStream();
    try {
      await expect(other.jsm.streams.info(stream.name)).rejects.toBeInstanceOf(JetStreamApiError);
    } finally {
      await other.dispose();
    }
  });

  it('await using disposes the stream when the block throws', async () => {
    let name = '';
    const probe = await TestStream.create();
    try {
      await expect(
        (async () => {
          await using s = await createStream({ config: { max_msgs: 10 } });
          name = s.name;
          throw new Error('test failed half way');
        })(),
      ).rejects.toThrow('test failed half way');
      await expect(probe.jsm.streams.info(name)).rejects.toBeInstanceOf(JetStreamApiError);
    } finally {
      await probe.dispose();
    }
  });

  it('dispose is idempotent', async () => {
    const s = await createStream();
    await Promise.all([s.dispose(), s.dispose()]);
    await s.dispose();
  });
});
