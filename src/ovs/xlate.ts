/**
 * Translation: a packet walked through br0's tables, its flows' actions executed on the real bytes — the role of
 * Open vSwitch's ofproto/ofproto-dpif-xlate.c (xlate_actions, xlate_table_action, do_xlate_actions,
 * compose_output_action, compose_conntrack_action, xlate_group_action). Semantics follow OVS 3.1:
 *   - goto_table and a trailing resubmit are tail calls; nesting is limited to 64 (MAX_DEPTH, "over max
 *     translation depth 64") and to 4096 table visits per pass (MAX_RESUBMITS);
 *   - `output` to the packet's own in_port is skipped ("skipping output to input port");
 *   - ct(table=N) runs the host's conntrack and recirculates from table N after the current pass ends
 *     (registers survive recirculation, ct_state/ct_zone/ct_mark come from conntrack); the original packet
 *     continues untracked, which is why OVS prints `drop` after `ct(table=0)`;
 *   - an `all` group runs every bucket on the same flow (key restored between buckets); `select` picks one
 *     bucket by a deterministic flow hash (groups.ts).
 * An untraced pass replays from the pass cache (pass-cache.ts) when it can; a traced one always walks, and writes
 * the ofproto/trace text (trace-format.ts). On the untraced path nothing is allocated per packet (clones for
 * multi-output come from the BufferPool). process() is re-entrant: a host that synchronously feeds a packet back
 * into the same bridge (tun0 -> kernel -> tun0) gets a fresh frame of state.
 */

import { decrementIpv4Ttl } from '../../codecs/ipv4.js';
import type { BufferPool, PacketBuffer } from '../buffer/packet-buffer.js';
import type { PathWatch } from '../path-observer/path-watch.js';
import type { TraceRecorder } from '../trace/types.js';
import { formatSubfield } from './actions.js';
import { Op, type CompiledOp, type CtRequest } from './compile-actions.js';
import { extractBits, moveBits, writeBits, type ExecContext, type RwField } from './field-access.js';
import { extractFlowKey, extractPacketFields, syncMetadataToPacket } from './flow-key.js';
import {
  ETH_TYPE_IP,
  OFPP_IN_PORT,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_TYPE,
  W_IN_PORT,
  W_L3_OFS,
  W_NW_TTL,
  newFlowKey,
} from './fields.js';
import type { CompiledGroup, FlowRule, FlowTables, Table } from './flow-tables.js';
import { flowHash, selectBucket } from './groups.js';
import { formatPort, hexC } from './match.js';
import { PassCache, PassRecipe } from './pass-cache.js';
import { traceCtRecirc, tracePassEnd, tracePassStart } from './trace-format.js';

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

/** OVS's limit on nested table lookups (MAX_DEPTH in ofproto-dpif-xlate.c). */
export const MAX_DEPTH = 64;
/** OVS's limit on table lookups in one translation (MAX_RESUBMITS). */
export const MAX_RESUBMITS = 4096;
/** Recirculations per packet before we call it a loop. */
export const MAX_RECIRCULATIONS = 16;

const DROP_DEPTH = `over max translation depth ${MAX_DEPTH}`;
const DROP_RESUBMITS = `over ${MAX_RESUBMITS} resubmit actions`;
const DROP_RECIRC = `over ${MAX_RECIRCULATIONS} recirculations`;
const DROP_TTL = 'dec_ttl: TTL expired';
const DROP_NO_GROUP = 'group does not exist';

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

/** Write a value of up to 64 bits into bits [ofs, ofs+n) of a field. */
function loadBits(f: RwField, ctx: ExecContext, ofs: number, n: number, hi: number, lo: number): void {
  if (n <= 32) writeBits(f, ctx, ofs, n, lo);
  else {
    writeBits(f, ctx, ofs, 32, lo);
    writeBits(f, ctx, ofs + 32, n - 32, hi);
  }
}

/** Translation for one bridge: walks packets through its tables (`ofproto`) and hands outputs to `host`. */
export class Xlate {
  readonly drops = new Map<string, number>();
  private readonly frames: Frame[] = [];
  private level = 0;
  private lastDrop = '';
  /** Untraced passes by flow key (pass-cache.ts); invalidated by every flow or group change. */
  private readonly passCache = new PassCache();
  /** The pass cache's key words need recomputing (flows or groups changed). */
  private cacheWordsStale = true;

  /** The tables and groups of `ofproto` (the same objects: read on every lookup without going through it). */
  private readonly tables: readonly (Table | undefined)[];
  private readonly groups: ReadonlyMap<number, CompiledGroup>;

  constructor(
    private readonly name: string,
    private readonly ofproto: FlowTables,
    private readonly host: BridgeHost,
    private readonly pool: BufferPool,
    private readonly watch: PathWatch,
  ) {
    this.tables = ofproto.tables;
    this.groups = ofproto.groups;
  }

  /** Flows or groups changed: cached passes are void, and the words they key on may change. */
  flowsChanged(): void {
    this.passCache.invalidate();
    this.cacheWordsStale = true;
  }

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
      tracePassStart(trace, this.name, f.key, recircId, table);
    }
    if (trace) this.tableLoop(f, table, true);
    else this.untracedPass(f, table);
    if (f.pkt === f.original && f.consumed) f.originalConsumed = true;
    if (trace) tracePassEnd(trace, before!, f.key, recircId, f.dpActions, f.halted && f.dropReason === DROP_DEPTH);
  }

  /**
   * An untraced pass: replay it from the pass cache, or run it while recording the steps and store them unless
   * something the key does not determine happened (see the veto points: resubmit to another in_port, `all`
   * groups, a missing group, ct(nat) without recirculation, a halt).
   */
  private untracedPass(f: Frame, table: number): void {
    const cache = this.passCache;
    if (this.cacheWordsStale) {
      cache.setWords(this.ofproto.cacheWords());
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
    if (trace) slot.header = traceCtRecirc(trace, req, isTail, c.table, slot.id, target.ctState, f.dpActions);
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
