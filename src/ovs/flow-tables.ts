/**
 * br0's flow tables and groups, the role of Open vSwitch's ofproto/ofproto.c: adding, replacing and deleting flows
 * (add_flow, delete_flows_loose), groups (add_group), and reading them back as `ovs-ofctl dump-flows` /
 * `dump-groups` print them. Each flow's actions are compiled at install (compile-actions.ts); every change is
 * reported through `changed` (the configuration version, the pass cache). Translation (xlate.ts) reads the tables.
 */

import { Classifier, type ClassifierRule } from './classifier.js';
import { addOpWords, compileAction, type CompiledOp } from './compile-actions.js';
import { N_MATCH_WORDS, W_NW_DST, W_NW_PROTO, W_NW_SRC, W_TP_DST, W_TP_SRC } from './fields.js';
import {
  formatFlowAdd,
  formatFlowDump,
  parseFlow,
  parseFlowFilter,
  FlowParseError,
  type FlowSpec,
} from './flow-text.js';
import { formatGroup, parseGroup, type GroupSpec } from './groups.js';
import type { Match, PrereqPolicy } from './match.js';
import { flowTraceText } from './trace-format.js';
import type { Counted } from '../path-observer/counted.js';

/** An installed flow with its counters. */
export class FlowRule implements ClassifierRule, Counted {
  readonly match: Match;
  readonly priority: number;
  nPackets = 0;
  nBytes = 0;
  /** Set when the flow's actions end without output. */
  readonly dropReason: string;
  /** ` 0. ct_state=-trk,ip, priority 1000` */
  readonly traceText: string;

  constructor(
    readonly spec: FlowSpec,
    readonly seq: number,
    readonly program: CompiledOp[],
    readonly createdMs: number,
  ) {
    this.match = spec.match;
    this.priority = spec.priority;
    this.dropReason =
      spec.actions.length === 0
        ? `table ${spec.table} priority ${spec.priority} drop`
        : `table ${spec.table} priority ${spec.priority}: actions ended without output`;
    this.traceText = flowTraceText(spec);
  }

  /** The flow matched a packet of `bytes` bytes (rule_dpif_credit_stats). */
  countPacket(bytes: number): void {
    this.nPackets++;
    this.nBytes += bytes;
  }

  private hop: string | undefined;
  /** `table=90, priority=100,ip,nw_dst=10.128.2.0/23 actions=...`: names the flow in capture comments (built on first use). */
  get hopText(): string {
    return (this.hop ??= formatFlowAdd(this.spec));
  }

  private comment: string | undefined;
  /** `br0 table=90, ...`: the capture comment of an output by this flow, built once (a flow lives in one bridge). */
  hopComment(bridgeName: string): string {
    return (this.comment ??= `${bridgeName} ${this.hopText}`);
  }
}

/** One OpenFlow table: its classifier and the texts of a miss. */
export class Table {
  readonly classifier = new Classifier<FlowRule>();
  readonly noMatchReason: string;
  readonly noMatchText: string;
  constructor(readonly id: number) {
    this.noMatchReason = `no flow matched in table ${id}`;
    this.noMatchText = `${String(id).padStart(2)}. No match.`;
  }
}

/** A group with its buckets compiled. */
export interface CompiledGroup {
  spec: GroupSpec;
  buckets: CompiledOp[][];
  totalWeight: number;
  bucketText: string[];
}

/** The tables and groups of one bridge (ofproto). */
export class FlowTables {
  /** Tables by id (0-254); a table exists once a flow was installed in it. */
  readonly tables: (Table | undefined)[] = new Array(255).fill(undefined);
  readonly groups = new Map<number, CompiledGroup>();
  private seq = 0;

  constructor(
    private readonly now: () => number,
    private readonly prereq: PrereqPolicy,
    /** Called on every flow or group change. */
    private readonly changed: () => void,
  ) {}

  /** Add one flow in ovs-ofctl syntax. A flow with the same table, priority and match replaces the old one. */
  addFlow(text: string, line = 1, source?: string): void {
    const spec = parseFlow(text, { line, source, prerequisites: this.prereq });
    for (const a of spec.actions) {
      if (a.type === 'group' && !this.groups.has(a.id)) {
        throw new FlowParseError(
          `group ${a.id} does not exist (OFPBAC_BAD_OUT_GROUP): add the group first`,
          line,
          text.indexOf(`group:${a.id}`) + 1,
          `group:${a.id}`,
          source,
        );
      }
    }
    this.install(spec);
  }

  /** Add many flows (one per line; blank lines and # comments skipped). Errors name the line. */
  addFlows(text: string, source?: string): void {
    text.split('\n').forEach((raw, i) => {
      const t = raw.trim();
      if (t === '' || t.startsWith('#') || t.startsWith('OFPST_FLOW reply')) return;
      this.addFlow(raw.replace(/\r$/, ''), i + 1, source);
    });
  }

  /** Install a parsed flow. */
  install(spec: FlowSpec): FlowRule {
    const program = spec.actions.map((a) => compileAction(a, spec.table, spec.priority));
    const rule = new FlowRule(spec, this.seq++, program, this.now());
    this.changed();
    let t = this.tables[spec.table];
    if (!t) this.tables[spec.table] = t = new Table(spec.table);
    const old = t.classifier.findExact(spec.match, spec.priority);
    if (old) t.classifier.remove(old);
    t.classifier.insert(rule);
    return rule;
  }

