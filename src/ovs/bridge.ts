/**
 * br0: an OpenFlow 1.3 bridge that runs real packet bytes through flow tables the way Open vSwitch does.
 *
 * Flows are added as ovs-ofctl text (flow-text.ts) and compiled once into small op objects; a packet's flow
 * key is extracted into a preallocated Int32Array, each table is a tuple-space classifier, and actions run
 * from the compiled ops. On the untraced path nothing is allocated per packet (clones for multi-output come
 * from the BufferPool). Semantics follow OVS 3.1:
 *   - goto_table and a trailing resubmit are tail calls; nesting is limited to 64 (MAX_DEPTH, "over max
 *     translation depth 64") and to 4096 table visits per pass (MAX_RESUBMITS);
 *   - `output` to the packet's own in_port is skipped ("skipping output to input port");
 *   - ct(table=N) runs the host's conntrack and recirculates from table N after the current pass ends
 *     (registers survive recirculation, ct_state/ct_zone/ct_mark come from conntrack); the original packet
 *     continues untracked, which is why OVS prints `drop` after `ct(table=0)`;
 *   - an `all` group runs every bucket on the same flow (key restored between buckets); `select` picks one
 *     bucket by a deterministic flow hash (groups.ts).
 * Bridge.process is re-entrant: a host that synchronously feeds a packet back into the same bridge (tun0 ->
 * kernel -> tun0) gets a fresh frame of state.
 */

import { decrementIpv4Ttl } from '../../codecs/ipv4.js';
import { BufferPool, type PacketBuffer } from '../buffer/packet-buffer.js';
import type { TraceRecorder } from '../trace/types.js';
import { formatAction, formatSubfield, type Action, type NatSpec } from './actions.js';
import { Classifier, type ClassifierRule } from './classifier.js';
import {
  extractBits,
  fieldWords,
  moveBits,
  splitBig,
  writeBits,
  type ExecContext,
  type RwField,
} from './field-access.js';
import { extractFlowKey, extractPacketFields, syncMetadataToPacket } from './flow-key.js';
import {
  ETH_TYPE_IP,
  N_KEY_WORDS,
  N_MATCH_WORDS,
  OFPP_IN_PORT,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_TYPE,
  W_IN_PORT,
  W_L3_OFS,
  W_NW_DST,
  W_NW_PROTO,
  W_NW_SRC,
  W_NW_TTL,
  W_TP_DST,
  W_TP_SRC,
  newFlowKey,
} from './fields.js';
import {
  formatFlowAdd,
  formatFlowDump,
  parseFlow,
  parseFlowFilter,
  DEFAULT_PRIORITY,
  FlowParseError,
  type FlowSpec,
} from './flow-text.js';
import { flowHash, formatGroup, parseGroup, selectBucket, type GroupSpec } from './groups.js';
import type { Match, PrereqPolicy } from './match.js';
import { ctStateFlags, formatPort, hexC } from './match.js';
import { formatFlowKey } from './trace-format.js';
import { PassCache } from './pass-cache.js';
import { ConfigVersion } from '../path-observer/config-version.js';
import type { Counted } from '../path-observer/counted.js';
import { PathWatch } from '../path-observer/path-watch.js';

/** What ct(...) asks the host's conntrack to do. */
export interface CtRequest {
  commit: boolean;
  /** ct(nat) or ct(nat(...)): apply (or with natSpec.kind, set up) NAT. */
  nat: boolean;
  zone: number;
  /** Recirculation table, undefined for ct() without table=. */
  table: number | undefined;
  natSpec?: NatSpec;
  /** ct(commit,exec(set_field:V->ct_mark)): mark to store on the connection. */
  mark?: number;
}

/** The bridge's view of the node it lives in: ports, conntrack and names. */
export interface BridgeHost {
  /**
   * Deliver pkt out of ofport `port`. The host owns pkt from here (it may mutate or release it): when more
   * actions follow, the bridge passes a clone from its pool and keeps working on its own copy. `rule` is the flow
   * whose actions output it (the host names it in capture comments).
   */
  output(port: number, pkt: PacketBuffer, trace?: TraceRecorder, rule?: FlowRule): void;
  /**
   * Run conntrack on pkt: set pkt.ctState (with CT_TRK), ctZone, ctMark; NAT the bytes when req.nat. Returns a
   * reason when conntrack dropped the packet (table full, insert clash): the datapath then drops it, as the kernel's
   * ovs_ct_execute frees the skb when nf_conntrack_in refuses it (OVS_DROP_CONNTRACK).
   */
  conntrack(pkt: PacketBuffer, req: CtRequest, trace?: TraceRecorder): string | undefined;
  portName(port: number): string;
}

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

