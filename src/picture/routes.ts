/**
 * The routes of path.svg's arrows: between two capture points, along the band they share (the underlay, the
 * kernel, br0) or straight, as horizontal and vertical segments, each packet in its own lane.
 */

import type { Place } from './hops.js';
import { ROW, type Anchor } from './layout.js';

/** A point of the picture. */
export interface Pt {
  x: number;
  y: number;
}

type Via = { kind: 'row'; y: number } | { kind: 'direct'; horizontalFirst: boolean };

/** Capture points that are ports of br0. */
export const OVS_PORT = new Set(['veth', 'vxlan0', 'tun0']);
const POD_SIDE = new Set(['pod-eth0', 'pod-if']);

/** How an arrow between two capture points runs: along which band or line, or straight. */
export function viaFor(a: Place, b: Place): Via {
  const side = a.kind === 'gw-internet' || a.kind === 'external';
  if (a.host !== b.host) {
    if (side && (b.kind === 'gw-internet' || b.kind === 'external')) return { kind: 'direct', horizontalFirst: true };
    return { kind: 'row', y: ROW.underlay };
  }
  if (a.kind === 'tun0' && b.kind === 'tun0') return { kind: 'row', y: ROW.kernel }; // into the kernel and back (NAT)
  if (OVS_PORT.has(a.kind) && OVS_PORT.has(b.kind)) return { kind: 'row', y: ROW.br0 };
  if (POD_SIDE.has(a.kind) && POD_SIDE.has(b.kind)) return { kind: 'row', y: ROW.tab - 25 }; // through the pod's own stack
  if ((a.kind === 'nic' && OVS_PORT.has(b.kind)) || (b.kind === 'nic' && OVS_PORT.has(a.kind)))
    return { kind: 'row', y: ROW.kernel };
  return { kind: 'direct', horizontalFirst: side };
}

/** Route centre to centre as horizontal/vertical segments (a zero-length segment joins a U-turn). */
export function basePolyline(a: Anchor, b: Anchor, via: Via): Pt[] {
  if (via.kind === 'row') {
    const y = via.y;
    if (Math.abs(a.x - b.x) < 0.5 && (y - a.y) * (b.y - y) >= 0)
      return [
        { x: a.x, y: a.y },
        { x: b.x, y: b.y },
      ];
    return [
      { x: a.x, y: a.y },
      { x: a.x, y },
      { x: b.x, y },
      { x: b.x, y: b.y },
    ];
  }
  if (Math.abs(a.x - b.x) < 0.5 || Math.abs(a.y - b.y) < 0.5)
    return [
      { x: a.x, y: a.y },
      { x: b.x, y: b.y },
    ];
  const corner = via.horizontalFirst ? { x: b.x, y: a.y } : { x: a.x, y: b.y };
  return [{ x: a.x, y: a.y }, corner, { x: b.x, y: b.y }];
}

/**
 * Shift each segment into its lane so that request and reply, and a packet's own way down and back up, never
 * share a line: vertical lanes left of centre for the request, right for the reply; horizontal lanes above for
 * the request, below for the reply. Then clip both ends to the box edges.
 */
export function laneRoute(base: Pt[], side: -1 | 1, a: Anchor, b: Anchor): Pt[] {
  const n = base.length - 1;
  const segs = [];
  for (let i = 0; i < n; i++) {
    const p = base[i]!,
      q = base[i + 1]!;
    const vertical = Math.abs(p.x - q.x) < 0.5 && Math.abs(p.y - q.y) >= 0.5;
    if (vertical) segs.push({ v: true, o: side * (q.y > p.y ? 11 : 4), fwd: q.y > p.y });
    else
      segs.push({ v: false, o: Math.abs(p.x - q.x) < 0.5 ? side * 6 : side * (q.x > p.x ? 4 : 11), fwd: q.x >= p.x });
  }
  const pts: Pt[] = [];
  for (let i = 0; i <= n; i++) {
    const p = base[i]!;
    const before = segs[i - 1],
      after = segs[i];
    let x = p.x,
      y = p.y;
    if (before && after && before.v !== after.v) {
      const v = before.v ? before : after,
        h = before.v ? after : before;
      x += v.o;
      y += h.o;
    } else {
      const s = after ?? before!;
      if (s.v) x += s.o;
      else y += s.o;
    }
    pts.push({ x, y });
  }
  const s0 = segs[0]!,
    sn = segs[n - 1]!;
  if (s0.v) pts[0]!.y = a.y + (s0.fwd ? a.hh : -a.hh);
  else pts[0]!.x = a.x + (s0.fwd ? a.hw : -a.hw);
  if (sn.v) pts[n]!.y = b.y + (sn.fwd ? -b.hh : b.hh);
  else pts[n]!.x = b.x + (sn.fwd ? -b.hw : b.hw);
  return pts;
}
