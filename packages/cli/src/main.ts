import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { audit, rolebinding } from './access';
import { autoscale, threshold } from './autoscale';
import * as commands from './commands';
import { dns } from './dns';
import { describeFailure, ExitCodes, UsageError } from './exit';
import { logs } from './logs';
import { switchCommand } from './switch';
import { top } from './top';

const AUTH_USAGE = 'sdmi auth init --dir DIR [--prefix sdmi] [--nodes a,b] [--users u,v] [--host H] [--port N] [--store-dir DIR] [--tls-cert F --tls-key F [--tls-ca F]] [--rotate]';

const HELP = `sdmi: the SDMI command line

  sdmi up [--containers] [--detach] ...     start the control plane (services as processes, or as containers)
  sdmi down                                 stop a control plane started with --detach
  sdmi auth init --dir DIR [--nodes a,b] [--users u,v] [--port N] ...
                                            the bus's credentials: a seed per principal, nats-server.conf, principals.json
  sdmi plan -f <file|dir>... [--exit-code]  what apply would change
  sdmi apply -f <file|dir>...               converge the cluster to the manifests, waiting until services serve
  sdmi delete -f <file|dir>...              remove what the manifests declare
  sdmi get services|replicas|networks|nodes [-t tenant] [-o table|json|yaml]
  sdmi describe service <tenant/service>
  sdmi scale <tenant/service> <replicas>
  sdmi rollout status|undo <tenant/service> [--to-revision N]
  sdmi nodes [list] | add|drain|remove <node> [--force]
  sdmi networks [-t tenant]
  sdmi events -f [--service name] [--nodes] [--autoscale]
  sdmi logs <replica-id|tenant/service> [--tail N] [-f] [--timestamps]
  sdmi top [--service S] [-o table|json|yaml] latest CPU and memory of every node and replica
  sdmi dns zones [-o table|json|yaml]       the cluster's zones (cluster, tenants, reverse) with their DS
  sdmi dns set <name> <type> <value>... [--zone Z] [--ttl N]
                                            put a record set of yours (A, AAAA, CNAME, TXT, SRV, MX)
  sdmi dns delete <name> <type> [--zone Z]  remove one (see: sdmi dns help)
  sdmi autoscale set <tenant/service> --min N --max N --metric cpu.utilization --target 0.6
                 [--tolerance 0.1] [--scale-down-window 300s]
                                            scale a service automatically (see: sdmi autoscale help)
  sdmi autoscale get [<tenant/service>] [-o table|json|yaml] | delete <tenant/service>
  sdmi threshold set|get|delete ...         thresholds raised and cleared on a service's metrics (see: sdmi threshold help)
  sdmi rolebinding list [--principal P] [-o table|json|yaml]
                                            who has which role (stored and builtin bindings)
  sdmi rolebinding put <name> --role ROLE --principal user:NAME|service:NAME [--tenant T]
                                            give a principal a role (see: sdmi rolebinding help)
  sdmi rolebinding delete <name>            take it back
  sdmi audit [--principal P] [--service S] [--outcome accepted|refused] [--task ID] [--since 10m]
             [--limit N] [-o table|json|yaml]
                                            every command sent, accepted or refused, newest first
  sdmi switch list [<name>] [-o table|json|yaml] | register -f <file> | sync <name> | remove <name>
                                            fabric switches and host bridges kept carrying the networks' VLANs (see: sdmi switch help)

Every command takes --nats-url URL (default $SDMI_NATS_URL or nats://127.0.0.1:4222) and
--prefix P (the cluster's bus prefix, default $SDMI_BUS_PREFIX or sdmi); on a cluster with
credentials, SDMI_NATS_NKEY_SEED_FILE names your nkey seed file (mode 0600).
Exit codes: 0 ok, 1 the cluster refused or failed it, 2 plan has changes (--exit-code),
64 bad command line, 65 invalid manifest or value, 69 bus or service unavailable,
75 changed but not converged (rolled back, paused, timed out).`;

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** up, down and auth init are scripts of their packages; sdmi passes the arguments through. */
function script(file: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, stdio: 'inherit' });
    const forward = (s: NodeJS.Signals): void => void child.kill(s);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 2 : 1)));
  });
}

const TABLE: Record<string, (args: readonly string[], io: commands.Io) => Promise<number>> = {
  plan: commands.plan,
  apply: commands.apply,
  delete: commands.del,
  get: commands.get,
  describe: commands.describe,
  scale: commands.scale,
  rollout: commands.rollout,
  nodes: commands.nodes,
  networks: (a, io) => commands.networks(a, io),
  events: commands.events,
  logs,
  dns,
  top,
  autoscale,
  threshold,
  rolebinding,
  rolebindings: rolebinding,
  audit,
  switch: switchCommand,
  switches: switchCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(HELP);
    return cmd === undefined ? ExitCodes.Usage : ExitCodes.Ok;
  }
  if (cmd === 'up' || cmd === 'down') return script(`packages/controlplane/src/${cmd}.ts`, rest);
  if (cmd === 'auth') {
    if (rest[0] !== 'init') throw new UsageError(`usage: ${AUTH_USAGE}`);
    return script('packages/bus-auth/src/cli.ts', ['init', ...rest.slice(1)]);
  }
  const run = TABLE[cmd];
  if (!run) throw new UsageError(`unknown command "${cmd}" (see: sdmi help)`);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  return run(rest, {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    tty: process.stderr.isTTY === true,
    signal: abort.signal,
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const { text, code } = describeFailure(err);
    process.stderr.write(`sdmi: ${text}\n`);
    process.exitCode = code;
  },
);
