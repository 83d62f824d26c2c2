/**
 * path.svg: the picture of one walk, drawn from the bytes the run captured. The nodes, pods and ports the
 * request and its reply crossed are boxes (layout.ts); each packet's path is a chain of numbered arrows, one per
 * pair of consecutive captures, request and reply in their own colours and lanes. An arrow's label gives the
 * addresses as captured where it ends, shown on the picture where they change (the first hop, VXLAN encap and
 * decap, NAT); a table under the picture lists every hop with its capture points, pcapng frame numbers, the
 * rule that moved it, and what changed.
 *
 * Plain hand-written SVG 1.1: no scripts, no external resources, fixed number formatting, so the same run
 * always gives the same bytes. Text is escaped; fonts fall back to sans-serif / monospace.
 */

import type { WalkResult } from '../walk/walk-result.js';
import { groupFlows } from './index-html.js';
import { flowText, walkPaths, type WalkFrame, type WalkPath } from './hops.js';
import { BADGE_R, LABEL_SIZE, LINE_H, placeAll, type DrawnHop } from './labels.js';
import { layoutScene, ROW, type Anchor, type BoxStyle, type Scene, type SceneBox, type TextLine } from './layout.js';
import { basePolyline, laneRoute, OVS_PORT, viaFor, type Pt } from './routes.js';
import { escapeXml, MONO, monoWidth, num, rect, SANS, sansWidth, text, type Rect } from './svg.js';

export interface PathSvgOptions {
  /** Walk packet indexes to draw (default: the first non-ARP packet and its first answer). */
  packets?: readonly number[];
  /**
   * Mark each hop's arrow and badge with `data-frame="N"`, N the walk.pcapng frame number where the hop ends
   * (walk.html highlights the selected hop by it). Off for path.svg, so the file stays as it was.
   */
  frameAttributes?: boolean;
}

const COLOR = { request: '#1f5fbf', reply: '#c2410c', drop: '#cf222e', ink: '#1f2328', muted: '#57606a' } as const;

const BOX_STYLE: Record<BoxStyle, string> = {
  node: 'fill="#f6f8fa" stroke="#8c959f" stroke-width="1.2"',
  pod: 'fill="#e9f7ef" stroke="#2f855a" stroke-width="1.2"',
  tab: 'fill="#ffffff" stroke="#4a5568" stroke-width="1"',
  veth: 'fill="#fffbea" stroke="#b7791f" stroke-width="1"',
  br0: 'fill="#e6f0ff" stroke="#7aa2e3" stroke-width="1"',
  port: 'fill="#f3e8ff" stroke="#805ad5" stroke-width="1"',
  kernel: 'fill="#eceff3" stroke="#a0aec0" stroke-width="1"',
  nic: 'fill="#e6fffa" stroke="#319795" stroke-width="1.2"',
  gateway: 'fill="#f7fafc" stroke="#4a5568" stroke-width="1.2"',
  external: 'fill="#fff5f7" stroke="#b83280" stroke-width="1.2"',
};

/** The anchor of each frame; NIC anchors sit where the packet enters or leaves the NIC bar. */
function frameAnchors(path: WalkPath, scene: Scene): (Anchor | undefined)[] {
  const base = path.frames.map((f) => (f.place.kind === 'nic' ? undefined : scene.anchor(f.place)));
  return path.frames.map((f, i) => {
    if (f.place.kind !== 'nic') return base[i];
    const a = scene.anchor(f.place);
    const span = f.place.node ? scene.nicSpan.get(f.place.node) : undefined;
    if (!a || !span) return a;
    const near = (j: number): Anchor | undefined => (path.frames[j]?.place.host === f.place.host ? base[j] : undefined);
    const ref = near(i - 1) ?? near(i + 1);
    const x = ref ? Math.min(span[1], Math.max(span[0], ref.x)) : a.x;
    return { x, y: a.y, hw: 16, hh: a.hh };
  });
}

function textAttrs(l: TextLine): string {
  const fill = l.muted ? COLOR.muted : COLOR.ink;
  return `${l.mono ? MONO : SANS} font-size="${l.size}"${l.bold ? ' font-weight="bold"' : ''}${l.anchor && l.anchor !== 'start' ? ` text-anchor="${l.anchor}"` : ''} fill="${fill}"`;
}

function drawBox(b: SceneBox): string {
  const radius =
    b.style === 'node'
      ? 10
      : b.style === 'pod' || b.style === 'gateway' || b.style === 'external'
        ? 8
        : b.style === 'tab'
          ? 3
          : 5;
  const dim = b.dim ? ' opacity="0.45"' : '';
  let s = `<g${dim}>${rect(b.rect, BOX_STYLE[b.style], radius)}`;
  for (const l of b.lines) if (l.text) s += text(l.x, l.y, l.text, textAttrs(l));
  return s + '</g>';
}

