// `sdmi auth init` (the CLI runs this script with `init`; `generate` is the same, for scripts):
//   sdmi auth init --dir .sdmi/nats --prefix sdmi --nodes host-a,host-b [--users alice,bob]
//     [--host 127.0.0.1] [--port 4222] [--store-dir DIR] [--tls-cert F --tls-key F [--tls-ca F]] [--rotate]
// Writes one seed per principal (<dir>/<principal>.nk, 0600), <dir>/nats-server.conf and
// <dir>/principals.json, and prints which file each process gets as SDMI_NATS_NKEY_SEED_FILE.
// Prints public keys and paths only, never a seed.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BusNames } from '@sdmi/bus';
import { ensureIdentities, writeServerConfig } from './keys';

const USAGE = 'usage: sdmi auth init --dir DIR [--prefix sdmi] [--nodes a,b] [--users u,v] [--host H] [--port N] [--store-dir DIR] [--tls-cert F --tls-key F [--tls-ca F]] [--rotate]';

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  if (command !== 'generate' && command !== 'init') {
    process.stderr.write(`${USAGE}\n`);
    return 64;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        dir: { type: 'string' },
        prefix: { type: 'string', default: 'sdmi' },
        nodes: { type: 'string', default: '' },
        users: { type: 'string', default: '' },
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '4222' },
        'store-dir': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        rotate: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 64;
  }
  if (!values.dir) {
    process.stderr.write(`--dir is required\n${USAGE}\n`);
    return 64;
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    process.stderr.write(`--port ${values.port}: not a TCP port\n`);
    return 65;
  }
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) {
    process.stderr.write('--tls-cert and --tls-key go together\n');
    return 64;
  }
  const dir = resolve(values.dir);
  const nodes = values.nodes.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const users = values.users.split(',').map((s) => s.trim()).filter((s) => s !== '');
  try {
    const identities = ensureIdentities({ dir, names: new BusNames(values.prefix), nodes, users, rotate: values.rotate });
    const files = writeServerConfig({
      dir,
      identities,
      host: values.host,
      port,
      ...(values['store-dir'] ? { storeDir: resolve(values['store-dir']) } : { storeDir: resolve(dir, 'jetstream') }),
      ...(values['tls-cert'] && values['tls-key']
        ? { tls: { certFile: resolve(values['tls-cert']), keyFile: resolve(values['tls-key']), ...(values['tls-ca'] ? { caFile: resolve(values['tls-ca']) } : {}) } }
        : {}),
    });
    process.stdout.write(`nats-server config: ${files.configFile}\nprincipals: ${files.manifestFile}\n`);
    for (const i of identities) process.stdout.write(`${i.principal.name.padEnd(28)} ${i.publicKey}  SDMI_NATS_NKEY_SEED_FILE=${i.seedFile}\n`);
    return 0;
  } catch (err) {
    // Our errors name files and settings only; nothing here holds a seed.
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
