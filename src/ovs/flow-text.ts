/**
 * Flow text in and out, in the syntax of `ovs-ofctl add-flow(s)` and the output of `ovs-ofctl -O OpenFlow13
 * dump-flows`, so users can paste real lines in and load ours into a real Open vSwitch.
 *
 * Input:  `table=0, priority=200, in_port=1, ip, nw_src=10.128.0.0/14 actions=move:...,goto_table:10`
 *         (commas and/or spaces between fields; cookie, duration, n_packets, n_bytes, idle_age, hard_age accepted
 *         and ignored except cookie).
 * Output: ` cookie=0x0, duration=0.000s, table=0, n_packets=3, n_bytes=222, priority=200,ip,in_port=1,nw_src=10.128.0.0/14 actions=...`
 */

import { ActionError, formatActions, parseAction, parseActionList, splitTopLevel, type Action } from './actions.js';
import type { RwField } from './field-access.js';
import { ETH_TYPE_IP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, W_DL_TYPE, W_NW_PROTO } from './fields.js';
import { Match, MatchError, parseUint, type PrereqPolicy } from './match.js';

/** OFP_DEFAULT_PRIORITY: not printed by dump-flows. */
export const DEFAULT_PRIORITY = 32768;

/** One parsed flow. */
export interface FlowSpec {
  table: number;
  priority: number;
  cookie: bigint;
  match: Match;
  actions: Action[];
}

/** A flow filter for dump/del-flows: table and cookie optional, match fields wildcarded unless given. */
export interface FlowFilter {
  table: number | undefined;
  cookie: bigint | undefined;
  cookieMask: bigint;
  match: Match;
}

/** A flow text error: which line and column, the offending token, and what was expected. */
export class FlowParseError extends Error {
  constructor(
    readonly detail: string,
    readonly line: number,
    readonly column: number,
    readonly token: string,
    readonly source?: string,
  ) {
    super(`${source ? `${source}:` : ''}line ${line}, column ${column} (${JSON.stringify(token)}): ${detail}`);
    this.name = 'FlowParseError';
  }
}

export interface ParseOptions {
  /** Line number for errors (1-based). */
  line?: number;
  /** Name of the file or source for errors. */
  source?: string;
  prerequisites?: PrereqPolicy;
  /**
   * 'accept': an action or match field packetwalk does not model is kept as an `unmodelled` action (a packet
   * reaching the flow stops with "not modelled") instead of being an error; for real nodes' dumps.
   */
  unmodelled?: 'accept';
}

/** Statistics and flow properties dump-flows may print (OVS 2.9..3.x); they do not change what a flow matches. */
const IGNORED = new Set([
  'duration',
  'n_packets',
  'n_bytes',
  'idle_age',
  'hard_age',
  'idle_timeout',
  'hard_timeout',
  'importance',
  'packet_count',
  'byte_count',
  'out_port',
  'out_group',
]);
/** Flow flags dump-flows prints as bare words (ofputil_flow_mod_flags_format). */
const IGNORED_FLAGS = new Set([
  'reset_counts',
  'send_flow_rem',
  'check_overlap',
  'no_packet_counts',
  'no_byte_counts',
  'no_readonly_table',
]);

/** Index of ` actions=` / `actions=` outside parentheses, or -1. */
function findActions(line: string): number {
  const m = /(^|[\s,])actions=/.exec(line);
  return m ? m.index + m[1]!.length : -1;
}

interface Token {
  text: string;
  col: number; // 0-based
}

function tokenizeMatch(s: string): Token[] {
  const out: Token[] = [];
  const re = /[^,\s]+/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push({ text: m[0], col: m.index });
  return out;
}

