// A network controller in a process of its own, so that a test can SIGKILL it. Reads its topology
// from the JSON file named by argv[2], listens on the port in argv[3], and prints one JSON line per
// reconciled bridge.
import { readFileSync } from 'node:fs';
import { Controller, OpenFlowListener } from '@sdmi/openflow-controller';
import { DataplaneApp, type TopologySnapshot } from '../src/index';

const [file, port, idle] = process.argv.slice(2);
const snapshot = JSON.parse(readFileSync(file!, 'utf8')) as TopologySnapshot;
const app = new DataplaneApp(snapshot, { pairIdleTimeout: Number(idle ?? 30) });
const controller = new Controller({ apps: [app], echoIntervalMs: 1_000, echoTimeoutMs: 4_000 });
const reconcile = app.reconcile.bind(app);
app.reconcile = async (host) => {
  const r = await reconcile(host);
  process.stdout.write(`${JSON.stringify({ reconciled: r })}\n`);
  return r;
};
await new OpenFlowListener(controller).listen({ port: Number(port) });
process.stdout.write(`${JSON.stringify({ listening: Number(port) })}\n`);
