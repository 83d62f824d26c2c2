/**
 * OpenFlow actions of br0 as data: parsed from ovs-ofctl text and printed in OVS 3.1's normal form
 * (`load:0x2a->NXM_NX_REG0[]`, `set_field:10.0.123.45->tun_dst`, `ct(commit,table=31)`, `ct(table=70,nat)`,
 * `note:00.0d.00.00.00.00`, `IN_PORT`, `LOCAL`). Compilation lives in compile-actions.ts, execution in xlate.ts;
 * this file only knows syntax.
 */

import { ipv4ToString, macToString, tryParseIpv4, tryParseMac } from '../../codecs/bytes.js';
import { findRwField, type RwField } from './field-access.js';
import { formatPort, hexC, parsePort, parseUint } from './match.js';
import { OFPP_IN_PORT } from './fields.js';

/** Bits [ofs, ofs+n) of a field, as in `NXM_NX_REG0[0..15]`. */
export interface Subfield {
  field: RwField;
  ofs: number;
  n: number;
}

/** ct(nat(...)) arguments. No kind means "nat" alone: apply the NAT of an existing connection (un-NAT replies). */
export interface NatSpec {
  kind?: 'src' | 'dst';
  addrMin?: number;
  addrMax?: number;
  portMin?: number;
  portMax?: number;
  /** persistent, random, hash (accepted and printed; the emulated conntrack decides what they mean). */
  flags: string[];
}

export type Action =
  | { type: 'output'; port: number }
  | { type: 'output_reg'; src: Subfield }
  | { type: 'goto_table'; table: number }
  | { type: 'resubmit'; port: number | undefined; table: number | undefined }
  | { type: 'load'; value: bigint; dst: Subfield }
  | { type: 'move'; src: Subfield; dst: Subfield }
  | { type: 'set_field'; value: bigint; mask: bigint | undefined; field: RwField }
  | { type: 'ct'; commit: boolean; table: number | undefined; zone: number; nat: NatSpec | undefined; exec: Action[] }
  | { type: 'ct_clear' }
  | { type: 'group'; id: number }
  | { type: 'note'; bytes: number[] }
  | { type: 'dec_ttl' }
  /**
   * An action (or match field) packetwalk does not model, kept as its text so a real node's dump loads whole
   * (parseFlow with `unmodelled: 'accept'`); a packet that reaches it stops there with "not modelled".
   */
  | { type: 'unmodelled'; text: string };

/** A syntax error inside an action list; `offset` is relative to the start of the actions text. */
export class ActionError extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly token: string,
  ) {
    super(message);
    this.name = 'ActionError';
  }
}

/** Split `a,b(c,d),e` at top-level commas, keeping each piece's offset. */
export function splitTopLevel(text: string, sep = ','): { text: string; offset: number }[] {
  const out: { text: string; offset: number }[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === sep && depth === 0) {
      out.push({ text: text.slice(start, i), offset: start });
      start = i + 1;
    }
  }
  out.push({ text: text.slice(start), offset: start });
  return out;
}

/** Parse `NXM_NX_REG0[]`, `NXM_NX_TUN_ID[0..31]`, `reg1[5]`, `tun_dst`. Throws Error. */
export function parseSubfield(s: string): Subfield {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:\[(?:(\d+)(?:\.\.(\d+))?)?\])?$/.exec(s);
  if (!m) throw new Error(`${s}: expected a field like NXM_NX_REG0[] or NXM_NX_TUN_ID[0..31]`);
  const field = findRwField(m[1]!);
  if (!field) {
    const hint = /^NXM_NX_REG(\d+)$|^reg(\d+)$/.exec(m[1]!) ? ' (this emulator has reg0..reg7)' : '';
    throw new Error(`${m[1]}: unknown field${hint}`);
  }
  if (m[2] === undefined) return { field, ofs: 0, n: field.bits };
  const a = +m[2];
  const b = m[3] === undefined ? a : +m[3];
  if (b < a) throw new Error(`${s}: starting bit ${a} is greater than ending bit ${b}`);
  if (b >= field.bits)
    throw new Error(`${s}: ending bit ${b} is not valid because field is only ${field.bits} bits wide`);
  return { field, ofs: a, n: b - a + 1 };
}

/** `NXM_NX_REG0[]`, `NXM_NX_REG1[5]`, `NXM_NX_TUN_ID[0..31]`. */
export function formatSubfield(sf: Subfield): string {
  if (sf.ofs === 0 && sf.n === sf.field.bits) return `${sf.field.nxm}[]`;
  if (sf.n === 1) return `${sf.field.nxm}[${sf.ofs}]`;
  return `${sf.field.nxm}[${sf.ofs}..${sf.ofs + sf.n - 1}]`;
}