  /** Delete flows like `ovs-ofctl del-flows` (non-strict): every flow at least as specific as the filter. */
  delFlows(filter?: string): number {
    const f = filter === undefined || filter.trim() === '' ? undefined : parseFlowFilter(filter);
    this.changed();
    let n = 0;
    for (const t of this.tables) {
      if (!t || (f?.table !== undefined && f.table !== t.id)) continue;
      for (const r of [...t.classifier.rules()]) {
        if (f && f.cookieMask !== 0n && (r.spec.cookie & f.cookieMask) !== ((f.cookie ?? 0n) & f.cookieMask)) continue;
        if (f && !r.match.refines(f.match)) continue;
        t.classifier.remove(r);
        n++;
      }
    }
    return n;
  }

  /** Add (or replace) a group: `group_id=N,type=select,bucket=actions=...`. */
  addGroup(text: string, line = 1, source?: string): void {
    const spec = parseGroup(text, { line, source });
    const buckets = spec.buckets.map((b) => b.actions.map((a) => compileAction(a, -1, -1)));
    const bucketText = spec.buckets.map((_, i) => `bucket ${i}`);
    this.groups.set(spec.id, {
      spec,
      buckets,
      totalWeight: spec.buckets.reduce((s, b) => s + b.weight, 0),
      bucketText,
    });
    this.changed();
  }

  /** Add many groups, one per line. */
  addGroups(text: string, source?: string): void {
    text.split('\n').forEach((raw, i) => {
      const t = raw.trim();
      if (t === '' || t.startsWith('#') || t.startsWith('OFPST_GROUP')) return;
      this.addGroup(t, i + 1, source);
    });
  }

  /** Delete one group, or all groups. */
  delGroups(id?: number): void {
    this.changed();
    if (id === undefined) this.groups.clear();
    else this.groups.delete(id);
  }

  flowCount(): number {
    let n = 0;
    for (const t of this.tables) if (t) n += t.classifier.size;
    return n;
  }

  /** Installed flows in dump order: table ascending, priority descending, then oldest first. */
  flows(table?: number): FlowRule[] {
    const out: FlowRule[] = [];
    for (const t of this.tables) {
      if (!t || (table !== undefined && t.id !== table)) continue;
      out.push(...[...t.classifier.rules()].sort((a, b) => b.priority - a.priority || a.seq - b.seq));
    }
    return out;
  }

  /** `ovs-ofctl -O OpenFlow13 dump-flows br0 [table=N]` output; `counters: false` is `--no-stats`. */
  dumpFlows(opts: { table?: number; counters?: boolean; header?: boolean } = {}): string {
    const now = this.now();
    const lines = this.flows(opts.table).map((r) =>
      opts.counters === false
        ? formatFlowDump(r.spec)
        : formatFlowDump(r.spec, {
            nPackets: r.nPackets,
            nBytes: r.nBytes,
            durationSec: Math.max(0, now - r.createdMs) / 1000,
          }),
    );
    if (opts.header) lines.unshift('OFPST_FLOW reply (OF1.3) (xid=0x2):');
    return lines.map((l) => `${l}\n`).join('');
  }

  /** `ovs-ofctl -O OpenFlow13 dump-groups br0` lines (without the reply header). */
  dumpGroups(): string {
    return [...this.groups.values()]
      .sort((a, b) => a.spec.id - b.spec.id)
      .map((g) => ` ${formatGroup(g.spec)}\n`)
      .join('');
  }

  /** Files for `ovs-ofctl -O OpenFlow13 add-groups br0 G` and then `add-flows br0 F` (groups first). */
  exportOfctl(): { flows: string; groups: string } {
    return {
      flows: this.flows()
        .map((r) => `${formatFlowAdd(r.spec)}\n`)
        .join(''),
      groups: [...this.groups.values()]
        .sort((a, b) => a.spec.id - b.spec.id)
        .map((g) => `${formatGroup(g.spec)}\n`)
        .join(''),
    };
  }

  /**
   * The key words that decide which flows match and which actions run in a pass: the words some flow matches
   * on, the fields actions read or partially write, and the select-group hash inputs. Other words only flow
   * through actions that replay executes afresh.
   */
  cacheWords(): Int32Array {
    const union = new Int32Array(N_MATCH_WORDS);
    for (const t of this.tables) t?.classifier.orMatchMasks(union);
    const used = new Set<number>();
    for (let w = 0; w < N_MATCH_WORDS; w++) if (union[w] !== 0) used.add(w);
    for (const t of this.tables) if (t) for (const r of t.classifier.rules()) addOpWords(r.program, used);
    for (const g of this.groups.values()) {
      for (const b of g.buckets) addOpWords(b, used);
      if (g.spec.type === 'select') for (const w of [W_NW_SRC, W_NW_DST, W_NW_PROTO, W_TP_SRC, W_TP_DST]) used.add(w);
    }
    return Int32Array.from([...used].sort((a, b) => a - b));
  }
}
