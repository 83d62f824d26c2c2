/**
 * OpenFlow groups (`ovs-ofctl add-group` text and `dump-groups` form), used by OpenShift SDN for egress IPs:
 * `group_id=37,type=select,bucket=actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:10.0.0.7->tun_dst,output:1`.
 *
 * A select group picks one bucket by a hash of the packet's flow. Real OVS 2.10+ uses the datapath's dp_hash
 * (a 5-tuple/RSS hash computed by the datapath, then a recirculation); we use our own deterministic 5-tuple hash,
 * so the bucket a given flow picks is stable here but need not be the one a real OVS picks.
 */

import { ActionError, formatActions, parseActionList, type Action } from './actions.js';
import { W_NW_DST, W_NW_PROTO, W_NW_SRC, W_TP_DST, W_TP_SRC } from './fields.js';
import { FlowParseError } from './flow-text.js';

export type GroupType = 'all' | 'select' | 'indirect' | 'ff';

export interface Bucket {
  /** Select-group weight; OVS's default is 1 and it prints the weight only when it differs. */
  weight: number;
  actions: Action[];
}

export interface GroupSpec {
  id: number;
  type: GroupType;
  buckets: Bucket[];
}

/** Find `bucket=` occurrences at paren depth 0 that start a field. */
function bucketStarts(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (
      depth === 0 &&
      text.startsWith('bucket=', i) &&
      (i === 0 || text[i - 1] === ',' || /\s/.test(text[i - 1]!))
    )
      out.push(i);
  }
  return out;
}

/** Parse `group_id=N,type=select,bucket=...` (add-group input or a dump-groups line). Throws FlowParseError. */
export function parseGroup(line: string, opts: { line?: number; source?: string } = {}): GroupSpec {
  const lineNo = opts.line ?? 1;
  const err = (msg: string, col: number, tok: string): never => {
    throw new FlowParseError(msg, lineNo, col + 1, tok, opts.source);
  };
  const starts = bucketStarts(line);
  const head = line.slice(0, starts.length ? starts[0] : line.length);
  let id: number | undefined;
  let type: GroupType | undefined;
  const re = /[^,\s]+/g;
  for (let m = re.exec(head); m; m = re.exec(head)) {
    const [k, v] = m[0].split('=', 2) as [string, string | undefined];
    if (k === 'group_id' && v !== undefined && /^\d+$/.test(v)) id = +v;
    else if (k === 'type' && (v === 'all' || v === 'select' || v === 'indirect' || v === 'ff')) type = v;
    else if (k === 'type' && v === 'fast_failover') type = 'ff';
    else if (k === 'selection_method' || k === 'selection_method_param' || k === 'fields') continue;
    else err(`unexpected ${m[0]} (expected group_id=N, type=all|select|indirect|ff, bucket=...)`, m.index, m[0]);
  }
  if (id === undefined) err('must specify group_id=N', 0, head);
  if (type === undefined) err('must specify type=all|select|indirect|ff', 0, head);
  const buckets: Bucket[] = [];
  starts.forEach((s, i) => {
    const end = i + 1 < starts.length ? starts[i + 1]! : line.length;
    let body = line.slice(s + 'bucket='.length, end).replace(/[,\s]+$/, '');
    let bodyAt = s + 'bucket='.length;
    let weight = 1;
    // Leading bucket properties: weight:N, bucket_id:N, watch_port:N, watch_group:N, then actions=...
    for (;;) {
      const m = /^(weight|bucket_id|watch_port|watch_group)[:=](\d+),?/.exec(body);
      if (!m) break;
      if (m[1] === 'weight') {
        if (type !== 'select') err('Only select groups can have bucket weights.', bodyAt, m[0]);
        weight = +m[2]!;
      }
      body = body.slice(m[0].length);
      bodyAt += m[0].length;
    }
    if (body.startsWith('actions=')) {
      body = body.slice('actions='.length);
      bodyAt += 'actions='.length;
    }
    try {
      buckets.push({ weight, actions: parseActionList(body, bodyAt) });
    } catch (e) {
      if (e instanceof ActionError) err(e.message, e.offset, e.token);
      throw e;
    }
  });
  return { id: id!, type: type!, buckets };
}

/** A group as `ovs-ofctl -O OpenFlow13 dump-groups` prints it (without the leading space) and add-group accepts. */
export function formatGroup(g: GroupSpec): string {
  const type = g.type === 'ff' ? 'ff' : g.type;
  let s = `group_id=${g.id},type=${type}`;
  for (const b of g.buckets) {
    s += ',bucket=';
    if (g.type === 'select' && b.weight !== 1) s += `weight:${b.weight},`;
    s += `actions=${formatActions(b.actions)}`;
  }
  return s;
}

/** Deterministic 5-tuple hash of a flow key (stands in for OVS's dp_hash). */
export function flowHash(key: Int32Array): number {
  let h = 0x9e3779b9;
  h = Math.imul(h ^ key[W_NW_SRC]!, 0x85ebca6b);
  h = Math.imul(h ^ key[W_NW_DST]!, 0xc2b2ae35);
  h = Math.imul(h ^ ((key[W_NW_PROTO]! << 16) | key[W_TP_SRC]!), 0x85ebca6b);
  h = Math.imul(h ^ key[W_TP_DST]!, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Index of the bucket a select group uses for `hash`, respecting weights; -1 when the group has no bucket. */
export function selectBucket(buckets: readonly Bucket[], totalWeight: number, hash: number): number {
  if (buckets.length === 0 || totalWeight <= 0) return -1;
  let point = hash % totalWeight;
  for (let i = 0; i < buckets.length; i++) {
    point -= buckets[i]!.weight;
    if (point < 0) return i;
  }
  return buckets.length - 1;
}
