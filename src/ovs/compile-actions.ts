/**
 * The action compiler: parsed OpenFlow actions (actions.ts) turned once, at flow install, into flat op objects the
 * translation runs without looking at text again. It imitates Open vSwitch's ofp-actions.c (ofpacts_decode: wire or
 * text actions into the `struct ofpact` list ofproto-dpif-xlate.c executes).
 */

import { formatAction, type Action, type NatSpec } from './actions.js';
import { fieldWords, splitBig, type RwField } from './field-access.js';

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

export const enum Op {
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
export class CompiledOp {
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

/** Compile one action of a flow in `tableId` at `priority` (both name the flow in drop reasons; -1 in group buckets). */
export function compileAction(a: Action, tableId: number, priority: number): CompiledOp {
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

/** Add to `used` the key words the ops read or partially write (the pass cache keys on them). */
export function addOpWords(prog: readonly CompiledOp[], used: Set<number>): void {
  for (const c of prog) {
    if (c.field) for (const w of wordsOf(c.field)) used.add(w);
    if (c.src) for (const w of wordsOf(c.src)) used.add(w);
  }
}
