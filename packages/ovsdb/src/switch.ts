// Typed helpers for the Open_vSwitch database (vswitch.ovsschema), built on OvsdbClient.transact.
import type { OvsdbClient } from './client';
import { connectOvsdb, DEFAULT_OVSDB_TARGET } from './connect';
import {
  type Atom,
  type Datum,
  type Row,
  mapRecord,
  namedUuid,
  optionalValue,
  ovsMap,
  ovsSet,
  setValues,
  uuid,
  uuidSet,
  uuidString,
} from './datum';
import {
  BridgeExists,
  BridgeNotFound,
  CommitFailed,
  InterfaceFailed,
  OfportTimeout,
  OperationFailed,
  PortExists,
  PortNotFound,
  ReconfigureTimeout,
} from './errors';
import { type Operation, type OperationResult, Op } from './operations';
import type { ClientOptions } from './client';
import type { ConnectOptions } from './unix';

export const OPEN_VSWITCH_DB = 'Open_vSwitch';

/** Bridge fail modes (Bridge.fail_mode). */
export const FailModes = {
  /** Only controller-installed flows forward traffic. */
  Secure: 'secure',
  /** A learning switch while no controller is connected. */
  Standalone: 'standalone',
} as const;
export type FailMode = (typeof FailModes)[keyof typeof FailModes];

/** Datapath types (Bridge.datapath_type). These machines have no OVS kernel module: use Netdev. */
export const DatapathTypes = {
  Netdev: 'netdev',
  System: 'system',
} as const;
export type DatapathType = (typeof DatapathTypes)[keyof typeof DatapathTypes];

/** Interface types this package knows by name; any other OVS type string is accepted too. */
export const InterfaceTypes = {
  /** A system device that already exists, e.g. one end of a veth pair. */
  System: '',
  /** A device OVS creates itself (a tap device on the netdev datapath). */
  Internal: 'internal',
} as const;
export type InterfaceType = (typeof InterfaceTypes)[keyof typeof InterfaceTypes];

export interface CreateBridgeOptions {
  /** Default `netdev`. */
  datapathType?: DatapathType;
  /** Default `secure`. */
  failMode?: FailMode;
  /** Default `['OpenFlow13']`. */
  protocols?: readonly string[];
  /** Controller targets, e.g. `tcp:127.0.0.1:6653`. */
  controllers?: readonly string[];
  externalIds?: Readonly<Record<string, string>>;
  /** e.g. `{ 'datapath-id': '0000000000000001' }`. */
  otherConfig?: Readonly<Record<string, string>>;
}

export interface AddPortOptions {
  /** Interface type: `''` (existing system device, the default) or `'internal'`, or another OVS type. */
  type?: InterfaceType | (string & {});
  /** Requested OpenFlow port number (1 to 65279). */
  ofportRequest?: number;
  /** Port.external_ids, e.g. `{ container: 'web-1', network: 'app', address: '10.0.0.5/24' }`. */
  externalIds?: Readonly<Record<string, string>>;
  /** Interface.external_ids (default: the same as `externalIds`). */
  interfaceExternalIds?: Readonly<Record<string, string>>;
  /** Interface.options, e.g. for tunnels. */
  options?: Readonly<Record<string, string>>;
}

export interface BridgeInfo {
  uuid: string;
  name: string;
  datapathType: string;
  failMode: FailMode | undefined;
  protocols: string[];
  /** Controller targets. */
  controllers: string[];
  /** Port names, sorted. */
  ports: string[];
  externalIds: Record<string, string>;
}

export interface InterfaceInfo {
  uuid: string;
  name: string;
  type: string;
  /** Assigned OpenFlow port; undefined until ovs-vswitchd assigns one, -1 on failure. */
  ofport: number | undefined;
  ofportRequest: number | undefined;
  error: string | undefined;
  externalIds: Record<string, string>;
}

export interface PortInfo {
  uuid: string;
  name: string;
  externalIds: Record<string, string>;
  interfaces: InterfaceInfo[];
  /** Port.trunks: the VLANs the port carries tagged, sorted (empty: all of them, OVS's default). */
  trunks: number[];
}

export interface PortHandle {
  portUuid: string;
  interfaceUuid: string;
}

export interface OvsSwitchOptions {
  /**
   * After each change, wait until ovs-vswitchd has applied it (Open_vSwitch.cur_cfg reaches the
   * bumped next_cfg), like ovs-vsctl does. Default 10 s; 0 = do not wait.
   */
  reconfigureTimeoutMs?: number;
}

