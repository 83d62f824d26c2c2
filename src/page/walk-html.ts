/**
 * walk.html: one self-contained page per walk, to step through it hop by hop — the path picture with the
 * current hop highlighted, the packets (ARP included) and each one's captures, and for the selected capture
 * the frame as a layer tree (Wireshark's detail pane), its hex and ASCII dump, what changed since the previous
 * capture of the same packet, and the rules that acted in between.
 *
 * Self-contained: CSS, script and data are inline (no network, no CDN, no fetch — a page opened from file://
 * cannot read its sibling files), so the file can be mailed or attached to a ticket. The frames are decoded
 * here, in Node, by the project's own dissector (frame-fields.ts), and embedded as data; the page only renders.
 * Deterministic: the same input gives the same bytes.
 */

import { toHex } from '../../codecs/bytes.js';
import { summarize } from '../../codecs/summary.js';
import { startWalkPage, type PageData, type PagePacketData } from './app.js';
import { compileDisplayFilter } from './display-filter.js';
import { describeFrame, PAGE_FILTER_NAMES } from './frame-fields.js';
import { PAGE_CSS } from './page-css.js';
import type { PageField, WalkPageInput } from './types.js';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON safe inside a <script> element (no `</script>`, no HTML comment openers, no line separators). */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The picture as inline SVG: without the XML declaration, labelled for assistive technology. */
function inlineSvg(svg: string, title: string): string {
  const body = svg.replace(/^<\?xml[^>]*>\s*/, '');
  return body.replace(/^<svg /, `<svg role="img" aria-label="${esc(`Path picture of ${title}`)}" focusable="false" `);
}

/**
 * Leave out what the page can restore (walk.html carries a few hundred frames): a field's name when it is the
 * usual one for its display-filter name (kept once in `names`), its value when the shown text says the same.
 */
function compact(fields: PageField[], names: Record<string, string>): void {
  for (const f of fields) {
    const usual = names[f.abbrev];
    if (usual === undefined) names[f.abbrev] = f.name;
    if (names[f.abbrev] === f.name) delete (f as Partial<PageField>).name;
    if (f.value === f.show || (typeof f.value === 'number' && /^\d+$/.test(f.show) && Number(f.show) === f.value))
      delete f.value;
    if (f.children) compact(f.children, names);
  }
}

/** The page data: every hop's frame decoded by the project's dissector, bytes as lowercase hex. */
export function walkPageData(input: WalkPageInput): PageData {
  const names: Record<string, string> = {};
  const packets: PagePacketData[] = input.packets.map((p) => {
    const out: PagePacketData = {
      n: p.number,
      label: p.label,
      origin: p.origin,
      hops: p.hops.map((h) => {
        const d = describeFrame(h.bytes);
        for (const l of d.layers) compact(l.fields, names);
        return {
          frame: h.frame,
          point: h.point,
          host: h.host,
          dir: h.direction,
          t: h.timeNs,
          hex: toHex(h.bytes),
          ...(h.comment !== undefined ? { comment: h.comment } : {}),
          summary: summarize(h.bytes),
          acted: h.acted,
          layers: d.layers,
          ...(d.fault !== undefined ? { fault: d.fault } : {}),
        };
      }),
    };
    if (p.outcome !== undefined) out.outcome = p.outcome;
    if (p.dropped) out.dropped = true;
    if (p.after?.length) out.after = p.after;
    return out;
  });
  return { title: input.title, known: [...PAGE_FILTER_NAMES], names, packets };
}

const EXAMPLES = ['arp', 'tcp.flags.syn == 1', 'vxlan', 'ip.ttl < 64', '!arp && ip.addr == 10.128.0.0/14'];