/** OVS's limit on nested table lookups (MAX_DEPTH in ofproto-dpif-xlate.c). */
export const MAX_DEPTH = 64;
/** OVS's limit on table lookups in one translation (MAX_RESUBMITS). */
export const MAX_RESUBMITS = 4096;
/** Recirculations per packet before we call it a loop. */
export const MAX_RECIRCULATIONS = 16;

const enum Op {
  Output,
  OutputReg,
  Goto,
  Resubmit,
  Load,
  Move,
  SetField,
  Ct,
  CtClear,
  Group,
  Note,
  DecTtl,
  Unmodelled,
}

/** One compiled action. A single class so every op has the same shape (monomorphic property access). */
class CompiledOp {
  op: Op = Op.Note;
  /** The action as ovs-ofctl prints it (trace lines only). */
  text = '';
  port = 0;
  table = -1;
  field: RwField | undefined = undefined;
  ofs = 0;
  n = 0;
  hi = 0;
  lo = 0;
  maskHi = 0;
  maskLo = 0;
  masked = false;
  src: RwField | undefined = undefined;
  srcOfs = 0;
  ct: CtRequest | undefined = undefined;
  groupId = 0;
  /** Drop reason when this output is skipped (to in_port). */
  skipReason = '';
}

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
    const m = spec.match.format();
    const cookie = spec.cookie !== 0n ? `, cookie 0x${spec.cookie.toString(16)}` : '';
    this.traceText = `${String(spec.table).padStart(2)}. ${m ? `${m}, ` : ''}priority ${spec.priority}${cookie}`;
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

class Table {
  readonly classifier = new Classifier<FlowRule>();
  readonly noMatchReason: string;
  readonly noMatchText: string;
  constructor(readonly id: number) {
    this.noMatchReason = `no flow matched in table ${id}`;
    this.noMatchText = `${String(id).padStart(2)}. No match.`;
  }
}

interface CompiledGroup {
  spec: GroupSpec;
  buckets: CompiledOp[][];
  totalWeight: number;
  bucketText: string[];
}

/** A pending ct(table=N) recirculation. */
class RecircSlot {
  pkt: PacketBuffer | undefined = undefined;
  table = 0;
  id = 0;
  /** True when pkt is a clone the bridge must release if nothing consumes it. */
  owned = false;
  /** True when conntrack may have rewritten the bytes (ct(nat)): the packet fields are extracted again. */
  natted = false;
  /** Trace header for the resumed pass (traced packets only). */
  header = '';
  readonly key = newFlowKey();
  /** The cached pass (and its step) whose ct action made this recirculation, when it was a replay. */
  from: PassRecipe | null = null;
  fromStep = 0;
}

/** Everything one (possibly re-entrant) process() call mutates. */
class Frame implements ExecContext {
  key = newFlowKey();
  /** The flow whose actions are running. */
  rule: FlowRule | undefined = undefined;
  pkt!: PacketBuffer;
  original!: PacketBuffer;
  trace: TraceRecorder | undefined = undefined;
  depth = 0;
  resubmits = 0;
  outputs = 0;
  /** True when the packet being processed in this pass was handed to host.output. */
  consumed = false;
  originalConsumed = false;
  halted = false;
  dropReason = '';
  recircs: RecircSlot[] = [];
  recircHead = 0;
  recircTail = 0;
  recircCount = 0;
  /** Saved keys for `all` group buckets, one per nesting level. */
  saved: Int32Array[] = [];
  groupNesting = 0;
  /** Datapath-actions summary of the current pass (trace only). */
  dpActions: string[] = [];
  /** The untraced pass being recorded for the pass cache (see PassRecipe); `recBad` vetoes storing it. */
  recording = false;
  recBad = false;
  readonly rec = new PassRecipe(0);
  readonly recKey = newFlowKey();
  /** The recipe being replayed and its current step (read by ct actions to link the recirculation). */
  replaying: PassRecipe | null = null;
  replayStep = 0;
  /** For the next pass: the replayed recipe and ct step that led to it (see PassRecipe.linkTo). */
  linkFrom: PassRecipe | null = null;
  linkStep = 0;
}

/**
 * What one pass did, as a flat list of steps replayed in order: step i is an executed action (ops[i]), a
 * matched rule whose counters to bump (rules[i]), or a table miss with its drop reason (reasons[i]).
 * A stored recipe is never changed, except for its links.
 *
 * Links skip the cache lookup of a recirculated pass: the key a ct(table=N) step hands to the next pass is the
 * replayed pass's key (equal on every cached word) changed by the same actions, plus what conntrack answered.
 * So without NAT, (step, ct_state, ct_zone, ct_mark) names the next pass's recipe while the generation holds.
 */