/** Parse the match part shared by flows and filters. Returns table/priority/cookie seen. */
function parseMatchPart(
  text: string,
  match: Match,
  err: (msg: string, col: number, tok: string) => never,
  allowCookieMask: boolean,
  unmodelled?: string[],
): { table?: number; priority?: number; cookie?: bigint; cookieMask?: bigint } {
  const seen: { table?: number; priority?: number; cookie?: bigint; cookieMask?: bigint } = {};
  for (const tok of tokenizeMatch(text)) {
    const eq = tok.text.indexOf('=');
    const key = eq < 0 ? tok.text : tok.text.slice(0, eq);
    const val = eq < 0 ? undefined : tok.text.slice(eq + 1);
    const valCol = tok.col + eq + 1;
    if (val === undefined) {
      if (IGNORED_FLAGS.has(key)) continue;
      if (!match.setShorthand(key) && unmodelled) {
        unmodelled.push(key);
        continue;
      }
      if (!match.setShorthand(key))
        err(`unknown keyword ${key} (expected field=value or ip, arp, tcp, udp, icmp, sctp, rarp, ipv6)`, tok.col, key);
      continue;
    }
    if (IGNORED.has(key)) continue;
    if (key === 'table') {
      if (!/^\d+$/.test(val) || +val > 254) err(`${val}: expected a table number 0..254`, valCol, val);
      seen.table = +val;
    } else if (key === 'priority') {
      if (!/^\d+$/.test(val) || +val > 65535) err(`invalid priority "${val}" (expected 0..65535)`, valCol, val);
      seen.priority = +val;
    } else if (key === 'cookie') {
      const slash = val.indexOf('/');
      const v = parseUint(slash < 0 ? val : val.slice(0, slash));
      if (v === undefined || v > 0xffffffffffffffffn) err(`${val}: expected a 64-bit cookie`, valCol, val);
      seen.cookie = v;
      if (slash >= 0) {
        if (!allowCookieMask) err(`cookie masks are only allowed in dump/del filters`, valCol, val);
        const mt = val.slice(slash + 1);
        const mk = mt === '-1' ? 0xffffffffffffffffn : parseUint(mt);
        if (mk === undefined) err(`${mt}: bad cookie mask`, valCol + slash + 1, mt);
        seen.cookieMask = mk;
      }
    } else {
      try {
        match.setField(key, val);
      } catch (e) {
        if (e instanceof MatchError && unmodelled) {
          unmodelled.push(tok.text);
          continue;
        }
        if (e instanceof MatchError) err(e.message, e.token === key ? tok.col : valCol, e.token ?? tok.text);
        throw e;
      }
    }
  }
  return seen;
}

const PREREQ_OK = (field: RwField, m: Match): boolean => {
  const ip = m.masks[W_DL_TYPE] === 0xffff && m.values[W_DL_TYPE] === ETH_TYPE_IP;
  if (field.prereq === 'ip') return ip;
  if (field.prereq === 'l4') {
    const p = m.masks[W_NW_PROTO] === 0xff ? m.values[W_NW_PROTO] : -1;
    return ip && (p === IPPROTO_TCP || p === IPPROTO_UDP || p === IPPROTO_SCTP);
  }
  return true;
};

function fieldsUsed(a: Action): RwField[] {
  switch (a.type) {
    case 'load':
      return [a.dst.field];
    case 'move':
      return [a.src.field, a.dst.field];
    case 'set_field':
      return [a.field];
    case 'output_reg':
      return [a.src.field];
    case 'ct':
      return a.exec.flatMap(fieldsUsed);
    default:
      return [];
  }
}

/** Parse one flow line (add-flow syntax or a dump-flows line). Throws FlowParseError. */
export function parseFlow(line: string, opts: ParseOptions = {}): FlowSpec {
  const lineNo = opts.line ?? 1;
  const err = (msg: string, col: number, tok: string): never => {
    throw new FlowParseError(msg, lineNo, col + 1, tok, opts.source);
  };
  const ai = findActions(line);
  if (ai < 0)
    return err(
      'must specify an action (expected "actions=...")',
      line.length,
      line
        .trim()
        .split(/[\s,]+/)
        .pop() ?? '',
    );
  const match = new Match();
  const unmodelledMatch: string[] | undefined = opts.unmodelled === 'accept' ? [] : undefined;
  const seen = parseMatchPart(line.slice(0, ai), match, err, false, unmodelledMatch);
  const table = seen.table ?? 0;
  try {
    match.checkPrerequisites(opts.prerequisites ?? 'reject');
  } catch (e) {
    if (!(e instanceof MatchError)) throw e;
    const tok = e.token ?? '';
    const col = Math.max(0, line.indexOf(tok));
    err(e.message, col, tok);
  }
  const actStart = ai + 'actions='.length;
  const actText = line.slice(actStart).trimEnd();
  let actions: Action[];
  try {
    actions = parseActionList(actText, actStart);
  } catch (e) {
    if (!(e instanceof ActionError)) throw e;
    if (opts.unmodelled !== 'accept') return err(e.message, e.offset, e.token);
    actions = parseActionsKeepingUnmodelled(actText, actStart);
  }
  if (unmodelledMatch?.length)
    actions = [{ type: 'unmodelled', text: `match ${unmodelledMatch.join(',')}` }, ...actions];
  // OpenFlow 1.1+ instruction rules, as ovs-ofctl -O OpenFlow13 enforces them.
  const pieces = splitTopLevel(actText);
  actions.forEach((a, i) => {
    const col = actStart + (pieces[i]?.offset ?? 0);
    if (a.type === 'goto_table') {
      if (i !== actions.length - 1)
        err(
          'invalid instruction ordering: apply_actions must appear before goto_table, for OpenFlow 1.1+ compatibility',
          col,
          'goto_table',
        );
      if (a.table <= table)
        err(
          `goto_table:${a.table} must go to a table after ${table} (OFPBIC_BAD_TABLE_ID)`,
          col,
          `goto_table:${a.table}`,
        );
    }
    for (const f of fieldsUsed(a)) {
      if (!PREREQ_OK(f, match)) {
        err(
          `actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT): ${f.name} needs ${f.prereq === 'ip' ? '"ip"' : '"tcp" or "udp"'} in the match`,
          col,
          pieces[i]?.text ?? '',
        );
      }
    }
  });
  return { table, priority: seen.priority ?? DEFAULT_PRIORITY, cookie: seen.cookie ?? 0n, match, actions };
}

