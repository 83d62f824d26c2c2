/**
 * `--plot DIR`: the growth sweep as an SVG line chart, cost per packet (ns) against cluster size on a log axis,
 * one line per axis of growth (nodes, pods, conntrack entries, flows). Flat lines are the goal (issue 6: within
 * 25% from the smallest to the largest size). Hand-written SVG, no dependency; it opens in any browser.
 */

/** One measured point. */
export interface PlotPoint {
  axis: string;
  size: number;
  nsPerPacket: number;
}

const WIDTH = 760;
const HEIGHT = 440;
const M = { left: 70, right: 170, top: 50, bottom: 60 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** 1000 -> "1k", 1000000 -> "1M". */
function sizeLabel(n: number): string {
  if (n >= 1e6 && n % 1e6 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}k`;
  return String(n);
}

/** A "nice" step for about `count` ticks over [0, max]. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** The chart as SVG text. `title` names the machine or run. */
export function scaleChartSvg(points: readonly PlotPoint[], title: string): string {
  const axes = [...new Set(points.map((p) => p.axis))];
  const minSize = Math.min(...points.map((p) => p.size));
  const maxSize = Math.max(...points.map((p) => p.size));
  const x0 = Math.floor(Math.log10(Math.max(1, minSize)));
  const x1 = Math.max(x0 + 1, Math.ceil(Math.log10(Math.max(1, maxSize))));
  const yStep = niceStep(Math.max(1, ...points.map((p) => p.nsPerPacket)), 5);
  const yMax = yStep * Math.ceil(Math.max(1, ...points.map((p) => p.nsPerPacket)) / yStep);
  const plotW = WIDTH - M.left - M.right,
    plotH = HEIGHT - M.top - M.bottom;
  const px = (size: number): number => M.left + ((Math.log10(size) - x0) / (x1 - x0)) * plotW;
  const py = (ns: number): number => M.top + plotH - (ns / yMax) * plotH;
  const f = (v: number): string => v.toFixed(1);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  out.push(
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">Cost per packet as the cluster grows (pod-to-pod cross-node walk, slow path: every hop)</text>`,
  );
  out.push(`<text x="${WIDTH / 2}" y="40" text-anchor="middle" fill="#555">${escapeXml(title)}</text>`);
  // Grid and ticks.
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${M.left}" y1="${f(py(y))}" x2="${M.left + plotW}" y2="${f(py(y))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(py(y) + 4)}" text-anchor="end">${Math.round(y)}</text>`);
  }
  for (let e = x0; e <= x1; e++) {
    const x = px(10 ** e);
    out.push(`<line x1="${f(x)}" y1="${M.top}" x2="${f(x)}" y2="${M.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${f(x)}" y="${M.top + plotH + 18}" text-anchor="middle">${sizeLabel(10 ** e)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(
    `<text x="${M.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle">size (nodes, pods, conntrack entries or flows; log scale)</text>`,
  );
  out.push(
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">ns per packet</text>`,
  );
  // One polyline per axis, points labelled with their value.
  axes.forEach((axis, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = points.filter((p) => p.axis === axis).sort((a, b) => a.size - b.size);
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${f(px(p.size))},${f(py(p.nsPerPacket))}`).join(' ')}"/>`,
    );
    for (const p of pts) {
      out.push(
        `<circle cx="${f(px(p.size))}" cy="${f(py(p.nsPerPacket))}" r="3.5" fill="${color}"><title>${escapeXml(`${axis} ${sizeLabel(p.size)}: ${Math.round(p.nsPerPacket)} ns/packet`)}</title></circle>`,
      );
    }
    const ly = M.top + 10 + i * 22;
    out.push(
      `<line x1="${M.left + plotW + 16}" y1="${ly}" x2="${M.left + plotW + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
    );
    const first = pts[0]!,
      last = pts[pts.length - 1]!;
    const growth =
      first.nsPerPacket > 0
        ? `${last.nsPerPacket >= first.nsPerPacket ? '+' : ''}${Math.round((last.nsPerPacket / first.nsPerPacket - 1) * 100)}%`
        : '';
    out.push(`<text x="${M.left + plotW + 46}" y="${ly + 4}">${escapeXml(axis)} ${growth}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
