/**
 * path.svg's hop badges and labels: where each numbered badge and its address label go along an arrow, so that
 * they cover no box text, no other label or badge and, if possible, no arrow.
 */

import type { Hop } from './hops.js';
import type { BoxStyle, Scene } from './layout.js';
import type { Pt } from './routes.js';
import { monoWidth, overlaps, type Rect } from './svg.js';

/** Boxes an arrow label must not cover (their text matters); bands and node backgrounds may be covered. */
const SOLID: ReadonlySet<BoxStyle> = new Set<BoxStyle>(['pod', 'tab', 'veth', 'port', 'gateway', 'external']);

/** A hop's arrow as drawn: its route, and whether it belongs to the request or the reply. */
export interface DrawnHop {
  hop: Hop;
  role: 'request' | 'reply';
  pts: Pt[];
}

/** Where a hop's badge went, and its label if one fits on the picture. */
export interface Placed {
  badge: Pt;
  label?: {
    rect: Rect;
    lines: string[];
    bold: number;
    leader: boolean;
    anchorX: number;
    align: 'start' | 'middle' | 'end';
  };
}

/** Label font size, label line height and badge radius, px. */
export const LABEL_SIZE = 10;
export const LINE_H = 12.5;
export const BADGE_R = 8.5;

/** Candidate badge spots along a route: the middle of the longest segments first. */
function badgeCandidates(pts: Pt[]): { p: Pt; vertical: boolean }[] {
  const segs = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const p = pts[i]!,
      q = pts[i + 1]!;
    segs.push({ p, q, len: Math.abs(p.x - q.x) + Math.abs(p.y - q.y), vertical: Math.abs(p.x - q.x) < 0.5 });
  }
  const ordered = segs
    .map((s, i) => ({ s, i }))
    .filter((x) => x.s.len >= 2 * BADGE_R + 4)
    .sort((a, b) => b.s.len - a.s.len || a.i - b.i);
  const out: { p: Pt; vertical: boolean }[] = [];
  for (const t of [0.5, 0.32, 0.68, 0.2, 0.8]) {
    for (const { s } of ordered)
      out.push({ p: { x: s.p.x + (s.q.x - s.p.x) * t, y: s.p.y + (s.q.y - s.p.y) * t }, vertical: s.vertical });
  }
  if (!out.length && segs.length) {
    const s = segs.reduce((m, x) => (x.len > m.len ? x : m));
    out.push({ p: { x: (s.p.x + s.q.x) / 2, y: (s.p.y + s.q.y) / 2 }, vertical: s.vertical });
  }
  return out;
}

type Dir = 'left' | 'right' | 'up' | 'down';

/**
 * A label's box next to a badge, on side `dir`, slid along that side by `shift` (-1..1) and pushed `extra` px
 * further away (then joined to the badge by a leader line).
 */
function labelRect(
  b: Pt,
  dir: Dir,
  shift: number,
  extra: number,
  lines: string[],
): { rect: Rect; anchorX: number; align: 'start' | 'middle' | 'end' } {
  const w = Math.max(...lines.map((l) => monoWidth(l, LABEL_SIZE))) + 8;
  const h = lines.length * LINE_H + 4;
  const gap = BADGE_R + 4 + extra;
  if (dir === 'left' || dir === 'right') {
    const x = dir === 'left' ? b.x - gap - w : b.x + gap;
    return {
      rect: { x, y: b.y - h / 2 + shift * (h / 2 - 4), w, h },
      anchorX: dir === 'left' ? x + w - 4 : x + 4,
      align: dir === 'left' ? 'end' : 'start',
    };
  }
  const y = dir === 'up' ? b.y - gap - h : b.y + gap;
  const x = b.x - w / 2 + shift * (w / 2 - 6);
  return { rect: { x, y, w, h }, anchorX: x + w / 2, align: 'middle' };
}

/** Sides to try, nearest first: beside a vertical arrow left/right (the packet's own side first), else above/below. */
function directions(vertical: boolean, side: -1 | 1): Dir[] {
  const lr: Dir[] = side < 0 ? ['left', 'right'] : ['right', 'left'];
  const ud: Dir[] = side < 0 ? ['up', 'down'] : ['down', 'up'];
  return vertical ? [...lr, ...ud] : [...ud, ...lr];
}

/** What an arrow's on-picture label says, or undefined when nothing changed since the previous hop. */
function labelText(hop: Hop, prev: Hop | undefined): { change: string[]; addresses: string } | undefined {
  if (!hop.label || (prev && prev.label === hop.label && !hop.change)) return undefined;
  return { change: hop.change ? hop.change.split('; ') : [], addresses: hop.label };
}

