// Our controller (Controller + LearningSwitch) alone in its own Node process, so that the
// packet-in generator does not share its event loop, as ovs-testcontroller does not either.
//
//   node --import tsx bench/openflow/src/controller-proc.ts <port>
//
// Prints one JSON line {"listening":<port>} on stdout when it accepts connections. Exits on
// SIGTERM/SIGINT, and when stdin closes: the bench holds our stdin open, so even a bench that
// is killed with SIGKILL leaves no controller behind.
import { Controller, LearningSwitch, OpenFlowListener } from '@sdmi/openflow-controller';
import pino from 'pino';

async function main(): Promise<void> {
  const port = Number(process.argv[2] ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port "${process.argv[2]}"`);
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn', base: { component: 'bench-openflow-controller' } }, pino.destination({ dest: 2, sync: false }));
  const controller = new Controller({ apps: [new LearningSwitch()], log });
  const listener = new OpenFlowListener(controller);
  const addr = await listener.listen({ host: '127.0.0.1', port });
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'stopping');
    const hard = setTimeout(() => process.exit(0), 2_000);
    hard.unref();
    void listener.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.stdin.on('end', () => stop('stdin closed'));
  process.stdin.on('error', () => stop('stdin error'));
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ listening: addr.port })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