class PassRecipe {
  n = 0;
  readonly ops: (CompiledOp | null)[];
  readonly tails: boolean[];
  readonly rules: (FlowRule | null)[];
  readonly reasons: string[];
  // Links, per step; made on the first link (most stored passes are never linked from).
  private linkTo: (PassRecipe | null)[] | null = null;
  private linkGen: number[] = [];
  private linkState: number[] = [];
  private linkZone: number[] = [];
  private linkMark: number[] = [];

  constructor(n: number) {
    this.ops = new Array<CompiledOp | null>(n).fill(null);
    this.tails = new Array<boolean>(n).fill(false);
    this.rules = new Array<FlowRule | null>(n).fill(null);
    this.reasons = new Array<string>(n).fill('');
  }

  push(op: CompiledOp | null, tail: boolean, rule: FlowRule | null, reason: string): void {
    const i = this.n++;
    this.ops[i] = op;
    this.tails[i] = tail;
    this.rules[i] = rule;
    this.reasons[i] = reason;
  }

  /** A stored copy of a recording (a fresh object: a replay in progress may still be reading an older one). */
  static from(o: PassRecipe): PassRecipe {
    const r = new PassRecipe(o.n);
    r.n = o.n;
    for (let i = 0; i < o.n; i++) {
      r.ops[i] = o.ops[i]!;
      r.tails[i] = o.tails[i]!;
      r.rules[i] = o.rules[i]!;
      r.reasons[i] = o.reasons[i]!;
    }
    return r;
  }

  /** The recipe linked from ct step `i` for this conntrack answer, or null. */
  linked(i: number, generation: number, key: Int32Array): PassRecipe | null {
    return this.linkTo !== null &&
      this.linkGen[i] === generation &&
      this.linkState[i] === key[W_CT_STATE] &&
      this.linkZone[i] === key[W_CT_ZONE] &&
      this.linkMark[i] === key[W_CT_MARK]
      ? this.linkTo[i]!
      : null;
  }

  link(i: number, generation: number, key: Int32Array, to: PassRecipe): void {
    if (this.linkTo === null) {
      const n = this.ops.length;
      this.linkTo = new Array<PassRecipe | null>(n).fill(null);
      this.linkGen = new Array<number>(n).fill(0);
      this.linkState = new Array<number>(n).fill(0);
      this.linkZone = new Array<number>(n).fill(0);
      this.linkMark = new Array<number>(n).fill(0);
    }
    this.linkTo[i] = to;
    this.linkGen[i] = generation;
    this.linkState[i] = key[W_CT_STATE]!;
    this.linkZone[i] = key[W_CT_ZONE]!;
    this.linkMark[i] = key[W_CT_MARK]!;
  }
}

const DROP_DEPTH = `over max translation depth ${MAX_DEPTH}`;
const DROP_RESUBMITS = `over ${MAX_RESUBMITS} resubmit actions`;
const DROP_RECIRC = `over ${MAX_RECIRCULATIONS} recirculations`;
const DROP_TTL = 'dec_ttl: TTL expired';
const DROP_NO_GROUP = 'group does not exist';

function compileAction(a: Action, tableId: number, priority: number): CompiledOp {
  const c = new CompiledOp();
  c.text = formatAction(a);
  switch (a.type) {
    case 'output':
      c.op = Op.Output;
      c.port = a.port;
      c.skipReason = `table ${tableId} priority ${priority}: output to in_port skipped`;
      break;
    case 'output_reg':
      c.op = Op.OutputReg;
      c.src = a.src.field;
      c.srcOfs = a.src.ofs;
      c.n = a.src.n;
      c.skipReason = `table ${tableId} priority ${priority}: output to in_port skipped`;
      break;
    case 'goto_table':
      c.op = Op.Goto;
      c.table = a.table;
      break;
    case 'resubmit':
      c.op = Op.Resubmit;
      c.port = a.port ?? -1;
      c.table = a.table ?? -1;
      break;
    case 'load': {
      c.op = Op.Load;
      c.field = a.dst.field;
      c.ofs = a.dst.ofs;
      c.n = a.dst.n;
      [c.hi, c.lo] = int32Halves(a.value);
      break;
    }
    case 'move':
      c.op = Op.Move;
      c.src = a.src.field;
      c.srcOfs = a.src.ofs;
      c.field = a.dst.field;
      c.ofs = a.dst.ofs;
      c.n = a.dst.n;
      break;
    case 'set_field':
      c.op = Op.SetField;
      c.field = a.field;
      [c.hi, c.lo] = int32Halves(a.value);
      if (a.mask !== undefined) {
        c.masked = true;
        [c.maskHi, c.maskLo] = int32Halves(a.mask);
      }
      break;
    case 'ct': {
      c.op = Op.Ct;
      let mark: number | undefined;
      for (const e of a.exec) {
        if (e.type === 'set_field') mark = Number(e.value);
        else if (e.type === 'load') mark = (Number(e.value) << e.dst.ofs) >>> 0;
      }
      const req: CtRequest = { commit: a.commit, nat: a.nat !== undefined, zone: a.zone, table: a.table };
      if (a.nat) req.natSpec = a.nat;
      if (mark !== undefined) req.mark = mark;
      c.ct = req;
      c.table = a.table ?? -1;
      break;
    }
    case 'ct_clear':
      c.op = Op.CtClear;
      break;
    case 'group':
      c.op = Op.Group;
      c.groupId = a.id;
      break;
    case 'note':
      c.op = Op.Note;
      break;
    case 'dec_ttl':
      c.op = Op.DecTtl;
      break;
    case 'unmodelled':
      // A real node's flow that packetwalk cannot run (state/): the walk stops here and says so.
      c.op = Op.Unmodelled;
      c.skipReason = `table ${tableId} priority ${priority}: not modelled: ${a.text}`;
      break;
  }
  return c;
}