/** Label lines: beside an arrow the addresses take two short lines, above or below it a single line. */
function labelLines(t: { change: string[]; addresses: string }, dir: Dir): string[] {
  if (dir === 'up' || dir === 'down') return [...t.change, t.addresses];
  const i = t.addresses.indexOf(' > ');
  return i < 0 ? [...t.change, t.addresses] : [...t.change, t.addresses.slice(0, i + 2), t.addresses.slice(i + 3)];
}

/** The boxes an arrow's segments cover, with a margin. */
function segmentRects(pts: Pt[]): Rect[] {
  const out: Rect[] = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const p = pts[i]!,
      q = pts[i + 1]!;
    out.push({
      x: Math.min(p.x, q.x) - 1.5,
      y: Math.min(p.y, q.y) - 1.5,
      w: Math.abs(p.x - q.x) + 3,
      h: Math.abs(p.y - q.y) + 3,
    });
  }
  return out;
}

/**
 * Place each hop's badge and label: the first spot along the arrow where they cover no box text, no other
 * label or badge and no arrow; then allow covering arrows; then boxes. A label that fits nowhere is left to
 * the table (the badge stays).
 */
export function placeAll(hops: DrawnHop[], scene: Scene, reserved: Rect[]): Placed[] {
  const solid = scene.boxes.filter((b) => SOLID.has(b.style)).map((b) => b.rect);
  for (const b of scene.boxes) if (b.style === 'node') solid.push({ x: b.rect.x, y: b.rect.y, w: b.rect.w, h: 42 }); // node name and addresses
  const arrows = hops.flatMap((d) => segmentRects(d.pts));
  const badges: Rect[] = [];
  const labels: Rect[] = [...reserved];
  const result: Placed[] = [];
  let prev: DrawnHop | undefined;
  const circle = (p: Pt): Rect => ({ x: p.x - BADGE_R, y: p.y - BADGE_R, w: 2 * BADGE_R, h: 2 * BADGE_R });
  for (const d of hops) {
    const side: -1 | 1 = d.role === 'request' ? -1 : 1;
    const t = labelText(d.hop, prev && prev.role === d.role ? prev.hop : undefined);
    prev = d;
    // Spots that keep the badge off box text come first; the others stay as a last resort.
    const onSolid = (p: Pt): boolean => solid.some((r) => overlaps(r, circle(p)));
    const all = badgeCandidates(d.pts);
    const cands = [...all.filter((c) => !onSolid(c.p)), ...all.filter((c) => onSolid(c.p))];
    const badgeFree = (p: Pt, onBoxes = false): boolean =>
      !badges.some((r) => overlaps(r, circle(p), 2)) &&
      (onBoxes || !solid.some((r) => overlaps(r, circle(p)))) &&
      !labels.some((r) => overlaps(r, circle(p)));
    let chosen: Placed | undefined;
    if (t) {
      outer: for (let level = 0; level < 3; level++) {
        for (const extra of [0, 40, 80, 120, 160]) {
          for (const c of cands) {
            if (!badgeFree(c.p, true)) continue;
            for (const dir of directions(c.vertical, side)) {
              const lines = labelLines(t, dir);
              for (const shift of [0, -1, 1]) {
                const l = labelRect(c.p, dir, shift, extra, lines);
                if (l.rect.x < 4 || l.rect.y < 84) continue;
                if (
                  labels.some((r) => overlaps(r, l.rect, 2)) ||
                  badges.some((r) => overlaps(r, l.rect, 1)) ||
                  overlaps(l.rect, circle(c.p), 2)
                )
                  continue;
                if (level < 2 && solid.some((r) => overlaps(r, l.rect, 1))) continue;
                if (level < 1 && arrows.some((r) => overlaps(r, l.rect))) continue;
                chosen = { badge: c.p, label: { ...l, lines, bold: t.change.length, leader: extra > 0 } };
                break outer;
              }
            }
          }
        }
      }
    }
    if (!chosen) {
      // No free spot: the one farthest from the badges already placed.
      const dist = (p: Pt): number =>
        Math.min(Infinity, ...badges.map((r) => Math.hypot(p.x - r.x - BADGE_R, p.y - r.y - BADGE_R)));
      const c =
        cands.find((x) => badgeFree(x.p)) ??
        cands.find((x) => badgeFree(x.p, true)) ??
        cands.reduce<(typeof cands)[number] | undefined>((m, x) => (!m || dist(x.p) > dist(m.p) ? x : m), undefined);
      chosen = { badge: c ? c.p : d.pts[0]! };
    }
    badges.push(circle(chosen.badge));
    if (chosen.label) labels.push(chosen.label.rect);
    result.push(chosen);
  }
  return result;
}