/** Render walk.html for one walk. See WalkPageInput for what to pass. */
export function renderWalkPage(input: WalkPageInput): string {
  const data = walkPageData(input);
  const title = input.title;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push('<head>');
  out.push('<meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<title>${esc(`${title} — packetwalk`)}</title>`);
  out.push(`<style>${PAGE_CSS}</style>`);
  out.push('</head>');
  out.push('<body>');
  out.push('<a class="skip" href="#hop-list">Skip to the hops</a>');
  out.push('<header class="top">');
  out.push('<div class="heading">');
  out.push(`<h1>${esc(title)}</h1>`);
  if (input.subtitle) out.push(`<p class="sub">${esc(input.subtitle)}</p>`);
  if (input.notes?.length) {
    out.push('<ul class="notes">');
    for (const n of input.notes)
      out.push(
        `<li class="${n.ok ? 'ok' : 'bad'}"><span aria-hidden="true">${n.ok ? '✓' : '✗'}</span> <span class="visually-hidden">${n.ok ? 'ok:' : 'failed:'}</span>${esc(n.text)}</li>`,
      );
    out.push('</ul>');
  }
  out.push('</div>');
  out.push('<form id="filter-form" class="filter" role="search" aria-label="Display filter">');
  out.push('<label for="filter">Display filter</label>');
  out.push(
    '<div class="filter-row"><input id="filter" type="text" spellcheck="false" autocomplete="off" placeholder="e.g. ip.addr == 10.131.0.40 && tcp.port == 1433" aria-describedby="filter-status filter-help filter-error"></div>',
  );
  out.push('<p id="filter-error" class="error" role="alert" hidden></p>');
  out.push(
    `<p id="filter-help" class="help">Fields as in Wireshark (<code>ip.addr</code>, <code>tcp.port</code>, <code>vxlan.vni</code>, <code>arp</code> …) with <code>== != &lt; &gt; contains</code>, <code>&amp;&amp; || !</code> and parentheses. Try: ${EXAMPLES.map((e) => `<button type="button" class="example" data-filter="${esc(e)}">${esc(e)}</button>`).join(' ')}</p>`,
  );
  out.push('<p id="filter-status" class="status" aria-live="polite"></p>');
  out.push('</form>');
  out.push('</header>');
  out.push('<main>');
  out.push(
    '<p class="keys">Keys: <kbd>→</kbd>/<kbd>←</kbd> next/previous hop · <kbd>↓</kbd>/<kbd>↑</kbd> next/previous packet · <kbd>Home</kbd>/<kbd>End</kbd> first/last hop · <kbd>/</kbd> filter. The address bar keeps the spot (<code>#packet=N&amp;hop=M</code>): copy it to share.</p>',
  );
  if (input.pictureSvg) {
    out.push('<section class="panel picture-panel" aria-labelledby="picture-title">');
    out.push('<h2 id="picture-title">Path</h2>');
    out.push(
      `<div id="picture" class="picture" tabindex="0" role="region" aria-label="Path picture, scrollable">${inlineSvg(input.pictureSvg, title)}</div>`,
    );
    out.push('<p id="picture-caption" class="caption" aria-live="polite"></p>');
    out.push('</section>');
  } else {
    out.push('<p id="picture-caption" class="caption" hidden></p>');
  }
  out.push('<div class="columns">');
  out.push('<div class="col col-lists">');
  out.push(
    '<nav class="panel" aria-labelledby="packets-title"><h2 id="packets-title">Packets</h2><ol id="packet-list" class="packets"></ol></nav>',
  );
  out.push(
    '<section class="panel" aria-labelledby="hops-title"><h2 id="hops-title">Hops</h2><ol id="hop-list" class="hops"></ol></section>',
  );
  out.push('</div>');
  out.push('<div class="col col-frame">');
  out.push(
    '<section class="panel" aria-labelledby="tree-title"><h2 id="tree-title">Layers</h2><div id="tree" class="tree"></div></section>',
  );
  out.push(
    '<section class="panel" aria-labelledby="changes-title"><h2 id="changes-title">What changed since the previous hop</h2><div id="changes" class="changes-pane"></div></section>',
  );
  out.push('</div>');
  out.push('<div class="col col-bytes">');
  out.push(
    '<section class="panel" aria-labelledby="dump-title"><h2 id="dump-title">Bytes</h2><p id="field-title" class="field-title" aria-live="polite"></p><div id="dump" class="dump" tabindex="0" role="region" aria-label="Hex and ASCII dump of the frame" data-bytes=""></div>',
  );
  out.push(
    '<p class="legend"><span class="chg-sample">underlined</span> bytes changed or were added since the previous hop; <span class="sel-sample">boxed</span> bytes belong to the selected field.</p></section>',
  );
  out.push(
    '<section class="panel" aria-labelledby="acted-title"><h2 id="acted-title">What acted here</h2><div id="acted" class="acted"></div></section>',
  );
  out.push('</div>');
  out.push('</div>');
  out.push('</main>');
  out.push(`<script type="application/json" id="walk-data">${scriptJson(data)}</script>`);
  // The script's functions are inlined by their source text (see app.ts and display-filter.ts). `__name` is
  // defined in case a transpiler that keeps function names wrapped them in its helper.
  out.push('<script>');
  out.push('"use strict";');
  out.push('var __name = function (f) { return f; };');
  out.push(
    `(${startWalkPage.toString()})(JSON.parse(document.getElementById("walk-data").textContent), ${compileDisplayFilter.toString()});`,
  );
  out.push('</script>');
  out.push('</body>');
  out.push('</html>');
  return out.join('\n') + '\n';
}