/**
 * A parsed value's 32-bit halves as int32s: compiled ops hand them to field writers, and a uint32 >= 2^31 passed
 * to a call that is not inlined would be a heap number per packet.
 */
function int32Halves(v: bigint): [number, number] {
  const [hi, lo] = splitBig(v);
  return [hi | 0, lo | 0];
}

const FIELD_WORDS = new Map<RwField, number[]>();
/** The key words a field reads, probed once per field. */
function wordsOf(f: RwField): number[] {
  let ws = FIELD_WORDS.get(f);
  if (!ws) FIELD_WORDS.set(f, (ws = fieldWords(f)));
  return ws;
}

/** Write a value of up to 64 bits into bits [ofs, ofs+n) of a field. */
function loadBits(f: RwField, ctx: ExecContext, ofs: number, n: number, hi: number, lo: number): void {
  if (n <= 32) writeBits(f, ctx, ofs, n, lo);
  else {
    writeBits(f, ctx, ofs, 32, lo);
    writeBits(f, ctx, ofs + 32, n - 32, hi);
  }
}

export class Bridge {
  readonly drops = new Map<string, number>();
  private readonly tables: (Table | undefined)[] = new Array(255).fill(undefined);
  private readonly groups = new Map<number, CompiledGroup>();
  private readonly pool: BufferPool;
  private readonly now: () => number;
  private readonly prereq: PrereqPolicy;
  private readonly frames: Frame[] = [];
  private level = 0;
  private seq = 0;
  /** Untraced passes by flow key (pass-cache.ts); invalidated by every flow or group change. */
  private readonly passCache = new PassCache<PassRecipe>();
  /** The pass cache's key words need recomputing (flows or groups changed). */
  private cacheWordsStale = true;

  private readonly config: ConfigVersion;
  private readonly watch: PathWatch;

  constructor(
    readonly name: string,
    private readonly host: BridgeHost,
    opts: BridgeOptions = {},
  ) {
    this.config = opts.config ?? new ConfigVersion();
    this.watch = opts.watch ?? new PathWatch();
    this.pool = opts.pool ?? new BufferPool();
    this.now = opts.now ?? (() => 0);
    this.prereq = opts.prerequisites ?? 'reject';
  }

  // ---------------------------------------------------------------- configuration (cold path)

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
    this.flowsChanged();
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
    this.flowsChanged();
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
    this.flowsChanged();
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
    this.flowsChanged();
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

  /** Every flow or group change: cached passes are void, and the words they key on may change. */
  private flowsChanged(): void {
    this.config.changed();
    this.passCache.invalidate();
    this.cacheWordsStale = true;
  }

  /**
   * The key words that decide which flows match and which actions run in a pass: the words some flow matches
   * on, the fields actions read or partially write, and the select-group hash inputs. Other words only flow
   * through actions that replay executes afresh.
   */
  private cacheWords(): Int32Array {
    const union = new Int32Array(N_MATCH_WORDS);
    for (const t of this.tables) t?.classifier.orMatchMasks(union);
    const used = new Set<number>();
    for (let w = 0; w < N_MATCH_WORDS; w++) if (union[w] !== 0) used.add(w);
    const addOps = (prog: readonly CompiledOp[]): void => {
      for (const c of prog) {
        if (c.field) for (const w of wordsOf(c.field)) used.add(w);
        if (c.src) for (const w of wordsOf(c.src)) used.add(w);
      }
    };
    for (const t of this.tables) if (t) for (const r of t.classifier.rules()) addOps(r.program);
    for (const g of this.groups.values()) {
      for (const b of g.buckets) addOps(b);
      if (g.spec.type === 'select') for (const w of [W_NW_SRC, W_NW_DST, W_NW_PROTO, W_TP_SRC, W_TP_DST]) used.add(w);
    }
    return Int32Array.from([...used].sort((a, b) => a - b));
  }