function pathD(pts: Pt[]): string {
  return pts.map((p, i) => `${i ? 'L' : 'M'}${num(p.x)} ${num(p.y)}`).join(' ');
}

/** The full label of a hop for the table: outer + VNI and the inner addresses for a VXLAN frame. */
function tableAddresses(f: WalkFrame): string {
  if (f.outer) return `${flowText(f.outer)} VNI ${f.vni} | inner ${f.inner ? flowText(f.inner) : '?'}`;
  return f.inner ? flowText(f.inner) : '(bytes not kept)';
}

function outcomeText(p: WalkPath): string {
  const o = p.packet.outcome;
  if (!o) return 'still in flight';
  if (o.kind === 'dropped') return `dropped at ${o.host}: ${o.reason ?? ''}`;
  return `${o.kind} at ${o.host}`;
}

/** Render path.svg for a finished run (the run must have kept frame bytes: `count` 1). */
export function renderPathSvg(result: WalkResult, opts: PathSvgOptions = {}): string {
  const paths = walkPaths(result, opts.packets);
  const scene = layoutScene(result, paths);
  const s = result.scenario;
  const out: string[] = [];
  const titleRect: Rect = { x: 0, y: 0, w: 10, h: 90 };

  // Arrows.
  const drawn: DrawnHop[] = [];
  const starts: { p: Pt; role: 'request' | 'reply' }[] = [];
  const drops: { at: Pt; from?: Pt; text: string }[] = [];
  for (const path of paths) {
    const side: -1 | 1 = path.role === 'request' ? -1 : 1;
    const anchors = frameAnchors(path, scene);
    path.hops.forEach((hop, k) => {
      const a = anchors[k],
        b = anchors[k + 1];
      if (!a || !b) return;
      const pts = laneRoute(basePolyline(a, b, viaFor(hop.from.place, hop.to.place)), side, a, b);
      if (k === 0) starts.push({ p: pts[0]!, role: path.role });
      drawn.push({ hop, role: path.role, pts });
    });
    const o = path.packet.outcome;
    if (o?.kind === 'dropped') {
      const last = path.frames[path.frames.length - 1];
      const a = last ? anchors[path.frames.length - 1] : undefined;
      if (a && last) {
        const inBridge = OVS_PORT.has(last.place.kind) && (o.reason ?? '').startsWith('br0');
        const up = ROW.br0 < a.y;
        drops.push(
          inBridge
            ? {
                at: { x: a.x + side * 11, y: ROW.br0 },
                from: { x: a.x + side * 11, y: a.y + (up ? -a.hh : a.hh) },
                text: `dropped: ${o.reason ?? ''}`,
              }
            : { at: { x: a.x + side * 11, y: a.y + a.hh + 14 }, text: `dropped: ${o.reason ?? ''}` },
        );
      }
    }
  }
  const placed = placeAll(drawn, scene, [titleRect]);

  let maxX = scene.right;
  let maxY = ROW.underlay + 30;
  for (const p of placed) if (p.label) maxX = Math.max(maxX, p.label.rect.x + p.label.rect.w + 8);
  let minX = 0;
  for (const p of placed) if (p.label) minX = Math.min(minX, p.label.rect.x - 8);

  // Header.
  const head: string[] = [];
  head.push(text(24, 30, s.name, `${SANS} font-size="20" font-weight="bold" fill="${COLOR.ink}"`));
  head.push(text(24 + sansWidth(s.name, 20, true) + 8, 30, s.figure, `${SANS} font-size="13" fill="${COLOR.muted}"`));
  head.push(text(24, 52, s.summary, `${SANS} font-size="12" fill="${COLOR.ink}"`));
  head.push(
    text(
      24,
      72,
      `${result.passed ? 'ended as expected' : 'UNEXPECTED outcome'} · ${groupFlows(result.flows)
        .map((f) => `${f.detail}${f.times > 1 ? ` (×${f.times})` : ''}`)
        .join(' · ')}`,
      `${SANS} font-size="11" fill="${result.passed ? COLOR.muted : COLOR.drop}"`,
    ),
  );
  maxX = Math.max(
    maxX,
    24 + monoWidth(s.summary, 12) * 1.05,
    24 + sansWidth(s.name, 20, true) + 8 + sansWidth(s.figure, 13),
  );

  // Legend and hop table below the picture.
  const below: string[] = [];
  let y = ROW.underlay + 56;
  if (!paths.length) {
    below.push(
      text(
        24,
        y,
        'No packet was recorded in this run (pictures need a run that records its packets: --count 1).',
        `${SANS} font-size="13" fill="${COLOR.drop}"`,
      ),
    );
    y += 30;
  }
  below.push(text(24, y, 'Legend', `${SANS} font-size="13" font-weight="bold" fill="${COLOR.ink}"`));
  y += 20;
  for (const p of paths) {
    const c = COLOR[p.role];
    below.push(
      `<path d="M24 ${num(y - 4)} L70 ${num(y - 4)}" stroke="${c}" stroke-width="2.2" fill="none" marker-end="url(#head-${p.role})"/>`,
    );
    const t = `${p.role}: ${p.packet.label} (walk packet ${p.packet.index}) from ${p.packet.origin} → ${outcomeText(p)}`;
    below.push(text(82, y, t, `${SANS} font-size="12" fill="${c}"`));
    maxX = Math.max(maxX, 82 + sansWidth(t, 12));
    y += 20;
  }
  below.push(
    `<path d="M24 ${num(y - 4)} L70 ${num(y - 4)}" stroke="${COLOR.muted}" stroke-width="2.2" stroke-dasharray="7 4" fill="none"/>`,
  );
  below.push(
    text(
      82,
      y,
      'VXLAN-encapsulated on at least one end (label: outer addresses and VNI)',
      `${SANS} font-size="12" fill="${COLOR.ink}"`,
    ),
  );
  y += 20;
  below.push(
    `<circle cx="47" cy="${num(y - 4)}" r="${BADGE_R}" fill="#ffffff" stroke="${COLOR.ink}" stroke-width="1.4"/>`,
  );
  below.push(
    text(47, y - 0.5, '1', `${SANS} font-size="10" font-weight="bold" text-anchor="middle" fill="${COLOR.ink}"`),
  );
  below.push(
    text(
      82,
      y,
      'hop number (table below); an arrow\u2019s label gives the addresses where it ends, drawn where they change',
      `${SANS} font-size="12" fill="${COLOR.ink}"`,
    ),
  );
  y += 20;
  below.push(`<g opacity="0.45">${rect({ x: 28, y: y - 14, w: 38, h: 16 }, BOX_STYLE.port, 3)}</g>`);
  below.push(text(82, y, 'faded: not crossed by these packets', `${SANS} font-size="12" fill="${COLOR.ink}"`));
  y += 32;

  for (const p of paths) {
    const c = COLOR[p.role];
    const h = `${p.role === 'request' ? 'Request' : 'Reply'}: ${p.packet.label}`;
    below.push(text(24, y, h, `${SANS} font-size="13" font-weight="bold" fill="${c}"`));
    y += 18;
    if (!p.hops.length) {
      below.push(
        text(
          52,
          y,
          `captured at ${p.frames.map((f) => f.place.name).join(', ') || 'no capture point'}; ${outcomeText(p)}`,
          `${MONO} font-size="11" fill="${COLOR.ink}"`,
        ),
      );
      y += 18;
    }
    const col2 =
      52 + Math.max(0, ...p.hops.map((hop) => monoWidth(`${hop.from.place.name} → ${hop.to.place.name}`, 11))) + 14;
    for (const hop of p.hops) {
      below.push(badge(34, y - 4, hop.number, c, 'hop-row'));
      const l1 = `${hop.from.place.name} → ${hop.to.place.name}`;
      const l1b = `frames ${hop.from.frame.number}→${hop.to.frame.number}${hop.rule ? ` · ${hop.rule}` : ''}`;
      below.push(text(52, y, l1, `${MONO} font-size="11" fill="${COLOR.ink}"`));
      below.push(text(col2, y, l1b, `${MONO} font-size="11" fill="${COLOR.muted}"`));
      maxX = Math.max(maxX, col2 + monoWidth(l1b, 11));
      y += 15;
      const l2 = tableAddresses(hop.to);
      below.push(text(52, y, l2, `${MONO} font-size="11" fill="${c}"`));
      let end = 52 + monoWidth(l2, 11);
      if (hop.change) {
        below.push(text(end + 20, y, hop.change, `${MONO} font-size="11" font-weight="bold" fill="${c}"`));
        end += 20 + monoWidth(hop.change, 11) * 1.05;
      }
      maxX = Math.max(maxX, end);
      y += 21;
    }
    if (p.hops.length) {
      const t = outcomeText(p);
      below.push(
        text(
          52,
          y - 4,
          t,
          `${SANS} font-size="11" fill="${p.packet.outcome?.kind === 'dropped' ? COLOR.drop : COLOR.muted}"`,
        ),
      );
      y += 18;
    }
    y += 8;
  }
  maxY = y;

  // Assemble.
  const w = maxX - minX + 24;
  const h = maxY + 8;
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="${num(minX)} 0 ${num(w)} ${num(h)}" width="${num(w)}" height="${num(h)}">`,
  );
  out.push(`<title>${escapeXml(`${s.name}: ${s.summary}`)}</title>`);
  out.push('<defs>');
  for (const role of ['request', 'reply'] as const) {
    out.push(
      `<marker id="head-${role}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto" markerUnits="userSpaceOnUse"><path d="M0 0 L10 5 L0 10 z" fill="${COLOR[role]}"/></marker>`,
    );
  }
  out.push('</defs>');
  out.push(`<rect x="${num(minX)}" y="0" width="${num(w)}" height="${num(h)}" fill="#ffffff"/>`);
  out.push(...head);
  for (const l of scene.lines) {
    const stroke =
      l.style === 'underlay'
        ? 'stroke="#6e7781" stroke-width="5" stroke-linecap="round"'
        : 'stroke="#6e7781" stroke-width="2" stroke-dasharray="2 3"';
    out.push(`<line x1="${num(l.x1)}" y1="${num(l.y1)}" x2="${num(l.x2)}" y2="${num(l.y2)}" ${stroke}/>`);
    out.push(text(l.label.x, l.label.y, l.label.text, textAttrs(l.label)));
  }
  for (const b of scene.boxes) out.push(drawBox(b));
  for (const d of drawn) {
    const c = COLOR[d.role];
    const dash = d.hop.encapsulated ? ' stroke-dasharray="7 4"' : '';
    const frameAttr = opts.frameAttributes ? ` data-frame="${d.hop.to.frame.number}"` : '';
    out.push(
      `<path class="arrow ${d.role}"${frameAttr} d="${pathD(d.pts)}" fill="none" stroke="${c}" stroke-width="2.2"${dash} stroke-linejoin="round" marker-end="url(#head-${d.role})"/>`,
    );
  }
  for (const st of starts)
    out.push(`<circle cx="${num(st.p.x)}" cy="${num(st.p.y)}" r="3.5" fill="${COLOR[st.role]}"/>`);
  for (const dr of drops) {
    const x = dr.at.x,
      yy = dr.at.y;
    if (dr.from)
      out.push(
        `<line x1="${num(dr.from.x)}" y1="${num(dr.from.y)}" x2="${num(x)}" y2="${num(yy)}" stroke="${COLOR.drop}" stroke-width="2" stroke-dasharray="3 3"/>`,
      );
    out.push(
      `<path d="M${num(x - 7)} ${num(yy - 7)} L${num(x + 7)} ${num(yy + 7)} M${num(x + 7)} ${num(yy - 7)} L${num(x - 7)} ${num(yy + 7)}" stroke="${COLOR.drop}" stroke-width="3"/>`,
    );
    const tw = monoWidth(dr.text, 10) + 8;
    out.push(
      rect(
        { x: x + 12, y: yy - 9, w: tw, h: 17 },
        'fill="#ffffff" fill-opacity="0.92" stroke="#cf222e" stroke-width="0.8"',
        3,
      ),
    );
    out.push(text(x + 16, yy + 3.5, dr.text, `${MONO} font-size="10" fill="${COLOR.drop}"`));
  }
  drawn.forEach((d, i) => {
    const p = placed[i]!;
    const c = COLOR[d.role];
    if (p.label) {
      const r = p.label.rect;
      if (p.label.leader) {
        const lx = Math.min(r.x + r.w, Math.max(r.x, p.badge.x)),
          ly = Math.min(r.y + r.h, Math.max(r.y, p.badge.y));
        out.push(
          `<line x1="${num(p.badge.x)}" y1="${num(p.badge.y)}" x2="${num(lx)}" y2="${num(ly)}" stroke="${c}" stroke-width="0.9" stroke-dasharray="2 2"/>`,
        );
      }
      out.push(rect(r, `fill="#ffffff" fill-opacity="0.93" stroke="${c}" stroke-width="0.6"`, 3));
      const anchor = p.label.align === 'start' ? '' : ` text-anchor="${p.label.align}"`;
      p.label.lines.forEach((line, j) => {
        const bold = j < p.label!.bold ? ' font-weight="bold"' : '';
        out.push(
          text(
            p.label!.anchorX,
            r.y + 2 + LINE_H * (j + 1) - 2.5,
            line,
            `${MONO} font-size="${LABEL_SIZE}"${anchor} fill="${c}"${bold}`,
          ),
        );
      });
    }
    out.push(
      badge(p.badge.x, p.badge.y, d.hop.number, c, 'hop', opts.frameAttributes ? d.hop.to.frame.number : undefined),
    );
  });
  out.push(...below);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function badge(x: number, y: number, n: number, color: string, cls: string, frame?: number): string {
  return `<g class="${cls}"${frame !== undefined ? ` data-frame="${frame}"` : ''}><circle cx="${num(x)}" cy="${num(y)}" r="${BADGE_R}" fill="#ffffff" stroke="${color}" stroke-width="1.6"/>${text(x, y + 3.5, String(n), `${SANS} font-size="${n > 9 ? 9 : 10}" font-weight="bold" text-anchor="middle" fill="${color}"`)}</g>`;
}
