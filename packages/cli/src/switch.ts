// sdmi switch: the fabric switches and host bridges the switch-agent keeps carrying the networks'
// VLANs, through the SDK's cluster.switches. A spec file is checked against the Switch contract
// before anything is sent; the switch's own refusal (SWITCH_REFUSED, with its rpc-error) ends 1.
import { readFileSync } from 'node:fs';
import type { Switch, SwitchStatus } from '@sdmi/contracts';
import { switchProblems } from '@sdmi/sdk';
import { parse as parseYaml } from 'yaml';
import { parse, withCluster, type Io } from './commands';
import { CliError, ExitCodes, UsageError } from './exit';
import { age, outputFormat, render, table } from './format';

export const SWITCH_USAGE = `sdmi switch list [<name>] [-o table|json|yaml]
       sdmi switch register -f <switch.yaml|json>
       sdmi switch sync <name>
       sdmi switch remove <name>`;

const SWITCH_HELP = `usage: ${SWITCH_USAGE}

  A switch is a fabric switch the agent reaches over NETCONF (kind netconf: host, port, username,
  privateKeyFile on the switch-agent's host, hostKey) or a host's Open vSwitch over OVSDB (kind ovs:
  ovsdb, bridge, controllers, failMode), with its trunk ports and the networks each carries
  (carries: all-networks, or a list of network ids). Every network with a VLAN is kept on the
  trunks that carry it, each change one transaction that the switch rolls back by itself if the
  agent dies before confirming it. drift: report (default) or repair. See docs/switch-agent.md.
  register reads one Switch from a YAML or JSON file; sync brings a switch to desired now and
  prints what changed; remove stops keeping it and leaves its configuration as it is.
  Exit 65 on a spec the contract or the agent refuses (with the path), 1 when the switch refuses
  the change (SWITCH_REFUSED, with its rpc-error) or cannot be reached.`;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

function switchName(raw: string): string {
  if (!NAME.test(raw)) throw new CliError(`<name>: must be lower-case letters, digits and "-", starting with a letter, at most 63 characters, got ${JSON.stringify(raw)}`, ExitCodes.DataErr);
  return raw;
}

/** The Switch in a file, or exit 65 saying which file, where and why. */
export function readSwitchFile(file: string): Switch {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`, ExitCodes.DataErr);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    throw new CliError(`${file}: not YAML or JSON: ${(e as Error).message}`, ExitCodes.DataErr);
  }
  const [problem] = switchProblems(data);
  if (problem) {
    const at = problem.path ?? '/';
    // The switch rules' messages begin with their path already; the schema's do not.
    const what = problem.message.startsWith(`${at}:`) ? problem.message : `${at}: ${problem.message}`;
    throw new CliError(`${file}: ${what}${problem.rule ? ` (rule: ${problem.rule})` : ''}`, ExitCodes.DataErr);
  }
  return data as Switch;
}

function where(s: Switch): string {
  if (s.netconf) return `${s.netconf.username}@${s.netconf.host}:${s.netconf.port}`;
  if (s.ovs) return `${s.ovs.ovsdb} ${s.ovs.bridge}`;
  return '-';
}

function switchesTable(list: readonly SwitchStatus[]): string {
  return table(
    ['NAME', 'KIND', 'AT', 'TRUNKS', 'MANAGED VLANS', 'LAST SYNC', 'DRIFT'],
    list.map((s) => [
      s.spec.name,
      s.spec.kind,
      where(s.spec),
      s.spec.trunks.map((t) => `${t.port}(${t.carries === 'all-networks' ? 'all' : t.carries.length})`).join(' ') || '-',
      s.managedVlans.join(',') || '-',
      s.lastSync ? `${s.lastSync.ok ? 'ok' : `failed: ${s.lastSync.error?.code ?? '?'}`} ${age(s.lastSync.at)} ago` : 'never',
      s.drift ? (s.drift.inSync ? 'in sync' : `${s.drift.differences.length} difference(s)${s.drift.repaired ? ', repaired' : ''}`) : '-',
    ]),
  );
}

export async function switchCommand(args: readonly string[], io: Io): Promise<number> {
  if (args.length === 0 || ['help', '--help', '-h'].includes(args[0]!)) {
    io.out(SWITCH_HELP);
    return args.length === 0 ? ExitCodes.Usage : ExitCodes.Ok;
  }
  const { values, positionals } = parse(args, { output: { type: 'string', short: 'o' }, filename: { type: 'string', short: 'f' } }, { min: 1, max: 2, usage: SWITCH_USAGE });
  const [sub, ...rest] = positionals as [string, ...string[]];
  const only = (allowed: readonly string[]): void => {
    const extra = ['output', 'filename'].filter((f) => values[f] !== undefined && !allowed.includes(f));
    if (extra.length > 0) throw new UsageError(`switch ${sub} takes no ${extra.map((f) => (f === 'output' ? '-o' : '-f')).join(', ')}\nusage: ${SWITCH_USAGE}`);
  };
  const one = (what: string): string => {
    if (rest.length !== 1) throw new UsageError(`switch ${what} needs the switch's name, got ${rest.length} argument(s)\nusage: ${SWITCH_USAGE}`);
    return switchName(rest[0]!);
  };
  switch (sub) {
    case 'list':
    case 'ls': {
      only(['output']);
      const format = outputFormat(typeof values.output === 'string' ? values.output : undefined);
      const name = rest.length ? switchName(rest[0]!) : undefined;
      return withCluster(values, async (c) => {
        const list = await c.switches.list(name);
        if (name !== undefined && list.length === 0) throw new CliError(`no switch ${name} is registered (see: sdmi switch list)`, ExitCodes.Failed);
        io.out(render(format, list, () => switchesTable(list)));
        return ExitCodes.Ok;
      });
    }
    case 'register': {
      only(['filename']);
      if (rest.length > 0) throw new UsageError(`switch register takes the spec from -f, not arguments (got ${rest.join(' ')})\nusage: ${SWITCH_USAGE}`);
      if (typeof values.filename !== 'string') throw new UsageError(`switch register: -f <file> is required\nusage: ${SWITCH_USAGE}`);
      const spec = readSwitchFile(values.filename);
      return withCluster(values, async (c) => {
        const r = await c.switches.register(spec);
        io.out(`switch ${r.name}: ${r.created ? 'registered' : 'spec replaced'} (the switch-agent syncs it now; see: sdmi switch list ${r.name})`);
        return ExitCodes.Ok;
      });
    }
    case 'sync': {
      only([]);
      const name = one('sync');
      return withCluster(values, async (c) => {
        const r = await c.switches.sync(name);
        io.out(r.changed ? `switch ${r.name}: synced\n${r.changes.map((x) => `  ${x}`).join('\n')}` : `switch ${r.name}: in sync, nothing changed`);
        return ExitCodes.Ok;
      });
    }
    case 'remove':
    case 'rm': {
      only([]);
      const name = one('remove');
      return withCluster(values, async (c) => {
        const r = await c.switches.remove(name);
        io.out(r.removed ? `switch ${r.name}: no longer kept (its configuration is left as it is)` : `switch ${r.name}: there is no such switch (see: sdmi switch list)`);
        return ExitCodes.Ok;
      });
    }
    default:
      throw new UsageError(`unknown switch command "${sub}"\nusage: ${SWITCH_USAGE}`);
  }
}
