/**
 * br0: an OpenFlow 1.3 bridge that runs real packet bytes through flow tables the way Open vSwitch does — the
 * facade its users hold, as one `struct ofproto` names a bridge in OVS. The work is in one file per concept:
 *   - flow-text.ts      ovs-ofctl text in and out (lib/ofp-flow.c, ofp-actions.c parsing and formatting);
 *   - compile-actions.ts  actions compiled once into flat ops (lib/ofp-actions.c ofpacts);
 *   - flow-tables.ts    tables and groups: add, delete, dump (ofproto/ofproto.c);
 *   - xlate.ts          a packet walked through the tables, actions executed (ofproto-dpif-xlate.c xlate_actions);
 *   - pass-cache.ts     what a pass did, replayed for the next packet with the same key (dpif-netdev.c's EMC);
 *   - trace-format.ts   the `ovs-appctl ofproto/trace` text of a traced packet (ofproto/ofproto-dpif-trace.c).
 */

import { BufferPool, type PacketBuffer } from '../buffer/packet-buffer.js';
import { ConfigVersion } from '../path-observer/config-version.js';
import { PathWatch } from '../path-observer/path-watch.js';
import type { TraceRecorder } from '../trace/types.js';
import { FlowTables, type FlowRule } from './flow-tables.js';
import type { FlowSpec } from './flow-text.js';
import type { PrereqPolicy } from './match.js';
import { Xlate, type BridgeHost } from './xlate.js';

export type { CtRequest } from './compile-actions.js';
export type { FlowRule } from './flow-tables.js';
export { DEFAULT_PRIORITY } from './flow-text.js';
export { MAX_DEPTH, MAX_RECIRCULATIONS, MAX_RESUBMITS, type BridgeHost } from './xlate.js';

export interface BridgeOptions {
  pool?: BufferPool;
  /** Clock in milliseconds for flow durations; the default is a virtual clock stuck at 0 (duration=0.000s). */
  now?: () => number;
  /** Missing match prerequisites: 'reject' (default) or 'drop' the field as OVS 3.1 does. */
  prerequisites?: PrereqPolicy;
  /** The emulation's configuration version, bumped by every flow or group change; default: a version of its own. */
  config?: ConfigVersion;
  /** The emulation's path watch (a walk being recorded hears of flows and rewrites); default: a watch of its own. */
  watch?: PathWatch;
}

export class Bridge {
  /** Packets that produced no output, by drop reason. */
  readonly drops: Map<string, number>;
  private readonly ofproto: FlowTables;
  private readonly xlate: Xlate;

  constructor(
    readonly name: string,
    host: BridgeHost,
    opts: BridgeOptions = {},
  ) {
    const config = opts.config ?? new ConfigVersion();
    this.ofproto = new FlowTables(opts.now ?? (() => 0), opts.prerequisites ?? 'reject', () => {
      config.changed();
      this.xlate.flowsChanged();
    });
    this.xlate = new Xlate(name, this.ofproto, host, opts.pool ?? new BufferPool(), opts.watch ?? new PathWatch());
    this.drops = this.xlate.drops;
  }

  // ---------------------------------------------------------------- configuration (cold path)

  /** Add one flow in ovs-ofctl syntax. A flow with the same table, priority and match replaces the old one. */
  addFlow(text: string, line = 1, source?: string): void {
    this.ofproto.addFlow(text, line, source);
  }

  /** Add many flows (one per line; blank lines and # comments skipped). Errors name the line. */
  addFlows(text: string, source?: string): void {
    this.ofproto.addFlows(text, source);
  }

  /** Install a parsed flow. */
  install(spec: FlowSpec): FlowRule {
    return this.ofproto.install(spec);
  }

  /** Delete flows like `ovs-ofctl del-flows` (non-strict): every flow at least as specific as the filter. */
  delFlows(filter?: string): number {
    return this.ofproto.delFlows(filter);
  }

  /** Add (or replace) a group: `group_id=N,type=select,bucket=actions=...`. */
  addGroup(text: string, line = 1, source?: string): void {
    this.ofproto.addGroup(text, line, source);
  }

  /** Add many groups, one per line. */
  addGroups(text: string, source?: string): void {
    this.ofproto.addGroups(text, source);
  }

  /** Delete one group, or all groups. */
  delGroups(id?: number): void {
    this.ofproto.delGroups(id);
  }

  flowCount(): number {
    return this.ofproto.flowCount();
  }

  /** Installed flows in dump order: table ascending, priority descending, then oldest first. */
  flows(table?: number): FlowRule[] {
    return this.ofproto.flows(table);
  }

  /** `ovs-ofctl -O OpenFlow13 dump-flows br0 [table=N]` output; `counters: false` is `--no-stats`. */
  dumpFlows(opts: { table?: number; counters?: boolean; header?: boolean } = {}): string {
    return this.ofproto.dumpFlows(opts);
  }

  /** `ovs-ofctl -O OpenFlow13 dump-groups br0` lines (without the reply header). */
  dumpGroups(): string {
    return this.ofproto.dumpGroups();
  }

  /** Files for `ovs-ofctl -O OpenFlow13 add-groups br0 G` and then `add-flows br0 F` (groups first). */
  exportOfctl(): { flows: string; groups: string } {
    return this.ofproto.exportOfctl();
  }

  // ---------------------------------------------------------------- packet path

  /** Why the last packet that produced no output was dropped. */
  lastDropReason(): string {
    return this.xlate.lastDropReason();
  }

  /**
   * Run pkt (pkt.inPort set by the caller) through the tables from table 0.
   * Returns true when pkt itself was handed to host.output (the caller must not reuse it); false when the
   * caller still owns it (dropped, or only clones were output).
   */
  process(pkt: PacketBuffer, trace?: TraceRecorder): boolean {
    return this.xlate.process(pkt, trace);
  }
}
