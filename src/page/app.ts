/// <reference lib="dom" />
/**
 * The script of walk.html. It runs in the browser: `startWalkPage` is inlined into the page by its source text
 * (walk-html.ts), so it must stay self-contained — no imports, no module-level names; it gets the page data and
 * the display-filter compiler as arguments. Plain DOM: the page is one list of packets, one list of hops, a
 * layer tree, a hex dump and two lists of notes; a framework would add weight and nothing the page needs.
 *
 * (The DOM library reference above adds browser types for type-checking this file only in spirit: tsc applies
 * it to the whole program, which is harmless for Node code that never names DOM globals.)
 */

import type { CompiledFilter, FilterFields } from './display-filter.js';
import type { PageField, PageLayer, WalkPageAction } from './types.js';

/** One hop as embedded in the page (walk-html.ts writes it). */
export interface PageHopData {
  frame: number;
  point: string;
  host: string;
  dir: 'inbound' | 'outbound';
  t: number;
  hex: string;
  comment?: string;
  summary: string;
  acted: WalkPageAction[];
  layers: PageLayer[];
  fault?: string;
}

export interface PagePacketData {
  n: number;
  label: string;
  origin: string;
  outcome?: string;
  dropped?: boolean;
  after?: WalkPageAction[];
  hops: PageHopData[];
}

export interface PageData {
  title: string;
  known: string[];
  /** Field names by display-filter name; a field without `name` has this one (and without `value`, its `show`). */
  names: Record<string, string>;
  packets: PagePacketData[];
}