/** Each action on its own; one that does not parse becomes `unmodelled` (a malformed `drop` mix still fails). */
function parseActionsKeepingUnmodelled(text: string, at: number): Action[] {
  const out: Action[] = [];
  for (const p of splitTopLevel(text)) {
    const t = p.text.trim();
    if (t === 'drop')
      throw new ActionError('"drop" must not be accompanied by any other action or instruction', at + p.offset, 'drop');
    try {
      out.push(parseAction(p.text, at + p.offset));
    } catch (e) {
      if (!(e instanceof ActionError)) throw e;
      out.push({ type: 'unmodelled', text: t });
    }
  }
  return out;
}

/** Parse a dump/del-flows filter such as `table=20,in_port=3` or `cookie=0x1/-1` (no actions). */
export function parseFlowFilter(text: string, opts: ParseOptions = {}): FlowFilter {
  const err = (msg: string, col: number, tok: string): never => {
    throw new FlowParseError(msg, opts.line ?? 1, col + 1, tok, opts.source);
  };
  const match = new Match();
  const seen = parseMatchPart(text, match, err, true);
  if (seen.priority !== undefined)
    err('priority is not allowed in a non-strict filter', text.indexOf('priority'), 'priority');
  return {
    table: seen.table,
    cookie: seen.cookie,
    cookieMask: seen.cookieMask ?? (seen.cookie !== undefined ? 0xffffffffffffffffn : 0n),
    match,
  };
}

/** Priority plus match, as match_format prints it (`priority=200,ip,in_port=1`); empty for a default catch-all. */
export function formatMatchWithPriority(priority: number, match: Match): string {
  const m = match.format();
  const p = priority !== DEFAULT_PRIORITY ? `priority=${priority}` : '';
  return p && m ? `${p},${m}` : p || m;
}

/** Counters and age of an installed flow, for the dump form. */
export interface FlowStats {
  nPackets: number;
  nBytes: number;
  /** Seconds since the flow was added. */
  durationSec: number;
}

/** One line of `ovs-ofctl -O OpenFlow13 dump-flows` (with stats) or of `dump-flows --no-stats` (stats undefined). */
export function formatFlowDump(f: FlowSpec, stats?: FlowStats): string {
  const mp = formatMatchWithPriority(f.priority, f.match);
  const body = `${mp}${mp ? ' ' : ''}actions=${formatActions(f.actions)}`;
  // --no-stats leaves out table=0 (the default), like cookie=0x0.
  if (!stats)
    return ` ${f.cookie !== 0n ? `cookie=0x${f.cookie.toString(16)}, ` : ''}${f.table !== 0 ? `table=${f.table}, ` : ''}${body}`;
  return ` cookie=0x${f.cookie.toString(16)}, duration=${stats.durationSec.toFixed(3)}s, table=${f.table}, n_packets=${stats.nPackets}, n_bytes=${stats.nBytes}, ${body}`;
}

/** One line loadable by `ovs-ofctl -O OpenFlow13 add-flows BRIDGE FILE`. */
export function formatFlowAdd(f: FlowSpec): string {
  const mp = formatMatchWithPriority(f.priority, f.match);
  const cookie = f.cookie !== 0n ? `cookie=0x${f.cookie.toString(16)},` : '';
  return `${cookie}table=${f.table}${mp ? `,${mp}` : ''} actions=${formatActions(f.actions)}`;
}

/** Parse many lines; blank lines and `#` comments are skipped. Errors carry the real line number. */
export function parseFlows(text: string, opts: Omit<ParseOptions, 'line'> = {}): FlowSpec[] {
  const out: FlowSpec[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('OFPST_FLOW reply') || t.startsWith('NXST_FLOW reply')) return;
    out.push(parseFlow(line, { ...opts, line: i + 1 }));
  });
  return out;
}