  // ---------------------------------------------------------------- packet path

  private lastDrop = '';

  /** Why the last packet that produced no output was dropped. */
  lastDropReason(): string {
    return this.lastDrop;
  }

  /**
   * Run pkt (pkt.inPort set by the caller) through the tables from table 0.
   * Returns true when pkt itself was handed to host.output (the caller must not reuse it); false when the
   * caller still owns it (dropped, or only clones were output).
   */
  process(pkt: PacketBuffer, trace?: TraceRecorder): boolean {
    const f = this.frames[this.level] ?? (this.frames[this.level] = new Frame());
    this.level++;
    try {
      f.pkt = f.original = pkt;
      f.trace = trace;
      f.outputs = 0;
      f.originalConsumed = false;
      f.recircHead = f.recircTail = 0;
      f.recircCount = 0;
      f.dropReason = '';
      extractFlowKey(pkt, f.key);
      f.linkFrom = null;
      this.runPass(f, 0, 0);
      while (f.recircHead < f.recircTail) {
        const slot = f.recircs[f.recircHead++]!;
        const p = slot.pkt!;
        slot.pkt = undefined;
        f.pkt = p;
        f.key.set(slot.key);
        // Without nat, conntrack leaves the bytes alone and the snapshot's packet fields are still exact.
        if (slot.natted) extractPacketFields(p, f.key);
        f.key[W_CT_STATE] = p.ctState;
        f.key[W_CT_ZONE] = p.ctZone;
        f.key[W_CT_MARK] = p.ctMark;
        if (++p.recirc > MAX_RECIRCULATIONS) {
          f.dropReason = DROP_RECIRC;
          if (slot.owned) this.pool.release(p);
          continue;
        }
        if (f.trace) f.trace.add('ct', slot.header, { section: 'recirc', recircId: slot.id });
        f.linkFrom = slot.natted ? null : slot.from;
        f.linkStep = slot.fromStep;
        slot.from = null;
        this.runPass(f, slot.table, slot.id);
        if (slot.owned && !f.consumed) this.pool.release(p);
      }
      if (f.outputs === 0) {
        this.drops.set(f.dropReason, (this.drops.get(f.dropReason) ?? 0) + 1);
        this.lastDrop = f.dropReason;
      }
      return f.originalConsumed;
    } finally {
      f.trace = undefined;
      this.level--;
    }
  }

  private runPass(f: Frame, table: number, recircId: number): void {
    f.depth = 0;
    f.resubmits = 0;
    f.halted = false;
    f.consumed = false;
    const trace = f.trace;
    let before: Int32Array | undefined;
    if (trace) {
      before = f.key.slice();
      f.dpActions = [];
      trace.add('detail', `Flow: ${formatFlowKey(f.key, recircId)}`, { section: 'flow' });
      trace.open('bridge', `bridge("${this.name}")`, { bridge: this.name });
      if (recircId) {
        trace.open('detail', 'thaw', { indent: 1 });
        trace.add('detail', `Resuming from table ${table}`);
        trace.close();
      }
    }
    if (trace) this.tableLoop(f, table, true);
    else this.untracedPass(f, table);
    if (f.pkt === f.original && f.consumed) f.originalConsumed = true;
    if (trace) {
      trace.close();
      let changed = false;
      for (let w = 0; w < N_KEY_WORDS; w++) if (before![w] !== f.key[w]) changed = true;
      trace.open('detail', 'summary', { section: 'summary' });
      trace.add('detail', `Final flow: ${changed ? formatFlowKey(f.key, recircId) : 'unchanged'}`);
      trace.add('detail', `Datapath actions: ${f.dpActions.length ? f.dpActions.join(',') : 'drop'}`);
      if (f.halted && f.dropReason === DROP_DEPTH)
        trace.add('error', 'Translation failed (Recursion too deep), packet is dropped.');
      trace.close();
    }
  }

  /**
   * An untraced pass: replay it from the pass cache, or run it while recording the steps and store them unless
   * something the key does not determine happened (see the veto points: resubmit to another in_port, `all`
   * groups, a missing group, ct(nat) without recirculation, a halt).
   */
  private untracedPass(f: Frame, table: number): void {
    const cache = this.passCache;
    if (this.cacheWordsStale) {
      cache.setWords(this.cacheWords());
      this.cacheWordsStale = false;
    }
    const generation = cache.current;
    const from = f.linkFrom,
      fromStep = f.linkStep;
    f.linkFrom = null;
    if (from !== null) {
      const linked = from.linked(fromStep, generation, f.key);
      if (linked !== null) {
        this.replay(f, linked);
        return;
      }
    }
    const slot = cache.slotOf(f.key, table);
    const hit = cache.get(slot);
    if (hit !== null) {
      if (from !== null) from.link(fromStep, generation, f.key, hit);
      this.replay(f, hit);
      return;
    }
    if (cache.firstMiss(slot)) {
      this.tableLoop(f, table, true);
      return;
    }
    f.recKey.set(f.key);
    f.rec.n = 0;
    f.recBad = false;
    f.recording = true;
    this.tableLoop(f, table, true);
    f.recording = false;
    if (f.recBad || f.halted) return;
    const recipe = PassRecipe.from(f.rec);
    cache.store(slot, f.recKey, table, recipe, generation);
    if (from !== null) from.link(fromStep, generation, f.recKey, recipe);
  }