/** Parse a set_field value for `field` (IPv4, MAC, port or integer). */
function parseFieldValue(field: RwField, s: string): bigint | undefined {
  switch (field.syntax) {
    case 'ipv4': {
      const v = tryParseIpv4(s);
      return v === undefined ? undefined : BigInt(v);
    }
    case 'mac': {
      const v = tryParseMac(s);
      return v === undefined ? undefined : BigInt(v);
    }
    case 'port': {
      const v = parsePort(s);
      return v === undefined ? undefined : BigInt(v);
    }
    default:
      return parseUint(s);
  }
}

function formatFieldValue(field: RwField, v: bigint): string {
  switch (field.syntax) {
    case 'ipv4':
      return ipv4ToString(Number(v));
    case 'mac':
      return macToString(Number(v));
    case 'port':
      return formatPort(Number(v));
    default:
      return hexC(v);
  }
}

/** If `mask` is one run of ones, its [ofs, n]; else undefined. */
function contiguous(mask: bigint): [number, number] | undefined {
  if (mask === 0n) return undefined;
  let ofs = 0;
  while (((mask >> BigInt(ofs)) & 1n) === 0n) ofs++;
  const run = mask >> BigInt(ofs);
  if ((run & (run + 1n)) !== 0n) return undefined;
  return [ofs, run.toString(2).length];
}

function parseNat(args: string | undefined, at: number): NatSpec {
  const nat: NatSpec = { flags: [] };
  if (args === undefined) return nat;
  for (const part of splitTopLevel(args)) {
    const p = part.text;
    const kv = /^(src|dst)=([\d.]+)(?:-([\d.]+))?(?::(\d+)(?:-(\d+))?)?$/.exec(p);
    if (kv) {
      nat.kind = kv[1] as 'src' | 'dst';
      nat.addrMin = tryParseIpv4(kv[2]!);
      nat.addrMax = kv[3] !== undefined ? tryParseIpv4(kv[3]) : undefined;
      if (nat.addrMin === undefined || (kv[3] !== undefined && nat.addrMax === undefined)) {
        throw new ActionError(`${p}: invalid IPv4 address in nat`, at + part.offset, p);
      }
      if (kv[4] !== undefined) nat.portMin = +kv[4];
      if (kv[5] !== undefined) nat.portMax = +kv[5];
    } else if (p === 'persistent' || p === 'random' || p === 'hash') {
      nat.flags.push(p);
    } else {
      throw new ActionError(
        `${p}: expected src=ADDR[-ADDR][:PORT[-PORT]], dst=..., persistent, random or hash in nat()`,
        at + part.offset,
        p,
      );
    }
  }
  return nat;
}

function formatNat(n: NatSpec): string {
  if (n.kind === undefined && n.flags.length === 0) return 'nat';
  let s = 'nat(';
  if (n.kind !== undefined && n.addrMin !== undefined) {
    s += `${n.kind}=${ipv4ToString(n.addrMin)}`;
    if (n.addrMax !== undefined && n.addrMax !== n.addrMin) s += `-${ipv4ToString(n.addrMax)}`;
    if (n.portMin !== undefined) {
      s += `:${n.portMin}`;
      if (n.portMax !== undefined && n.portMax !== n.portMin) s += `-${n.portMax}`;
    }
  }
  for (const f of n.flags) s += `${s.endsWith('(') ? '' : ','}${f}`;
  return `${s})`;
}

function parseCt(args: string, at: number): Action {
  const ct = {
    type: 'ct' as const,
    commit: false,
    table: undefined as number | undefined,
    zone: 0,
    nat: undefined as NatSpec | undefined,
    exec: [] as Action[],
  };
  if (args.trim() === '') return ct;
  for (const part of splitTopLevel(args)) {
    const p = part.text.trim();
    const pos = at + part.offset;
    let m: RegExpExecArray | null;
    if (p === 'commit') ct.commit = true;
    else if ((m = /^table=(\d+)$/.exec(p))) {
      ct.table = +m[1]!;
      if (ct.table > 254) throw new ActionError(`${p}: table must be 0..254`, pos, p);
    } else if ((m = /^zone=(\d+)$/.exec(p))) {
      ct.zone = +m[1]!;
      if (ct.zone > 0xffff) throw new ActionError(`${p}: zone must be 0..65535`, pos, p);
    } else if (p === 'nat') ct.nat = parseNat(undefined, pos);
    else if ((m = /^nat\((.*)\)$/.exec(p))) ct.nat = parseNat(m[1], pos + 4);
    else if ((m = /^exec\((.*)\)$/.exec(p))) {
      ct.exec = parseActionList(m[1]!, pos + 5);
      for (const a of ct.exec) {
        const f = a.type === 'set_field' ? a.field : a.type === 'load' ? a.dst.field : undefined;
        if (f?.name !== 'ct_mark') throw new ActionError(`ct(exec(...)) supports only setting ct_mark here`, pos, p);
      }
    } else {
      throw new ActionError(
        `${p}: unsupported ct argument (expected commit, table=N, zone=N, nat[(...)] or exec(...))`,
        pos,
        p,
      );
    }
  }
  // ovs-ofctl: "CT action requires commit flag if actions other than NAT without arguments are specified."
  if (!ct.commit && (ct.exec.length > 0 || (ct.nat !== undefined && ct.nat.kind !== undefined))) {
    throw new ActionError(
      'ct requires commit when it sets up NAT (nat(src=...)/nat(dst=...)) or has exec(...)',
      at,
      args,
    );
  }
  return ct;
}