/** Start the page: render the lists, wire keys, clicks, the filter and the URL fragment. */
export function startWalkPage(
  data: PageData,
  compileFilter: (text: string, known: readonly string[]) => CompiledFilter,
): void {
  type Change = { kind: 'changed' | 'added'; was?: string };
  interface HopInfo {
    fieldKeys: Map<string, PageField>;
    layerKeys: string[];
    changes: Map<string, Change>;
    removed: PageLayer[];
    changedBytes: Set<number>;
    tags: string[];
    filterFields?: FilterFields;
  }

  // Restore what walk-html.ts left out of the data (see `compact` there).
  const restore = (fields: PageField[]): void => {
    for (const f of fields) {
      if (f.name === undefined) f.name = data.names[f.abbrev] ?? f.abbrev;
      if (f.value === undefined) f.value = /^\d+$/.test(f.show) ? Number(f.show) : f.show;
      if (f.children) restore(f.children);
    }
  };
  for (const p of data.packets) for (const h of p.hops) for (const l of h.layers) restore(l.fields);

  const $ = (id: string): HTMLElement => document.getElementById(id)!;
  const packetsEl = $('packet-list');
  const hopsEl = $('hop-list');
  const hopsTitle = $('hops-title');
  const treeEl = $('tree');
  const dumpEl = $('dump');
  const changesEl = $('changes');
  const actedEl = $('acted');
  const pictureEl = document.getElementById('picture');
  const captionEl = $('picture-caption');
  const filterInput = $('filter') as HTMLInputElement;
  const filterError = $('filter-error');
  const filterStatus = $('filter-status');
  const fieldTitle = $('field-title');

  const PROTO_NAMES: Record<string, string> = {
    eth: 'Ethernet II',
    vlan: '802.1Q',
    arp: 'ARP',
    ip: 'IPv4',
    icmp: 'ICMP',
    udp: 'UDP',
    tcp: 'TCP',
    vxlan: 'VXLAN',
    data: 'Data',
    padding: 'Padding',
  };
  const KIND_LABEL: Record<string, string> = {
    flow: 'br0 flow',
    iptables: 'iptables',
    route: 'route',
    conntrack: 'conntrack',
    nat: 'NAT',
    arp: 'ARP',
    encap: 'VXLAN',
    port: 'port',
    drop: 'drop',
    deliver: 'delivered',
    note: 'note',
  };

  function esc(s: string): string {
    return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  }

  // ---- Per-hop keys and differences ----

  /** Keys that pair a layer with the same layer of another capture: counted from the innermost frame. */
  function keysOf(layers: PageLayer[]): { fieldKeys: Map<string, PageField>; layerKeys: string[] } {
    const maxDepth = layers.reduce((m, l) => Math.max(m, l.depth), 0);
    const seen = new Map<string, number>();
    const fieldKeys = new Map<string, PageField>();
    const layerKeys: string[] = [];
    for (const l of layers) {
      const base = `${maxDepth - l.depth}:${l.proto}`;
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      const lk = `${base}:${n}`;
      layerKeys.push(lk);
      const walk = (fields: PageField[], prefix: string): void => {
        const count = new Map<string, number>();
        for (const f of fields) {
          const c = count.get(f.abbrev) ?? 0;
          count.set(f.abbrev, c + 1);
          const k = `${prefix}/${f.abbrev}:${c}`;
          fieldKeys.set(k, f);
          if (f.children) walk(f.children, k);
        }
      };
      walk(l.fields, lk);
    }
    return { fieldKeys, layerKeys };
  }

  const info: HopInfo[][] = data.packets.map((p) =>
    p.hops.map((h) => ({
      ...keysOf(h.layers),
      changes: new Map(),
      removed: [],
      changedBytes: new Set<number>(),
      tags: [],
    })),
  );

  function layerOfKey(k: string): string {
    return k.slice(0, k.indexOf('/'));
  }

  data.packets.forEach((p, pi) => {
    p.hops.forEach((h, hi) => {
      if (hi === 0) return;
      const prev = info[pi]![hi - 1]!,
        cur = info[pi]![hi]!;
      const prevLayers = new Set(prev.layerKeys);
      const curLayers = new Set(cur.layerKeys);
      const tags = new Set<string>();
      for (const [k, f] of cur.fieldKeys) {
        const before = prev.fieldKeys.get(k);
        if (!prevLayers.has(layerOfKey(k)) || !before) cur.changes.set(k, { kind: 'added' });
        else if (before.show !== f.show) cur.changes.set(k, { kind: 'changed', was: before.show });
        else continue;
        const ch = cur.changes.get(k)!;
        for (let b = f.offset; b < f.offset + f.length; b++) cur.changedBytes.add(b);
        if (ch.kind === 'changed') {
          const a = f.abbrev;
          if (a === 'ip.dst' || a === 'tcp.dstport' || a === 'udp.dstport') tags.add('dst rewritten');
          else if (a === 'ip.src' || a === 'tcp.srcport' || a === 'udp.srcport') tags.add('src rewritten');
          else if (a === 'ip.ttl') tags.add('TTL');
          else if (a === 'eth.src' || a === 'eth.dst') tags.add('MACs');
        }
      }
      h.layers.forEach((l, i) => {
        if (!prevLayers.has(cur.layerKeys[i]!) && l.proto === 'vxlan') tags.add('VXLAN encap');
      });
      data.packets[pi]!.hops[hi - 1]!.layers.forEach((l, i) => {
        if (!curLayers.has(prev.layerKeys[i]!)) {
          cur.removed.push(l);
          if (l.proto === 'vxlan') tags.add('VXLAN decap');
        }
      });
      cur.tags = [...tags];
    });
  });

  // ---- Filter ----

  function filterFields(pi: number, hi: number): FilterFields {
    const hinfo = info[pi]![hi]!;
    if (hinfo.filterFields) return hinfo.filterFields;
    const h = data.packets[pi]!.hops[hi]!;
    const out: FilterFields = {};
    const add = (k: string, v: string | number): void => {
      (out[k] ??= []).push(v);
    };
    const walk = (fields: PageField[]): void => {
      for (const f of fields) {
        add(f.abbrev, f.value !== undefined ? f.value : f.show);
        if (f.children) walk(f.children);
      }
    };
    for (const l of h.layers) {
      add(l.proto, 1);
      walk(l.fields);
    }
    add('frame.number', h.frame);
    add('frame.interface_name', h.point);
    add('frame.len', h.hex.length / 2);
    hinfo.filterFields = out;
    return out;
  }

  let test: (f: FilterFields) => boolean = () => true;
  /** Visible hops per packet (indexes), after the filter. */
  let visible: number[][] = data.packets.map((p) => p.hops.map((_, i) => i));

  function applyFilter(text: string): void {
    const c = compileFilter(text, data.known);
    if (!c.ok) {
      filterInput.setAttribute('aria-invalid', 'true');
      filterError.textContent = `Bad filter: ${c.error} (at character ${c.at + 1}). Showing every packet.`;
      filterError.hidden = false;
      test = () => true;
    } else {
      filterInput.removeAttribute('aria-invalid');
      filterError.textContent = '';
      filterError.hidden = true;
      test = c.test;
    }
    visible = data.packets.map((p, pi) => p.hops.map((_, hi) => hi).filter((hi) => test(filterFields(pi, hi))));
    const np = visible.filter((v) => v.length).length;
    const nh = visible.reduce((s, v) => s + v.length, 0);
    const total = data.packets.reduce((s, p) => s + p.hops.length, 0);
    filterStatus.textContent =
      c.ok && text.trim()
        ? `${np} of ${data.packets.length} packets, ${nh} of ${total} hops match`
        : `${data.packets.length} packets, ${total} hops`;
    renderPackets();
    hopsDirty = true;
    if (!visible[cur.p]?.includes(cur.h)) {
      const first = visible.findIndex((v) => v.length > 0);
      if (first >= 0) select(first, visible[first]![0]!, false);
      else renderEmpty();
    } else select(cur.p, cur.h, false);
  }

  // ---- Lists ----

  const cur = { p: 0, h: 0 };
  /** The hop list must be rebuilt (the filter changed, or nothing is shown yet). */
  let hopsDirty = true;
  let selectedKey: string | undefined;

  function renderPackets(): void {
    const parts: string[] = [];
    data.packets.forEach((p, pi) => {
      if (!visible[pi]!.length) return;
      const arp = p.label.startsWith('ARP');
      const status = p.dropped ? '<span class="badge drop">dropped</span>' : '';
      parts.push(
        `<li><button type="button" class="packet${arp ? ' arp' : ''}" data-packet="${p.n}">` +
          `<span class="num"><span class="visually-hidden">Packet </span>${p.n}</span><span class="plabel">${esc(p.label)}${status}</span><span class="porigin">${esc(p.origin)} · ${p.hops.length} hop${p.hops.length === 1 ? '' : 's'}</span></button></li>`,
      );
    });
    packetsEl.innerHTML = parts.join('');
  }

  function timeText(ns: number): string {
    return `${(ns / 1e9).toFixed(6)} s`;
  }

  function renderHops(): void {
    const p = data.packets[cur.p]!;
    hopsTitle.textContent = `Hops of packet ${p.n}`;
    const parts: string[] = [];
    for (const hi of visible[cur.p]!) {
      const h = p.hops[hi]!;
      const tags = info[cur.p]![hi]!.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join('');
      const dir = h.dir === 'outbound' ? 'sent' : 'received';
      parts.push(
        `<li><button type="button" class="hop" data-packet="${p.n}" data-hop="${hi + 1}" data-frame="${h.frame}">` +
          `<span class="hnum"><span class="visually-hidden">Hop </span>${hi + 1}</span><span class="hpoint">${esc(h.point)}</span><span class="hmeta">${dir === 'sent' ? '→ out' : '← in'} · frame ${h.frame} · ${timeText(h.t)}</span>` +
          `<span class="hsum">${esc(h.summary)}</span>${tags ? `<span class="tags">${tags}</span>` : ''}</button></li>`,
      );
    }
    if (p.outcome)
      parts.push(`<li class="outcome${p.dropped ? ' dropped' : ''}">${p.dropped ? '✗ ' : '✓ '}${esc(p.outcome)}</li>`);
    hopsEl.innerHTML = parts.join('');
  }

  // ---- Detail panes ----

  /** One field line; `quiet` leaves out the per-field "added" mark when the whole layer is marked added. */
  function fieldHtml(f: PageField, key: string, changes: Map<string, Change>, quiet: boolean): string {
    const ch = changes.get(key);
    const mark =
      ch && !(quiet && ch.kind === 'added')
        ? `<span class="mark ${ch.kind}">${ch.kind === 'added' ? 'added' : `changed, was ${esc(ch.was ?? '')}`}</span>`
        : '';
    const status = f.status ? ` data-status="${f.status}"` : '';
    const meaning = f.meaning ? ` <span class="meaning">(${esc(f.meaning)})</span>` : '';
    const statusText =
      f.status === 'good'
        ? ' <span class="ok">✓ good</span>'
        : f.status === 'bad'
          ? ' <span class="bad">✗ bad</span>'
          : '';
    let s =
      `<li><button type="button" class="field${ch ? ` ${ch.kind}` : ''}" data-field="${esc(f.abbrev)}" data-key="${esc(key)}"${ch ? ` data-change="${ch.kind}"` : ''}${status} aria-pressed="false">` +
      `<span class="fname">${esc(f.name)}:</span> <span class="fval">${esc(f.show)}</span>${meaning}${statusText}${mark}<span class="abbrev">${esc(f.abbrev)}</span></button>`;
    if (f.children?.length) {
      const count = new Map<string, number>();
      s +=
        '<ul>' +
        f.children
          .map((c) => {
            const n = count.get(c.abbrev) ?? 0;
            count.set(c.abbrev, n + 1);
            return fieldHtml(c, `${key}/${c.abbrev}:${n}`, changes, quiet);
          })
          .join('') +
        '</ul>';
    }
    return s + '</li>';
  }

  function renderTree(): void {
    const h = data.packets[cur.p]!.hops[cur.h]!;
    const hi = info[cur.p]![cur.h]!;
    const parts: string[] = [];
    h.layers.forEach((l, i) => {
      const lk = hi.layerKeys[i]!;
      const added =
        cur.h > 0 &&
        [...hi.changes.keys()].some((k) => layerOfKey(k) === lk && hi.changes.get(k)!.kind === 'added') &&
        l.fields.every(
          (f, j) =>
            hi.changes.get(`${lk}/${f.abbrev}:${l.fields.slice(0, j).filter((g) => g.abbrev === f.abbrev).length}`)
              ?.kind === 'added',
        );
      const changed = !added && [...hi.changes.keys()].some((k) => layerOfKey(k) === lk);
      const mark = added
        ? '<span class="mark added">added</span>'
        : changed
          ? '<span class="mark changed">changed</span>'
          : '';
      const count = new Map<string, number>();
      const fields = l.fields
        .map((f) => {
          const n = count.get(f.abbrev) ?? 0;
          count.set(f.abbrev, n + 1);
          return fieldHtml(f, `${lk}/${f.abbrev}:${n}`, hi.changes, added);
        })
        .join('');
      const depth = l.depth > 0 ? `<span class="depth">inner ×${l.depth}</span>` : '';
      parts.push(
        `<details class="layer" data-proto="${l.proto}" data-depth="${l.depth}"${added ? ' data-change="added"' : ''} open><summary><span class="ltitle">${esc(l.title)}</span>${depth}${mark}</summary><ul>${fields}</ul></details>`,
      );
    });
    if (h.fault) parts.push(`<p class="fault" role="note">Dissector fault: ${esc(h.fault)}</p>`);
    treeEl.innerHTML = parts.join('');
  }

  function renderDump(): void {
    const h = data.packets[cur.p]!.hops[cur.h]!;
    const changed = info[cur.p]![cur.h]!.changedBytes;
    const n = h.hex.length / 2;
    dumpEl.setAttribute('data-bytes', h.hex);
    dumpEl.setAttribute('data-frame', String(h.frame));
    const rows: string[] = [];
    for (let r = 0; r < n; r += 16) {
      let hx = '',
        asc = '';
      for (let i = r; i < r + 16; i++) {
        if (i >= n) {
          hx += '<span class="pad">  </span>' + (i % 16 === 7 ? ' ' : '');
          continue;
        }
        const b = parseInt(h.hex.slice(2 * i, 2 * i + 2), 16);
        const cls = changed.has(i) ? ' class="chg"' : '';
        hx += `<span data-i="${i}"${cls}>${h.hex.slice(2 * i, 2 * i + 2)}</span>` + (i % 16 === 7 ? ' ' : '');
        asc += `<span data-i="${i}"${cls}>${b >= 0x20 && b < 0x7f ? esc(String.fromCharCode(b)) : '.'}</span>`;
      }
      rows.push(
        `<div class="row"><span class="off">${r.toString(16).padStart(4, '0')}</span><span class="hex">${hx}</span><span class="asc">${asc}</span></div>`,
      );
    }
    dumpEl.innerHTML = rows.join('');
  }

  function renderChanges(): void {
    const h = data.packets[cur.p]!.hops[cur.h]!;
    const hi = info[cur.p]![cur.h]!;
    if (cur.h === 0) {
      changesEl.innerHTML = `<p class="muted">First capture of this packet: nothing to compare with.</p>`;
      return;
    }
    const prev = data.packets[cur.p]!.hops[cur.h - 1]!;
    const parts: string[] = [
      `<p class="muted">Compared with hop ${cur.h} (frame ${prev.frame}, ${esc(prev.point)}).</p>`,
    ];
    const added = new Map<string, PageLayer>();
    const lines: string[] = [];
    for (const [k, c] of hi.changes) {
      const li = hi.layerKeys.indexOf(layerOfKey(k));
      const layer = h.layers[li]!;
      const f = hi.fieldKeys.get(k)!;
      if (c.kind === 'added') {
        added.set(layerOfKey(k), layer);
        continue;
      }
      lines.push(
        `<li><button type="button" class="change-link" data-key="${esc(k)}"><span class="mark changed">changed</span> <b>${esc(PROTO_NAMES[layer.proto] ?? layer.proto)}${layer.depth ? ' (inner)' : ''} · ${esc(f.name)}</b>: <span class="was">${esc(c.was ?? '')}</span> → <span class="now">${esc(f.show)}</span></button></li>`,
      );
    }
    for (const [k, l] of added) {
      const firstKey = [...hi.fieldKeys.keys()].find((x) => layerOfKey(x) === k);
      lines.push(
        `<li><button type="button" class="change-link" data-key="${esc(firstKey ?? '')}"><span class="mark added">added</span> <b>${esc(l.title)}</b></button></li>`,
      );
    }
    for (const l of hi.removed) lines.push(`<li><span class="mark removed">removed</span> <b>${esc(l.title)}</b></li>`);
    if (!lines.length) parts.push('<p>No field changed: the same bytes, captured at the next point.</p>');
    else parts.push(`<ul class="changes">${lines.join('')}</ul>`);
    changesEl.innerHTML = parts.join('');
  }

  function actionHtml(a: WalkPageAction): string {
    return `<li class="act act-${a.kind}"><span class="kind">${esc(KIND_LABEL[a.kind] ?? a.kind)}</span>${a.where ? `<span class="where">${esc(a.where)}</span>` : ''}${a.host ? `<span class="host">${esc(a.host)}</span>` : ''}<code>${esc(a.text)}</code></li>`;
  }

  function renderActed(): void {
    const p = data.packets[cur.p]!;
    const h = p.hops[cur.h]!;
    const parts: string[] = [];
    const acted = h.acted.filter((a) => a.kind !== 'port');
    parts.push(
      `<p class="muted">${cur.h === 0 ? 'Before its first capture' : `Between hop ${cur.h} and this capture`} (${acted.length} step${acted.length === 1 ? '' : 's'}).</p>`,
    );
    if (acted.length) parts.push(`<ol class="acts">${acted.map(actionHtml).join('')}</ol>`);
    if (h.comment)
      parts.push(`<p class="comment"><span class="kind">pcapng comment</span> <code>${esc(h.comment)}</code></p>`);
    const after = cur.h === p.hops.length - 1 ? (p.after ?? []).filter((a) => a.kind !== 'port') : [];
    if (after.length) {
      parts.push(`<h3>After the last capture</h3><ol class="acts">${after.map(actionHtml).join('')}</ol>`);
    }
    actedEl.innerHTML = parts.join('');
  }

  /** Highlight the picture's hop that ends at the selected capture; returns the element to scroll to. */
  function renderPicture(): Element | undefined {
    if (!pictureEl) return undefined;
    const h = data.packets[cur.p]!.hops[cur.h]!;
    for (const e of pictureEl.querySelectorAll('.current')) e.classList.remove('current');
    const hits = pictureEl.querySelectorAll(`[data-frame="${h.frame}"]`);
    let label = '';
    for (const e of hits) {
      e.classList.add('current');
      if (e.classList.contains('hop')) label = e.textContent ?? '';
    }
    const first = data.packets[cur.p]!.hops[0]!;
    const inPicture = pictureEl.querySelector(
      `[data-frame="${first.frame}"], [data-frame="${data.packets[cur.p]!.hops[1]?.frame ?? -1}"]`,
    );
    if (hits.length) {
      captionEl.textContent = `Highlighted: the picture's hop ${label || '?'}, the arrow that ends at this capture (frame ${h.frame}).`;
      return [...hits].find((e) => e.classList.contains('hop')) ?? hits[0]!;
    }
    captionEl.textContent = inPicture
      ? 'This is where the packet starts in the picture (its first capture; arrows begin here).'
      : 'The picture draws the first packet of the conversation and its answer; this packet is not drawn.';
    return undefined;
  }

  /** Scroll the picture so the highlighted hop is in view (a layout read: done after every DOM write). */
  function revealInPicture(target: Element | undefined): void {
    if (!pictureEl || !target) return;
    const box = target.getBoundingClientRect(),
      view = pictureEl.getBoundingClientRect();
    if (box.top < view.top || box.bottom > view.bottom || box.left < view.left || box.right > view.right) {
      pictureEl.scrollTo({
        left: pictureEl.scrollLeft + box.left - view.left - view.width / 2,
        top: pictureEl.scrollTop + box.top - view.top - view.height / 2,
      });
    }
  }

  function renderEmpty(): void {
    hopsEl.innerHTML = '<li class="outcome">No packet matches the filter.</li>';
    treeEl.innerHTML = '';
    dumpEl.innerHTML = '';
    dumpEl.setAttribute('data-bytes', '');
    changesEl.innerHTML = '';
    actedEl.innerHTML = '';
  }

  function selectField(key: string | undefined, show: boolean): void {
    const hi = info[cur.p]![cur.h]!;
    const f = key ? hi.fieldKeys.get(key) : undefined;
    selectedKey = f ? key : selectedKey;
    for (const b of treeEl.querySelectorAll('button.field[aria-pressed="true"]'))
      b.setAttribute('aria-pressed', 'false');
    for (const s of dumpEl.querySelectorAll('.sel')) s.classList.remove('sel');
    if (!f || !key) {
      fieldTitle.textContent = 'Select a field to see its bytes, or a byte to see its field.';
      return;
    }
    const btn = treeEl.querySelector(`button.field[data-key="${CSS.escape(key)}"]`);
    btn?.setAttribute('aria-pressed', 'true');
    if (show && btn) {
      btn.closest('details')?.setAttribute('open', '');
      btn.scrollIntoView({ block: 'nearest' });
    }
    for (const s of dumpEl.querySelectorAll('[data-i]')) {
      const i = Number((s as HTMLElement).dataset.i);
      if (i >= f.offset && i < f.offset + f.length) s.classList.add('sel');
    }
    fieldTitle.textContent = `${f.name} (${f.abbrev}): bytes ${f.offset}–${f.offset + f.length - 1} (${f.length} byte${f.length === 1 ? '' : 's'})`;
  }

  /** The most specific field holding byte i: the shortest range, innermost layer first. */
  function fieldAt(i: number): string | undefined {
    const hi = info[cur.p]![cur.h]!;
    let best: string | undefined,
      bestLen = Infinity;
    for (const [k, f] of hi.fieldKeys) {
      if (i >= f.offset && i < f.offset + f.length && f.length <= bestLen) {
        best = k;
        bestLen = f.length;
      }
    }
    return best;
  }

  /** Scroll `el` into view inside its scrolling list only (scrollIntoView would scroll the window too). */
  function reveal(container: HTMLElement, el: HTMLElement | null | undefined): void {
    if (!el) return;
    const c = container.getBoundingClientRect(),
      r = el.getBoundingClientRect();
    if (r.top < c.top) container.scrollTop -= c.top - r.top + 4;
    else if (r.bottom > c.bottom) container.scrollTop += r.bottom - c.bottom + 4;
  }

  function writeHash(): void {
    const hash = `#packet=${data.packets[cur.p]!.n}&hop=${cur.h + 1}`;
    if (location.hash === hash) return;
    try {
      history.replaceState(null, '', hash);
    } catch {
      location.hash = hash;
    }
  }

  function select(pi: number, hi: number, focus: boolean | 'packet'): void {
    const packetChanged = pi !== cur.p || hopsDirty;
    cur.p = pi;
    cur.h = hi;
    // Every DOM write first, then the layout reads (scrolling), so a step costs one layout.
    if (packetChanged) {
      renderHops();
      hopsDirty = false;
      for (const b of packetsEl.querySelectorAll('button.packet')) {
        const on = Number((b as HTMLElement).dataset.packet) === data.packets[pi]!.n;
        if (on) b.setAttribute('aria-current', 'true');
        else b.removeAttribute('aria-current');
      }
    } else hopsEl.querySelector('button.hop[aria-current="step"]')?.removeAttribute('aria-current');
    const hopBtn = hopsEl.querySelector(`button.hop[data-hop="${hi + 1}"]`) as HTMLElement | null;
    hopBtn?.setAttribute('aria-current', 'step');
    renderTree();
    renderDump();
    renderChanges();
    renderActed();
    const target = renderPicture();
    const keep = selectedKey && info[pi]![hi]!.fieldKeys.has(selectedKey) ? selectedKey : undefined;
    selectField(keep, false);
    const pbtn = packetsEl.querySelector('button.packet[aria-current="true"]') as HTMLElement | null;
    revealInPicture(target);
    reveal(packetsEl, pbtn);
    reveal(hopsEl, hopBtn);
    if (focus === 'packet') pbtn?.focus({ preventScroll: true });
    else if (focus) hopBtn?.focus({ preventScroll: true });
    writeHash();
  }

  // ---- Navigation ----

  function moveHop(delta: number | 'first' | 'last', focus: boolean): void {
    const v = visible[cur.p]!;
    if (!v.length) return;
    const at = v.indexOf(cur.h);
    const next =
      delta === 'first'
        ? 0
        : delta === 'last'
          ? v.length - 1
          : Math.min(v.length - 1, Math.max(0, Math.max(at, 0) + delta));
    select(cur.p, v[next]!, focus);
  }

  function movePacket(delta: number, focus: boolean | 'packet'): void {
    const order = visible.map((v, i) => (v.length ? i : -1)).filter((i) => i >= 0);
    const at = order.indexOf(cur.p);
    const next = order[Math.min(order.length - 1, Math.max(0, Math.max(at, 0) + delta))];
    if (next === undefined) return;
    select(next, visible[next]![0]!, focus);
  }

  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target as HTMLElement;
    if (t === filterInput) {
      if (e.key === 'Escape') {
        filterInput.value = '';
        applyFilter('');
      }
      return;
    }
    const inLists = t === document.body || !!t.closest?.('#hop-list, #packet-list');
    const inPackets = !!t.closest?.('#packet-list');
    switch (e.key) {
      case 'ArrowRight':
        moveHop(1, inLists);
        break;
      case 'ArrowLeft':
        moveHop(-1, inLists);
        break;
      case 'ArrowDown':
        movePacket(1, inPackets ? 'packet' : inLists);
        break;
      case 'ArrowUp':
        movePacket(-1, inPackets ? 'packet' : inLists);
        break;
      case 'Home':
        moveHop('first', inLists);
        break;
      case 'End':
        moveHop('last', inLists);
        break;
      case '/':
        filterInput.focus();
        break;
      default:
        return;
    }
    e.preventDefault();
  });

  packetsEl.addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest('button.packet') as HTMLElement | null;
    if (!b) return;
    const pi = data.packets.findIndex((p) => p.n === Number(b.dataset.packet));
    if (pi >= 0 && visible[pi]!.length) select(pi, visible[pi]![0]!, 'packet');
  });
  hopsEl.addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest('button.hop') as HTMLElement | null;
    if (b) select(cur.p, Number(b.dataset.hop) - 1, true);
  });
  treeEl.addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest('button.field') as HTMLElement | null;
    if (b) selectField(b.dataset.key, false);
  });
  changesEl.addEventListener('click', (e) => {
    const b = (e.target as HTMLElement).closest('button.change-link') as HTMLElement | null;
    if (b?.dataset.key) selectField(b.dataset.key, true);
  });
  dumpEl.addEventListener('click', (e) => {
    const s = (e.target as HTMLElement).closest('[data-i]') as HTMLElement | null;
    if (s) selectField(fieldAt(Number(s.dataset.i)), true);
  });
  filterInput.addEventListener('input', () => applyFilter(filterInput.value));
  ($('filter-form') as HTMLFormElement).addEventListener('submit', (e) => {
    e.preventDefault();
    applyFilter(filterInput.value);
  });
  for (const b of document.querySelectorAll('button.example')) {
    b.addEventListener('click', () => {
      filterInput.value = (b as HTMLElement).dataset.filter ?? '';
      applyFilter(filterInput.value);
    });
  }

  function readHash(): { p: number; h: number } | undefined {
    const m = /packet=(\d+)/.exec(location.hash),
      n = /hop=(\d+)/.exec(location.hash);
    if (!m) return undefined;
    const pi = data.packets.findIndex((p) => p.n === Number(m[1]));
    if (pi < 0) return undefined;
    const hi = Math.min(data.packets[pi]!.hops.length - 1, Math.max(0, (n ? Number(n[1]) : 1) - 1));
    return hi >= 0 ? { p: pi, h: hi } : undefined;
  }
  window.addEventListener('hashchange', () => {
    const at = readHash();
    if (at && (at.p !== cur.p || at.h !== cur.h)) select(at.p, at.h, false);
  });

  // A halo under each arrow of the picture, shown for the selected hop: changing its opacity only repaints,
  // where a thicker stroke would lay the whole picture out again at every step.
  if (pictureEl) {
    for (const a of pictureEl.querySelectorAll('path.arrow[data-frame]')) {
      const halo = a.cloneNode() as Element;
      halo.setAttribute('class', 'halo');
      halo.removeAttribute('marker-end');
      halo.removeAttribute('stroke-dasharray');
      halo.setAttribute('stroke-width', '10');
      a.parentNode!.insertBefore(halo, a);
    }
  }

  // ---- Start ----
  renderPackets();
  const at = readHash();
  const firstPacket = data.packets.findIndex((p) => p.hops.length > 0);
  if (at) select(at.p, at.h, false);
  else if (firstPacket >= 0) select(firstPacket, 0, false);
  else renderEmpty();
  filterStatus.textContent = `${data.packets.length} packets, ${data.packets.reduce((s, p) => s + p.hops.length, 0)} hops`;
  document.body.setAttribute('data-ready', 'true');
}
