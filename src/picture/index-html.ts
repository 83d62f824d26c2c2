/**
 * index.html at the top of a run's output folder: one section per scenario with its picture (path.svg shown as
 * an image), its status and flows, and links to its trace and capture files. Opens from the file system: only
 * relative links, inline CSS, no script, no external resource.
 */

import { escapeXml } from './svg.js';

export interface IndexEntry {
  /** Scenario name, also its folder under the index. */
  name: string;
  figure: string;
  summary: string;
  passed: boolean;
  /** Files in the scenario folder, relative to it (`walk.pcapng`, `path.svg`, `<point>.pcap`, ...). */
  files: string[];
  flows: { detail: string; ok: boolean }[];
}

export interface IndexHtmlOptions {
  /** Page title (default `packetwalk: walks`). */
  title?: string;
  /** One line under the title, e.g. the cluster file and seed. */
  subtitle?: string;
}

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1f2328; margin: 0; background: #f6f8fa; line-height: 1.45; }
main { max-width: 1280px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
.sub { color: #57606a; margin: 0 0 16px; }
.note { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 12px 16px; margin: 16px 0; }
.note p { margin: 4px 0; }
nav ol { columns: 2; margin: 8px 0 0; padding-left: 22px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px; margin: 20px 0; }
.head { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.figure { color: #57606a; }
.status { font-size: 12px; font-weight: 600; padding: 2px 8px; border-radius: 10px; }
.status.passed { background: #dafbe1; color: #1a7f37; }
.status.unexpected { background: #ffebe9; color: #cf222e; }
ul.flows { list-style: none; padding: 0; margin: 8px 0; }
ul.flows li::before { content: attr(data-mark) " "; font-weight: 700; }
ul.flows li.ok::before { color: #1a7f37; } ul.flows li.bad::before { color: #cf222e; }
.files { margin: 8px 0; }
a.step { display: inline-block; font-weight: 600; background: #0969da; color: #fff; border-radius: 6px; padding: 4px 12px; }
a.step:hover { background: #0550ae; text-decoration: none; }
.files a { margin-right: 14px; }
details { margin: 6px 0 10px; }
details a { margin-right: 12px; display: inline-block; }
.picture { display: block; margin-top: 10px; overflow-x: auto; border-top: 1px solid #eaeef2; padding-top: 10px; }
.picture img { max-width: 100%; height: auto; }
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
`;

/** Identical flow results once, with a count (a run with --count repeats each flow). */
export function groupFlows(
  flows: readonly { detail: string; ok: boolean }[],
): { detail: string; ok: boolean; times: number }[] {
  const out: { detail: string; ok: boolean; times: number }[] = [];
  for (const f of flows) {
    const same = out.find((g) => g.detail === f.detail && g.ok === f.ok);
    if (same) same.times++;
    else out.push({ ...f, times: 1 });
  }
  return out;
}

/** A relative link target for `file` in scenario folder `dir` (each segment URI-encoded). */
export function fileHref(dir: string, file: string): string {
  return [dir, ...file.split('/')].map(encodeURIComponent).join('/');
}

function link(dir: string, file: string, label = file): string {
  return `<a href="${escapeXml(fileHref(dir, file))}">${escapeXml(label)}</a>`;
}

function section(e: IndexEntry): string {
  const id = `s-${e.name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
  const has = new Set(e.files);
  const main = ['walk.html', 'walk.pcapng', 'trace.txt', 'trace.json', 'path.svg'].filter((f) => has.has(f));
  const pcaps = e.files.filter((f) => f.endsWith('.pcap')).sort();
  const other = e.files.filter((f) => !main.includes(f) && !f.endsWith('.pcap'));
  const out: string[] = [];
  out.push(`<section id="${escapeXml(id)}">`);
  out.push(
    `<div class="head"><h2>${escapeXml(e.name)}</h2><span class="figure">${escapeXml(e.figure)}</span><span class="status ${e.passed ? 'passed' : 'unexpected'}">${e.passed ? 'ended as expected' : 'UNEXPECTED'}</span></div>`,
  );
  out.push(`<p>${escapeXml(e.summary)}</p>`);
  if (has.has('walk.html'))
    out.push(
      `<p><a class="step" href="${escapeXml(fileHref(e.name, 'walk.html'))}">Step through this walk hop by hop →</a> <span class="figure">every packet, every byte, what changed and which rule changed it</span></p>`,
    );
  if (e.flows.length) {
    out.push('<ul class="flows">');
    for (const f of groupFlows(e.flows))
      out.push(
        `<li class="${f.ok ? 'ok' : 'bad'}" data-mark="${f.ok ? '✓' : '✗'}">${escapeXml(f.detail)}${f.times > 1 ? ` (×${f.times})` : ''}</li>`,
      );
    out.push('</ul>');
  }
  out.push(
    `<div class="files">${main.map((f) => link(e.name, f)).join(' ')}${other.map((f) => link(e.name, f)).join(' ')}</div>`,
  );
  if (pcaps.length) {
    out.push(
      `<details><summary>${pcaps.length} per-interface capture${pcaps.length === 1 ? '' : 's'} (one classic pcap per capture point)</summary>`,
    );
    out.push(pcaps.map((f) => link(e.name, f, f.replace(/\.pcap$/, ''))).join('\n'));
    out.push('</details>');
  }
  if (has.has('path.svg')) {
    out.push(
      `<a class="picture" href="${escapeXml(fileHref(e.name, 'path.svg'))}"><img src="${escapeXml(fileHref(e.name, 'path.svg'))}" alt="${escapeXml(`packet path of ${e.name}`)}" loading="lazy"></a>`,
    );
  }
  out.push('</section>');
  return out.join('\n');
}

/** Render `<out>/index.html` for the scenarios written under `<out>/<name>/`. */
export function renderIndexHtml(entries: readonly IndexEntry[], opts: IndexHtmlOptions = {}): string {
  const title = opts.title ?? 'packetwalk: walks';
  const passed = entries.filter((e) => e.passed).length;
  const out: string[] = [];
  out.push('<!DOCTYPE html>');
  out.push('<html lang="en">');
  out.push('<head>');
  out.push('<meta charset="utf-8">');
  out.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<title>${escapeXml(title)}</title>`);
  out.push(`<style>${CSS}</style>`);
  out.push('</head>');
  out.push('<body><main>');
  out.push(`<h1>${escapeXml(title)}</h1>`);
  out.push(
    `<p class="sub">${escapeXml(opts.subtitle ? `${opts.subtitle} · ` : '')}${passed}/${entries.length} scenarios ended as expected</p>`,
  );
  out.push('<div class="note">');
  out.push(
    '<p><b>Open a walk in Wireshark:</b> <code>wireshark &lt;scenario&gt;/walk.pcapng</code> (or <code>tshark -r &lt;scenario&gt;/walk.pcapng</code>). Every capture point is a named interface: add the <code>Interface</code> column (field <code>frame.interface_name</code>) to see where each frame was captured; the hop that moved a frame there is its packet comment (<code>frame.comment</code>; Statistics → Capture File Properties lists them all).</p>',
  );
  out.push(
    '<p>One classic pcap per capture point is there too, for tools that want a single interface. <code>trace.txt</code> follows each packet through the br0 tables, iptables and conntrack, in the style of <code>ovs-appctl ofproto/trace</code>; <code>trace.json</code> holds the same as data. Each picture numbers the hops of the first packet and its answer; the table under it gives the frame numbers in <code>walk.pcapng</code>.</p>',
  );
  out.push(
    "<p><b>Step through a walk in the browser:</b> each scenario's <code>walk.html</code> shows every packet hop by hop — the frame as a layer tree and as bytes, what changed since the previous hop, and the br0 flow, iptables rule, route and conntrack entry that acted (keys: arrows, Home/End; a filter such as <code>tcp.port == 1433</code>).</p>",
  );
  out.push('</div>');
  if (entries.length > 1) {
    out.push('<nav><b>Scenarios</b><ol>');
    for (const e of entries)
      out.push(
        `<li><a href="#${escapeXml(`s-${e.name.replace(/[^A-Za-z0-9_-]/g, '-')}`)}">${escapeXml(e.name)}</a> <span class="figure">${escapeXml(e.figure)}</span>${e.passed ? '' : ' <span class="status unexpected">UNEXPECTED</span>'}</li>`,
      );
    out.push('</ol></nav>');
  }
  for (const e of entries) out.push(section(e));
  out.push('</main></body>');
  out.push('</html>');
  return out.join('\n') + '\n';
}
