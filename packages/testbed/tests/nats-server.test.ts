import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { DaemonNotReady, describeInventory, inventory, ownerAlive, startNatsServer, sweepLeftovers } from '../src/index';
import { crashedRunTag } from './crashed-run';
import { expectNothingLeft } from './leak-check';

const fixture = fileURLToPath(new URL('./fixtures/crashing-nats-server.ts', import.meta.url));

afterAll(expectNothingLeft);

describe('NatsServer', () => {
  it('runs the caller’s config on its own loopback port and store, and goes away on dispose', async () => {
    const s = await startNatsServer({ config: (at) => `listen: "${at.host}:${at.port}"\nserver_name: "probe"\njetstream { store_dir: "${at.storeDir}" }\n` });
    try {
      expect(s.port).not.toBe(4222);
      expect(readFileSync(s.configFile, 'utf8')).toContain(`listen: "127.0.0.1:${s.port}"`);
      const nc = await connect({ servers: s.url });
      expect(nc.info?.server_name).toBe('probe');
      expect(nc.info?.jetstream).toBe(true);
      await nc.close();
      const mine = (await inventory()).processes.filter((p) => p.argv.some((arg) => arg.includes(s.dir)));
      expect(mine.map((p) => p.pid)).toEqual([s.pid]);
    } finally {
      await s.dispose();
    }
    expect(existsSync(s.dir)).toBe(false);
  });

  it('a config the server refuses is a DaemonNotReady with its log, and nothing is left', async () => {
    const err = await startNatsServer({ config: () => 'listen: "127.0.0.1:1"\nno_such_option_at_all {\n' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonNotReady);
    expect((err as DaemonNotReady).message).toMatch(/nats-server exited/);
  });

  it('is swept with its directory when the run that started it is SIGKILLed', async () => {
    const tag = await crashedRunTag(fixture);
    expect(ownerAlive(tag)).toBe(false);
    const left = await inventory({ tag, databases: false, streams: false });
    expect(left.processes.map((p) => p.argv[0])).toEqual(['/usr/sbin/nats-server']);
    expect(left.directories).toHaveLength(1);
    const { errors } = await sweepLeftovers({ tag, databases: false, streams: false });
    expect(errors).toEqual([]);
    expect(describeInventory(await inventory({ tag }))).toBe('');
  });
});