  /** Run a recorded pass: the same counter bumps, drop reasons and actions, in the same order, with no lookups. */
  private replay(f: Frame, r: PassRecipe): void {
    const ops = r.ops,
      tails = r.tails,
      rules = r.rules;
    for (let i = 0; i < r.n; i++) {
      const c = ops[i]!;
      if (c !== null) {
        f.replaying = r;
        f.replayStep = i;
        this.execOp(f, c, tails[i]!);
        f.replaying = null;
        if (f.halted) return;
        continue;
      }
      const rule = rules[i]!;
      if (rule !== null) {
        rule.countPacket(f.pkt.length);
        this.watch.observer?.flowCounted(rule, f.pkt.length);
        f.rule = rule;
        f.dropReason = rule.dropReason;
      } else {
        f.dropReason = r.reasons[i]!;
      }
    }
  }

  /** Look up `tableId` and run the matched flow, following goto_table tail calls. */
  private tableLoop(f: Frame, tableId: number, tail: boolean): void {
    const trace = f.trace;
    for (;;) {
      if (f.depth >= MAX_DEPTH || f.resubmits >= MAX_RESUBMITS) {
        f.dropReason = f.depth >= MAX_DEPTH ? DROP_DEPTH : DROP_RESUBMITS;
        f.halted = true;
        if (trace) trace.add('error', ` >>>> ${f.dropReason} <<<<`);
        return;
      }
      f.depth++;
      f.resubmits++;
      const table = this.tables[tableId];
      const rule = table?.classifier.lookup(f.key);
      if (rule === undefined) {
        f.dropReason = table ? table.noMatchReason : `no flow matched in table ${tableId}`;
        if (f.recording) f.rec.push(null, false, null, f.dropReason);
        if (trace) {
          trace.open('table', table ? table.noMatchText : `${String(tableId).padStart(2)}. No match.`, {
            table: tableId,
          });
          trace.add('action', 'drop');
          trace.close();
        }
        return;
      }
      rule.countPacket(f.pkt.length);
      this.watch.observer?.flowCounted(rule, f.pkt.length);
      f.rule = rule;
      f.dropReason = rule.dropReason;
      if (f.recording) f.rec.push(null, false, rule, '');
      if (trace) {
        trace.open('table', rule.traceText, { table: tableId, priority: rule.priority });
        if (rule.program.length === 0) trace.add('action', 'drop');
      }
      const next = this.execList(f, rule.program, tail, tableId);
      if (trace) trace.close();
      if (next < 0 || f.halted) return;
      tableId = next;
    }
  }

  /** Run compiled ops. Returns the table of a tail goto_table/resubmit, or -1. */
  private execList(f: Frame, prog: readonly CompiledOp[], tail: boolean, tableId: number): number {
    const trace = f.trace;
    const key = f.key;
    for (let i = 0; i < prog.length; i++) {
      const c = prog[i]!;
      const isTail = tail && i === prog.length - 1;
      if (trace) trace.add('action', c.text);
      switch (c.op) {
        case Op.Goto:
          return c.table;
        case Op.Resubmit: {
          const target = c.table >= 0 ? c.table : tableId;
          if (isTail && c.port < 0) return target;
          const savedDepth = f.depth;
          const savedPort = key[W_IN_PORT]!;
          if (c.port >= 0) {
            key[W_IN_PORT] = c.port;
            // Outputs inside see another in_port: not worth recording.
            f.recBad = true;
          }
          this.tableLoop(f, target, false);
          key[W_IN_PORT] = savedPort;
          f.depth = savedDepth;
          break;
        }
        case Op.Group:
          this.group(f, c, isTail);
          break;
        case Op.Note:
          break;
        case Op.Unmodelled:
          f.dropReason = c.skipReason;
          f.halted = true;
          if (trace) trace.add('warn', ` >> ${c.skipReason.replace(/^.*?: /, '')}: packetwalk stops the walk here`);
          return -1;
        default:
          if (f.recording) f.rec.push(c, isTail, null, '');
          this.execOp(f, c, isTail);
      }
      if (f.halted) return -1;
    }
    return -1;
  }