function parseNote(s: string, at: number): number[] {
  const hex = s.replace(/\./g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new ActionError(`${s}: note expects hex byte pairs like 00.0d`, at, s);
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 2) bytes.push(parseInt(hex.slice(i, i + 2), 16));
  return bytes;
}

/** Parse one action. `at` is the offset of `text` in the whole actions string (for errors). */
export function parseAction(text: string, at = 0): Action {
  const s = text.trim();
  const fail = (msg: string): never => {
    throw new ActionError(msg, at, s);
  };
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ActionError) throw e;
      throw new ActionError((e as Error).message, at, s);
    }
  };
  if (s === '') return fail('empty action');
  if (s === 'in_port' || s === 'IN_PORT') return { type: 'output', port: OFPP_IN_PORT };
  if (s === 'LOCAL' || s === 'local') return { type: 'output', port: parsePort('LOCAL')! };
  if (/^\d+$/.test(s)) return { type: 'output', port: +s };
  if (s === 'dec_ttl') return { type: 'dec_ttl' };
  if (s === 'ct_clear') return { type: 'ct_clear' };
  if (s === 'ct') return parseCt('', at);
  let m = /^ct\((.*)\)$/.exec(s);
  if (m) return parseCt(m[1]!, at + 3);
  m = /^resubmit\((\w*),(\d*)\)$/.exec(s);
  if (m) {
    const port = m[1] === '' ? undefined : parsePort(m[1]!);
    if (m[1] !== '' && port === undefined) return fail(`${m[1]}: bad port in resubmit`);
    return { type: 'resubmit', port, table: m[2] === '' ? undefined : +m[2]! };
  }
  const colon = s.indexOf(':');
  if (colon < 0) return fail(`unknown action ${s}`);
  const name = s.slice(0, colon);
  const arg = s.slice(colon + 1);
  switch (name) {
    case 'output': {
      const p = parsePort(arg);
      if (p !== undefined) return { type: 'output', port: p };
      return { type: 'output_reg', src: wrap(() => parseSubfield(arg)) };
    }
    case 'goto_table': {
      if (!/^\d+$/.test(arg) || +arg > 254) return fail(`${arg}: goto_table expects a table number 0..254`);
      return { type: 'goto_table', table: +arg };
    }
    case 'resubmit': {
      const p = parsePort(arg);
      if (p === undefined) return fail(`${arg}: bad port in resubmit`);
      return { type: 'resubmit', port: p, table: undefined };
    }
    case 'group': {
      if (!/^\d+$/.test(arg)) return fail(`${arg}: group expects a group id`);
      return { type: 'group', id: +arg };
    }
    case 'note':
      return { type: 'note', bytes: parseNote(arg, at + colon + 1) };
    case 'load': {
      const arrow = arg.indexOf('->');
      if (arrow < 0) return fail(`${s}: expected load:VALUE->DST[bits]`);
      const value = parseUint(arg.slice(0, arrow));
      if (value === undefined) return fail(`${arg.slice(0, arrow)}: load expects a number`);
      const dst = wrap(() => parseSubfield(arg.slice(arrow + 2)));
      if (!dst.field.writable) return fail(`${dst.field.nxm} is read-only`);
      if (value >> BigInt(dst.n) !== 0n) return fail(`${arg}: value ${hexC(value)} does not fit into ${dst.n} bits`);
      return { type: 'load', value, dst };
    }
    case 'move': {
      const arrow = arg.indexOf('->');
      if (arrow < 0) return fail(`${s}: expected move:SRC[bits]->DST[bits]`);
      const src = wrap(() => parseSubfield(arg.slice(0, arrow)));
      const dst = wrap(() => parseSubfield(arg.slice(arrow + 2)));
      if (!dst.field.writable) return fail(`${dst.field.nxm} is read-only`);
      if (src.n !== dst.n)
        return fail(`${arg}: source field is ${src.n} bits wide but destination is ${dst.n} bits wide`);
      return { type: 'move', src, dst };
    }
    case 'set_field':
    case 'mod_dl_src':
    case 'mod_dl_dst': {
      let valueText: string;
      let field: RwField | undefined;
      if (name === 'set_field') {
        const arrow = arg.lastIndexOf('->');
        if (arrow < 0) return fail(`${s}: expected set_field:VALUE->FIELD`);
        valueText = arg.slice(0, arrow);
        field = findRwField(arg.slice(arrow + 2));
        if (!field) return fail(`${arg.slice(arrow + 2)}: unknown field for set_field`);
      } else {
        valueText = arg;
        field = findRwField(name === 'mod_dl_src' ? 'eth_src' : 'eth_dst')!;
      }
      if (!field.writable) return fail(`${field.name} is read-only`);
      const slash = valueText.indexOf('/');
      const value = parseFieldValue(field, slash < 0 ? valueText : valueText.slice(0, slash));
      if (value === undefined) return fail(`${valueText}: bad value for ${field.name}`);
      const full = (1n << BigInt(field.bits)) - 1n;
      if (value > full) return fail(`${valueText}: value too large for ${field.name}`);
      if (slash < 0) return { type: 'set_field', value, mask: undefined, field };
      const mask = parseFieldValue(field, valueText.slice(slash + 1));
      if (mask === undefined) return fail(`${valueText}: bad mask for ${field.name}`);
      if (mask === full) return { type: 'set_field', value, mask: undefined, field };
      // OVS turns a masked set_field with a contiguous mask into a load of those bits.
      const run = contiguous(mask);
      if (run) return { type: 'load', value: (value & mask) >> BigInt(run[0]), dst: { field, ofs: run[0], n: run[1] } };
      return { type: 'set_field', value: value & mask, mask, field };
    }
    default:
      return fail(`unknown action ${name}`);
  }
}