const eq = (column: string, value: Datum) => [column, '==', value] as const;
const str = (row: Row | undefined, column: string): string => {
  const v = row?.[column];
  return typeof v === 'string' ? v : '';
};
const num = (a: Atom | undefined): number | undefined => (typeof a === 'number' ? a : undefined);

/**
 * Bridges, ports and controllers of the local Open vSwitch, each change one atomic transaction.
 * Never shells out to ovs-vsctl.
 */
export class OvsSwitch implements AsyncDisposable {
  readonly #reconfigureTimeoutMs: number;

  constructor(
    readonly client: OvsdbClient,
    options: OvsSwitchOptions = {},
    private readonly ownsClient = false,
  ) {
    this.#reconfigureTimeoutMs = options.reconfigureTimeoutMs ?? 10_000;
  }

  /** Connects to ovsdb-server (default the local unix socket); `close()` closes that connection. */
  static async connect(
    target: string = DEFAULT_OVSDB_TARGET,
    options: OvsSwitchOptions & ClientOptions & ConnectOptions = {},
  ): Promise<OvsSwitch> {
    return new OvsSwitch(await connectOvsdb(target, options), options, true);
  }

  /**
   * Creates a bridge with its internal port (same name) in one transaction, appended to
   * Open_vSwitch.bridges. Fails with BridgeExists (changing nothing) if the name is taken.
   */
  async createBridge(name: string, options: CreateBridgeOptions = {}): Promise<string> {
    const controllers = options.controllers ?? [];
    const ops: Operation[] = [
      // Guard: no bridge of that name (fails with "timed out" at once otherwise).
      Op.wait('Bridge', [eq('name', name)], ['name'], '==', [], 0),
      Op.insert('Interface', { name, type: InterfaceTypes.Internal }, 'iface'),
      Op.insert('Port', { name, interfaces: namedUuid('iface') }, 'port'),
      ...controllers.map((target, i) => Op.insert('Controller', { target }, `ctl${i}`)),
      Op.insert(
        'Bridge',
        {
          name,
          datapath_type: options.datapathType ?? DatapathTypes.Netdev,
          fail_mode: options.failMode ?? FailModes.Secure,
          protocols: ovsSet(options.protocols ?? ['OpenFlow13']),
          ports: ovsSet([namedUuid('port')]),
          controller: ovsSet(controllers.map((_, i) => namedUuid(`ctl${i}`))),
          external_ids: ovsMap(options.externalIds ?? {}),
          other_config: ovsMap(options.otherConfig ?? {}),
        },
        'bridge',
      ),
      Op.mutate('Open_vSwitch', [], [['bridges', 'insert', ovsSet([namedUuid('bridge')])]]),
      Op.comment(`sdmi: create bridge ${name}`),
    ];
    const bridgeIndex = ops.findIndex((o) => o.op === 'insert' && o.table === 'Bridge');
    const results = await this.#change(ops, (e) => {
      if (e instanceof OperationFailed && e.index === 0) return new BridgeExists(name, { cause: e });
      if (e instanceof CommitFailed && /"(Bridge|Port|Interface)" table/.test(e.details ?? '')) return new BridgeExists(name, { cause: e });
      return e;
    });
    return uuidString(results[bridgeIndex]?.uuid);
  }

  /** Deletes a bridge; its ports, interfaces and controllers go with it (garbage collection). */
  async deleteBridge(name: string): Promise<void> {
    const bridge = await this.#bridgeRow(name);
    const id = uuid(uuidString(bridge._uuid));
    await this.#change(
      [
        Op.wait('Bridge', [eq('_uuid', id)], ['name'], '!=', [], 0),
        Op.mutate('Open_vSwitch', [], [['bridges', 'delete', ovsSet([id])]]),
        Op.delete('Bridge', [eq('_uuid', id)]),
        Op.comment(`sdmi: delete bridge ${name}`),
      ],
      (e) => (e instanceof OperationFailed && e.index === 0 ? new BridgeNotFound(name, { cause: e }) : e),
    );
  }

  /**
   * Adds a port with one interface of the same name to a bridge. For type `''` the device (e.g. a
   * veth end) must exist; read the assigned OpenFlow port with `ofport()`.
   */
  async addPort(bridge: string, port: string, options: AddPortOptions = {}): Promise<PortHandle> {
    const iface: Row = {
      name: port,
      type: options.type ?? InterfaceTypes.System,
      external_ids: ovsMap(options.interfaceExternalIds ?? options.externalIds ?? {}),
      options: ovsMap(options.options ?? {}),
    };
    if (options.ofportRequest !== undefined) iface.ofport_request = options.ofportRequest;
    const results = await this.#change(
      [
        Op.wait('Bridge', [eq('name', bridge)], ['name'], '!=', [], 0),
        Op.wait('Port', [eq('name', port)], ['name'], '==', [], 0),
        Op.insert('Interface', iface, 'iface'),
        Op.insert('Port', { name: port, interfaces: namedUuid('iface'), external_ids: ovsMap(options.externalIds ?? {}) }, 'port'),
        Op.mutate('Bridge', [eq('name', bridge)], [['ports', 'insert', ovsSet([namedUuid('port')])]]),
        Op.comment(`sdmi: add port ${port} to ${bridge}`),
      ],
      (e) => {
        if (e instanceof OperationFailed && e.index === 0) return new BridgeNotFound(bridge, { cause: e });
        if (e instanceof OperationFailed && e.index === 1) return new PortExists(port, { cause: e });
        if (e instanceof CommitFailed && /"(Port|Interface)" table/.test(e.details ?? '')) return new PortExists(port, { cause: e });
        return e;
      },
    );
    return { interfaceUuid: uuidString(results[2]?.uuid), portUuid: uuidString(results[3]?.uuid) };
  }

  /** Removes a port (and its interfaces) from a bridge. */
  async removePort(bridge: string, port: string): Promise<void> {
    const [b, p] = await this.#transact([
      Op.select('Bridge', [eq('name', bridge)], ['_uuid', 'ports']),
      Op.select('Port', [eq('name', port)], ['_uuid']),
    ]);
    const bridgeRow = b?.rows?.[0];
    if (!bridgeRow) throw new BridgeNotFound(bridge);
    const portRow = p?.rows?.[0];
    const portUuid = portRow ? uuidString(portRow._uuid) : undefined;
    if (portUuid === undefined || !uuidSet(bridgeRow.ports).includes(portUuid)) throw new PortNotFound(port, bridge);
    const id = uuid(portUuid);
    await this.#change(
      [
        Op.wait('Bridge', [eq('name', bridge), ['ports', 'includes', ovsSet([id])]], ['name'], '!=', [], 0),
        Op.mutate('Bridge', [eq('name', bridge)], [['ports', 'delete', ovsSet([id])]]),
        Op.delete('Port', [eq('_uuid', id)]),
        Op.comment(`sdmi: remove port ${port} from ${bridge}`),
      ],
      (e) => (e instanceof OperationFailed && e.index === 0 ? new PortNotFound(port, bridge, { cause: e }) : e),
    );
  }

  /** All bridges, sorted by name. */
  async listBridges(): Promise<BridgeInfo[]> {
    const [b, c, p] = await this.#transact([
      Op.select('Bridge', [], ['_uuid', 'name', 'datapath_type', 'fail_mode', 'protocols', 'controller', 'ports', 'external_ids']),
      Op.select('Controller', [], ['_uuid', 'target']),
      Op.select('Port', [], ['_uuid', 'name']),
    ]);
    const targets = new Map((c?.rows ?? []).map((r) => [uuidString(r._uuid), str(r, 'target')]));
    const portNames = new Map((p?.rows ?? []).map((r) => [uuidString(r._uuid), str(r, 'name')]));
    return (b?.rows ?? [])
      .map((r) => toBridgeInfo(r, targets, portNames))
      .sort((x, y) => x.name.localeCompare(y.name));
  }

  /** One bridge, or BridgeNotFound. */
  async getBridge(name: string): Promise<BridgeInfo> {
    const found = (await this.listBridges()).find((b) => b.name === name);
    if (!found) throw new BridgeNotFound(name);
    return found;
  }

  /** The ports of a bridge with their interfaces, sorted by name. */
  async listPorts(bridge: string): Promise<PortInfo[]> {
    const [b, p, i] = await this.#transact([
      Op.select('Bridge', [eq('name', bridge)], ['ports']),
      Op.select('Port', [], ['_uuid', 'name', 'interfaces', 'external_ids', 'trunks']),
      Op.select('Interface', [], ['_uuid', 'name', 'type', 'ofport', 'ofport_request', 'error', 'external_ids']),
    ]);
    const bridgeRow = b?.rows?.[0];
    if (!bridgeRow) throw new BridgeNotFound(bridge);
    const mine = new Set(uuidSet(bridgeRow.ports));
    const ifaces = new Map((i?.rows ?? []).map((r) => [uuidString(r._uuid), toInterfaceInfo(r)]));
    return (p?.rows ?? [])
      .filter((r) => mine.has(uuidString(r._uuid)))
      .map((r) => ({
        uuid: uuidString(r._uuid),
        name: str(r, 'name'),
        externalIds: mapRecord(r.external_ids),
        interfaces: uuidSet(r.interfaces).flatMap((u) => ifaces.get(u) ?? []),
        trunks: setValues(r.trunks)
          .filter((v): v is number => typeof v === 'number')
          .sort((x, y) => x - y),
      }))
      .sort((x, y) => x.name.localeCompare(y.name));
  }

  /**
   * The OpenFlow port number of an interface, waiting (server-side, with an RFC 7047 `wait`) until
   * ovs-vswitchd assigns it. InterfaceFailed if it could not (ofport -1, with the `error` column),
   * PortNotFound if there is no such interface, OfportTimeout after `timeoutMs` (default 10 s).
   */
  async ofport(iface: string, options: { timeoutMs?: number } = {}): Promise<number> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    let results: OperationResult[];
    try {
      results = await this.client.transact(
        OPEN_VSWITCH_DB,
        [
          Op.wait('Interface', [eq('name', iface)], ['ofport'], '!=', [{ ofport: ovsSet([]) }], timeoutMs),
          Op.select('Interface', [eq('name', iface)], ['ofport', 'error']),
        ],
        { timeoutMs: timeoutMs + 10_000 },
      );
    } catch (e) {
      if (e instanceof OperationFailed && e.index === 0 && e.error === 'timed out') throw new OfportTimeout(iface, timeoutMs, { cause: e });
      throw e;
    }
    const row = results[1]?.rows?.[0];
    if (!row) throw new PortNotFound(iface);
    const ofport = num(optionalValue(row.ofport));
    if (ofport === undefined || ofport < 0) {
      const reason = optionalValue(row.error);
      throw new InterfaceFailed(iface, typeof reason === 'string' ? reason : undefined);
    }
    return ofport;
  }

  /** Replaces a bridge's controller targets (an empty list removes them). */
  async setControllers(bridge: string, targets: readonly string[]): Promise<void> {
    await this.#change(
      [
        Op.wait('Bridge', [eq('name', bridge)], ['name'], '!=', [], 0),
        ...targets.map((target, i) => Op.insert('Controller', { target }, `ctl${i}`)),
        Op.update('Bridge', [eq('name', bridge)], { controller: ovsSet(targets.map((_, i) => namedUuid(`ctl${i}`))) }),
        Op.comment(`sdmi: set controllers of ${bridge}`),
      ],
      (e) => (e instanceof OperationFailed && e.index === 0 ? new BridgeNotFound(bridge, { cause: e }) : e),
    );
  }

  /**
   * Replaces the VLANs ports of `bridge` carry tagged (Port.trunks), all in one transaction.
   * PortNotFound (nothing changed) when the bridge lacks one of them: the caller owns which ports
   * exist, this only sets what they carry.
   */
  async setTrunks(bridge: string, trunks: readonly { port: string; vlans: readonly number[] }[]): Promise<void> {
    if (!trunks.length) return;
    const [b, p] = await this.#transact([
      Op.select('Bridge', [eq('name', bridge)], ['ports']),
      Op.select('Port', [], ['_uuid', 'name']),
    ]);
    const bridgeRow = b?.rows?.[0];
    if (!bridgeRow) throw new BridgeNotFound(bridge);
    const mine = new Set(uuidSet(bridgeRow.ports));
    const byName = new Map((p?.rows ?? []).filter((r) => mine.has(uuidString(r._uuid))).map((r) => [str(r, 'name'), uuidString(r._uuid)]));
    const ids = trunks.map((t) => {
      const u = byName.get(t.port);
      if (u === undefined) throw new PortNotFound(t.port, bridge);
      return uuid(u);
    });
    await this.#change(
      [
        // Guard: the ports are still the bridge's (index 0 fails otherwise).
        Op.wait('Bridge', [eq('name', bridge), ['ports', 'includes', ovsSet(ids)]], ['name'], '!=', [], 0),
        ...trunks.map((t, i) => Op.update('Port', [eq('_uuid', ids[i]!)], { trunks: ovsSet([...new Set(t.vlans)].sort((x, y) => x - y)) })),
        Op.comment(`sdmi: set trunks of ${trunks.map((t) => t.port).join(', ')} on ${bridge}`),
      ],
      (e) => (e instanceof OperationFailed && e.index === 0 ? new PortNotFound(trunks.map((t) => t.port).join(', '), bridge, { cause: e }) : e),
    );
  }

  /** Sets a bridge's fail mode. */
  async setFailMode(bridge: string, mode: FailMode): Promise<void> {
    await this.#change(
      [
        Op.wait('Bridge', [eq('name', bridge)], ['name'], '!=', [], 0),
        Op.update('Bridge', [eq('name', bridge)], { fail_mode: mode }),
      ],
      (e) => (e instanceof OperationFailed && e.index === 0 ? new BridgeNotFound(bridge, { cause: e }) : e),
    );
  }

  /** Closes the connection if this switch opened it. */
  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #transact(ops: Operation[]): Promise<OperationResult[]> {
    return this.client.transact(OPEN_VSWITCH_DB, ops);
  }

  async #bridgeRow(name: string): Promise<Row> {
    const [r] = await this.#transact([Op.select('Bridge', [eq('name', name)], ['_uuid'])]);
    const row = r?.rows?.[0];
    if (!row) throw new BridgeNotFound(name);
    return row;
  }

  /**
   * Runs a change and, like ovs-vsctl, bumps next_cfg in the same transaction and waits for
   * ovs-vswitchd to report it applied (cur_cfg ≥ next_cfg).
   */
  async #change(ops: Operation[], mapError: (e: unknown) => unknown): Promise<OperationResult[]> {
    const all: Operation[] = [
      ...ops,
      Op.mutate('Open_vSwitch', [], [['next_cfg', '+=', 1]]),
      Op.select('Open_vSwitch', [], ['next_cfg']),
    ];
    let results: OperationResult[];
    try {
      results = await this.#transact(all);
    } catch (e) {
      throw mapError(e);
    }
    const nextCfg = num(results[all.length - 1]?.rows?.[0]?.next_cfg as Atom | undefined);
    if (this.#reconfigureTimeoutMs > 0 && nextCfg !== undefined) {
      try {
        await this.client.transact(
          OPEN_VSWITCH_DB,
          [Op.wait('Open_vSwitch', [['cur_cfg', '>=', nextCfg]], ['cur_cfg'], '!=', [], this.#reconfigureTimeoutMs)],
          { timeoutMs: this.#reconfigureTimeoutMs + 10_000 },
        );
      } catch (e) {
        if (e instanceof OperationFailed && e.error === 'timed out') throw new ReconfigureTimeout(nextCfg, this.#reconfigureTimeoutMs, { cause: e });
        throw e;
      }
    }
    return results.slice(0, ops.length);
  }
}

function toBridgeInfo(r: Row, targets: Map<string, string>, portNames: Map<string, string>): BridgeInfo {
  const failMode = optionalValue(r.fail_mode);
  return {
    uuid: uuidString(r._uuid),
    name: str(r, 'name'),
    datapathType: str(r, 'datapath_type'),
    failMode: failMode === 'secure' || failMode === 'standalone' ? failMode : undefined,
    protocols: setValues(r.protocols).filter((v): v is string => typeof v === 'string'),
    controllers: uuidSet(r.controller).flatMap((u) => targets.get(u) ?? []),
    ports: uuidSet(r.ports)
      .flatMap((u) => portNames.get(u) ?? [])
      .sort(),
    externalIds: mapRecord(r.external_ids),
  };
}

function toInterfaceInfo(r: Row): InterfaceInfo {
  const error = optionalValue(r.error);
  return {
    uuid: uuidString(r._uuid),
    name: str(r, 'name'),
    type: str(r, 'type'),
    ofport: num(optionalValue(r.ofport)),
    ofportRequest: num(optionalValue(r.ofport_request)),
    error: typeof error === 'string' ? error : undefined,
    externalIds: mapRecord(r.external_ids),
  };
}