  /** One action that is not control flow (goto, resubmit, group): the steps a pass replay runs. */
  private execOp(f: Frame, c: CompiledOp, isTail: boolean): void {
    const trace = f.trace;
    const key = f.key;
    switch (c.op) {
      case Op.Output:
        this.output(f, c.port, isTail, c);
        break;
      case Op.OutputReg: {
        const port = extractBits(c.src!.hi(f), c.src!.lo(f), c.srcOfs, Math.min(c.n, 32));
        if (trace) trace.add('detail', ` -> output port is ${formatPort(port)}`);
        this.output(f, port, isTail, c);
        break;
      }
      case Op.Load:
        loadBits(c.field!, f, c.ofs, c.n, c.hi, c.lo);
        if (c.field!.frame !== undefined) this.recordFieldWrite(f, c.field!);
        break;
      case Op.Move:
        moveBits(c.src!, c.srcOfs, c.field!, c.ofs, c.n, f);
        if (c.field!.frame !== undefined) this.recordFieldWrite(f, c.field!);
        if (trace) {
          const v =
            c.n <= 32
              ? hexC(extractBits(c.field!.hi(f), c.field!.lo(f), c.ofs, c.n))
              : hexC(c.field!.hi(f) * 0x100000000 + c.field!.lo(f));
          trace.add('detail', ` -> ${formatSubfield({ field: c.field!, ofs: c.ofs, n: c.n })} is now ${v}`);
        }
        break;
      case Op.SetField: {
        const fld = c.field!;
        if (c.masked) fld.write(f, (fld.hi(f) & ~c.maskHi) | c.hi, (fld.lo(f) & ~c.maskLo) | c.lo);
        else fld.write(f, c.hi, c.lo);
        if (fld.frame !== undefined) this.recordFieldWrite(f, fld);
        break;
      }
      case Op.Ct:
        this.conntrack(f, c, isTail);
        break;
      case Op.CtClear:
        key[W_CT_STATE] = key[W_CT_ZONE] = key[W_CT_MARK] = 0;
        f.pkt.ctState = f.pkt.ctZone = f.pkt.ctMark = 0;
        break;
      case Op.DecTtl:
        this.decTtl(f);
        break;
      default:
        break;
    }
  }

  /** A path recording notes a write into the frame's bytes: a MAC as constant bytes; anything else cannot be replayed. */
  private recordFieldWrite(f: Frame, fld: RwField): void {
    const rec = this.watch.observer;
    if (rec === null) return;
    const w = fld.frame!;
    if (w.kind === 'bytes' && f.pkt.length >= 14) rec.wrote(f.pkt, f.pkt.start + w.offset, w.length);
    else rec.veto(`br0 rewrite of ${fld.name}`);
  }

  private output(f: Frame, port: number, isTail: boolean, c: CompiledOp): void {
    const inPort = f.key[W_IN_PORT]!;
    if (port === OFPP_IN_PORT) port = inPort;
    else if (port === inPort) {
      // OVS drops output to the input port unless it is written as in_port/IN_PORT.
      f.dropReason = c.skipReason;
      if (f.trace) f.trace.add('warn', ' >> skipping output to input port');
      return;
    }
    f.outputs++;
    const pkt = f.pkt;
    if (f.trace) f.dpActions.push(String(port));
    if (isTail) {
      f.consumed = true;
      this.host.output(port, pkt, f.trace, f.rule);
    } else {
      this.watch.observer?.veto('br0 output of a copy');
      this.host.output(port, this.pool.acquire().copyFrom(pkt), f.trace, f.rule);
    }
  }