/** Parse a comma-separated action list (`drop` alone = empty list). */
export function parseActionList(text: string, at = 0): Action[] {
  const parts = splitTopLevel(text);
  if (parts.length === 1 && parts[0]!.text.trim() === 'drop') return [];
  const out: Action[] = [];
  for (const p of parts) {
    if (p.text.trim() === 'drop') {
      throw new ActionError('"drop" must not be accompanied by any other action or instruction', at + p.offset, 'drop');
    }
    out.push(parseAction(p.text, at + p.offset));
  }
  return out;
}

/** One action in OVS 3.1's printed form. */
export function formatAction(a: Action): string {
  switch (a.type) {
    case 'output':
      return a.port === OFPP_IN_PORT || a.port === 0xfffe ? formatPort(a.port) : `output:${a.port}`;
    case 'output_reg':
      return `output:${formatSubfield(a.src)}`;
    case 'goto_table':
      return `goto_table:${a.table}`;
    case 'resubmit':
      return a.table === undefined
        ? `resubmit:${formatPort(a.port!)}`
        : `resubmit(${a.port === undefined ? '' : formatPort(a.port)},${a.table})`;
    case 'load':
      return `load:${hexC(a.value)}->${formatSubfield(a.dst)}`;
    case 'move':
      return `move:${formatSubfield(a.src)}->${formatSubfield(a.dst)}`;
    case 'set_field':
      return `set_field:${formatFieldValue(a.field, a.value)}${a.mask === undefined ? '' : `/${formatFieldValue(a.field, a.mask)}`}->${a.field.name}`;
    case 'ct': {
      const parts: string[] = [];
      if (a.commit) parts.push('commit');
      if (a.table !== undefined) parts.push(`table=${a.table}`);
      if (a.zone !== 0) parts.push(`zone=${a.zone}`);
      if (a.nat) parts.push(formatNat(a.nat));
      if (a.exec.length) parts.push(`exec(${a.exec.map(formatAction).join(',')})`);
      return `ct(${parts.join(',')})`;
    }
    case 'ct_clear':
      return 'ct_clear';
    case 'group':
      return `group:${a.id}`;
    case 'note': {
      // The NXAST_NOTE action is padded with zero bytes to a multiple of 8 (10-byte header + note), so
      // note:00.0d prints as note:00.0d.00.00.00.00.
      const len = Math.max(6, a.bytes.length + ((8 - ((a.bytes.length + 10) % 8)) % 8));
      const b = [...a.bytes];
      while (b.length < len) b.push(0);
      return `note:${b.map((x) => x.toString(16).padStart(2, '0')).join('.')}`;
    }
    case 'dec_ttl':
      return 'dec_ttl';
    case 'unmodelled':
      return a.text;
  }
}

/** An action list as ovs-ofctl prints it (`drop` when empty). */
export function formatActions(list: readonly Action[]): string {
  return list.length === 0 ? 'drop' : list.map(formatAction).join(',');
}
