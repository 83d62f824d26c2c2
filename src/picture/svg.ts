/**
 * Small helpers for writing SVG by hand: escaping, number formatting (fixed precision, so the same picture is
 * the same bytes), text width estimates for layout, and rectangles for overlap checks. No DOM, no dependency.
 */

/** Escape text for XML character data and attribute values (both quote kinds, so either quoting works). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

/** A coordinate as text: at most one decimal, no `-0`, no exponent. */
export function num(n: number): string {
  const r = Math.round(n * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

export const SANS = 'font-family="\'DejaVu Sans\', Verdana, Arial, sans-serif"';
export const MONO = 'font-family="\'DejaVu Sans Mono\', Menlo, Consolas, monospace"';

/** Width of `text` in a monospace font of `size` px (DejaVu Sans Mono advances 0.602 em). */
export function monoWidth(text: string, size: number): number {
  return [...text].length * size * 0.602;
}

/** A generous width estimate for sans-serif text (wide enough for DejaVu Sans, the widest common fallback). */
export function sansWidth(text: string, size: number, bold = false): number {
  return [...text].length * size * (bold ? 0.68 : 0.62);
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function overlaps(a: Rect, b: Rect, margin = 0): boolean {
  return a.x < b.x + b.w + margin && b.x < a.x + a.w + margin && a.y < b.y + b.h + margin && b.y < a.y + a.h + margin;
}

/** `<text>` with escaped content; `attrs` is a pre-built attribute string. */
export function text(x: number, y: number, content: string, attrs: string): string {
  return `<text x="${num(x)}" y="${num(y)}" ${attrs}>${escapeXml(content)}</text>`;
}

export function rect(r: Rect, attrs: string, radius = 0): string {
  const rr = radius ? ` rx="${radius}"` : '';
  return `<rect x="${num(r.x)}" y="${num(r.y)}" width="${num(r.w)}" height="${num(r.h)}"${rr} ${attrs}/>`;
}