  private conntrack(f: Frame, c: CompiledOp, isTail: boolean): void {
    const req = c.ct!;
    const trace = f.trace;
    const key = f.key;
    if (c.table < 0) {
      const refused = this.host.conntrack(f.pkt, req, trace);
      if (refused) return this.conntrackDrop(f, refused);
      if (req.nat) {
        extractPacketFields(f.pkt, key);
        // The fields now come from conntrack's NAT, not from the key the pass started with.
        f.recBad = true;
      }
      if (trace) {
        f.dpActions.push(c.text);
        trace.add('detail', ' -> Sets the packet to an untracked state, and clears all the conntrack fields.');
      }
      key[W_CT_STATE] = key[W_CT_ZONE] = key[W_CT_MARK] = 0;
      return;
    }
    if (f.recircCount >= MAX_RECIRCULATIONS) {
      f.dropReason = DROP_RECIRC;
      f.halted = true;
      if (trace) trace.add('error', ` >>>> ${DROP_RECIRC} <<<<`);
      return;
    }
    if (!isTail) this.watch.observer?.veto('br0 ct() of a copy');
    const target = isTail ? f.pkt : this.pool.acquire().copyFrom(f.pkt);
    const refused = this.host.conntrack(target, req, trace);
    if (refused) {
      if (!isTail) this.pool.release(target);
      return this.conntrackDrop(f, refused);
    }
    const slot = f.recircs[f.recircTail] ?? (f.recircs[f.recircTail] = new RecircSlot());
    f.recircTail++;
    f.recircCount++;
    slot.pkt = target;
    slot.table = c.table;
    slot.owned = !isTail;
    slot.natted = req.nat;
    slot.id = f.recircCount;
    slot.key.set(key);
    slot.from = f.replaying;
    slot.fromStep = f.replayStep;
    // The original continues untracked (and, at the end of a list, is dropped: OVS prints `drop`).
    key[W_CT_STATE] = key[W_CT_ZONE] = key[W_CT_MARK] = 0;
    if (trace) {
      if (isTail) trace.add('action', 'drop');
      trace.add(
        'detail',
        ` -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table ${c.table}.`,
      );
      trace.add('detail', ' -> Sets the packet to an untracked state, and clears all the conntrack fields.');
      const args = [req.commit ? 'commit' : '', req.zone ? `zone=${req.zone}` : '', req.nat ? 'nat' : '']
        .filter(Boolean)
        .join(',');
      f.dpActions.push(`ct${args ? `(${args})` : ''}`, `recirc(0x${slot.id.toString(16)})`);
      slot.header = `recirc(0x${slot.id.toString(16)}) - resume conntrack with ct_state=${ctStateFlags(target.ctState) || '0'}`;
    }
    if (isTail) f.dropReason = '';
  }

  /** Conntrack refused the packet: translation stops and the packet is dropped (the caller still owns it). */
  private conntrackDrop(f: Frame, reason: string): void {
    f.dropReason = `ct: ${reason}`;
    f.halted = true;
    if (f.trace) f.trace.add('error', ` >>>> ${f.dropReason} <<<<`);
  }

  private group(f: Frame, c: CompiledOp, isTail: boolean): void {
    const g = this.groups.get(c.groupId);
    const trace = f.trace;
    if (g === undefined) {
      f.recBad = true;
      f.dropReason = DROP_NO_GROUP;
      if (trace) trace.add('warn', ` >> group ${c.groupId} does not exist`);
      return;
    }
    const type = g.spec.type;
    if (type === 'select' || type === 'indirect' || type === 'ff') {
      const idx =
        type === 'select' ? selectBucket(g.spec.buckets, g.totalWeight, flowHash(f.key)) : g.buckets.length ? 0 : -1;
      if (idx < 0) {
        if (trace) trace.add('detail', ' -> no live bucket');
        return;
      }
      if (trace) {
        if (type === 'select') trace.add('detail', ` -> using bucket ${idx}`);
        trace.open('action', g.bucketText[idx]!, { bucket: idx, extraIndent: 1 });
      }
      this.runBucket(f, g.buckets[idx]!, isTail);
      if (trace) trace.close();
      return;
    }
    // type=all: every bucket sees the flow as it was before the group.
    f.recBad = true;
    const level = f.groupNesting++;
    const saved = f.saved[level] ?? (f.saved[level] = newFlowKey());
    saved.set(f.key);
    for (let i = 0; i < g.buckets.length && !f.halted; i++) {
      const last = i === g.buckets.length - 1;
      if (trace) trace.open('action', g.bucketText[i]!, { bucket: i, extraIndent: 1 });
      this.runBucket(f, g.buckets[i]!, isTail && last);
      if (trace) trace.close();
      if (!last && !f.consumed) {
        f.key.set(saved);
        syncMetadataToPacket(f.key, f.pkt);
      }
    }
    f.groupNesting--;
  }

  private runBucket(f: Frame, prog: readonly CompiledOp[], tail: boolean): void {
    const next = this.execList(f, prog, tail, -1);
    if (next >= 0 && !f.halted) this.tableLoop(f, next, tail);
  }

  private decTtl(f: Frame): void {
    const key = f.key;
    const l3 = key[W_L3_OFS]!;
    if (l3 < 0 || key[W_DL_TYPE] !== ETH_TYPE_IP) return;
    const b = f.pkt.data;
    const ttl = b[l3 + 8]!;
    if (ttl <= 1) {
      f.dropReason = DROP_TTL;
      f.halted = true;
      if (f.trace) f.trace.add('warn', ' >> dec_ttl: TTL expired, packet dropped');
      return;
    }
    this.watch.observer?.ovsDecTtl(f.pkt, l3);
    decrementIpv4Ttl(b, l3);
    key[W_NW_TTL] = ttl - 1;
  }
}

export { DEFAULT_PRIORITY };
