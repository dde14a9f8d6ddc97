import { FlowModCommand, type Instruction, type MessageOf } from '@sdmi/openflow';
import type { Outgoing, SwitchConnection } from '../connection';
import type { OpenFlowApp } from '../controller';

const CONTROLLER = 0xfffffffd; // OFPP_CONTROLLER
const FLOOD = 0xfffffffb; // OFPP_FLOOD
const ANY = 0xffffffff; // OFPP_ANY / OFPG_ANY
const NO_BUFFER = 0xffffffff;
const NO_BUFFER_LEN = 0xffff; // OFPCML_NO_BUFFER: send whole packets

function mac(data: Buffer, at: number): string {
  return [...data.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * A reactive L2 learning switch, the classic first controller application and the one
 * ovs-testcontroller runs: unknown traffic comes to the controller, which learns where source
 * MACs live and installs a flow per (in port, source, destination) once the destination is known.
 */
export class LearningSwitch implements OpenFlowApp {
  readonly name = 'learning-switch';
  private readonly tables = new Map<string, Map<string, number>>();

  constructor(private readonly opts: { idleTimeout?: number; priority?: number; cookie?: bigint } = {}) {}

  /** Where this switch has seen a MAC address, if it has. */
  portOf(dpid: string, address: string): number | undefined {
    return this.tables.get(dpid)?.get(address);
  }

  async onSwitchUp(sw: SwitchConnection): Promise<void> {
    this.tables.set(sw.dpid, new Map());
    await sw.barrier([
      {
        type: 'FLOW_MOD', cookie: this.opts.cookie ?? 0n, cookieMask: 0n, tableId: 0, command: FlowModCommand.ADD,
        idleTimeout: 0, hardTimeout: 0, priority: 0, bufferId: NO_BUFFER, outPort: ANY, outGroup: ANY, flags: 0,
        match: [], instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: CONTROLLER, maxLen: NO_BUFFER_LEN }] }],
      },
    ]);
  }

  onSwitchDown(sw: SwitchConnection): void {
    this.tables.delete(sw.dpid);
  }

  onPacketIn(sw: SwitchConnection, msg: MessageOf<'PACKET_IN'>): void {
    if (msg.data.length < 14) return;
    const inField = msg.match.find((f) => f.field === 'IN_PORT');
    if (!inField || typeof inField.value !== 'number') return;
    const inPort = inField.value;
    const dst = mac(msg.data, 0);
    const src = mac(msg.data, 6);
    let table = this.tables.get(sw.dpid);
    if (!table) this.tables.set(sw.dpid, (table = new Map()));
    // A multicast source is a forged or broken frame: never a place to send traffic to.
    if ((msg.data[6]! & 1) === 0) table.set(src, inPort);
    const outPort = table.get(dst);
    if (outPort === inPort) {
      // The destination lives behind the port the packet came from: the switch should drop it,
      // and keep dropping it without asking us again.
      sw.send(this.flow(msg, inPort, src, dst, []));
      return;
    }
    if (outPort !== undefined) {
      sw.send(this.flow(msg, inPort, src, dst, [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: outPort, maxLen: 0 }] }]));
      // Whole packets come to us (no switch buffer), so the packet itself goes out here too.
      if (msg.bufferId === NO_BUFFER) sw.send({ type: 'PACKET_OUT', bufferId: NO_BUFFER, inPort, actions: [{ type: 'OUTPUT', port: outPort, maxLen: 0 }], data: msg.data });
      return;
    }
    sw.send({ type: 'PACKET_OUT', bufferId: msg.bufferId, inPort, actions: [{ type: 'OUTPUT', port: FLOOD, maxLen: 0 }], data: msg.bufferId === NO_BUFFER ? msg.data : Buffer.alloc(0) });
  }

  /** The flow for (in port, source, destination); no instructions means drop. */
  private flow(msg: MessageOf<'PACKET_IN'>, inPort: number, src: string, dst: string, instructions: Instruction[]): Outgoing {
    return {
      type: 'FLOW_MOD', cookie: this.opts.cookie ?? 0n, cookieMask: 0n, tableId: 0, command: FlowModCommand.ADD,
      idleTimeout: this.opts.idleTimeout ?? 60, hardTimeout: 0, priority: this.opts.priority ?? 100,
      bufferId: msg.bufferId, outPort: ANY, outGroup: ANY, flags: 0,
      match: [
        { field: 'IN_PORT', value: inPort },
        { field: 'ETH_SRC', value: src },
        { field: 'ETH_DST', value: dst },
      ],
      instructions,
    };
  }
}
