/**
 * walk.html's style sheet. GitHub-like neutrals (the index page's), the picture's request/reply colours, and
 * every state shown by more than colour: changed and added fields carry a text mark, changed bytes are
 * underlined, the selected field's bytes are boxed, the current hop has a bar and a bold number. Colours meet
 * WCAG AA contrast on their backgrounds (axe-core checks it in the browser tests).
 */

export const PAGE_CSS = `
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; --accent: #0969da; --sel: #ddf4ff;
  --chg: #fff1c2; --chg-ink: #7a4d00; --add: #dafbe1; --add-ink: #116329; --bad: #cf222e; --mono: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
html, body { margin: 0; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 14px; color: var(--ink); background: var(--soft); line-height: 1.4; }
code, kbd, .mono { font-family: var(--mono); font-size: 12px; }
kbd { border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; background: #fff; }
button { font: inherit; color: inherit; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 1px; }
.skip { position: absolute; left: -9999px; top: 0; background: #fff; padding: 6px 10px; z-index: 10; }
.skip:focus { left: 8px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

header.top { display: flex; gap: 24px; justify-content: space-between; align-items: flex-start; flex-wrap: wrap; background: #fff; border-bottom: 1px solid var(--line); padding: 14px 20px 10px; }
.heading { flex: 1 1 480px; min-width: 0; }
h1 { font-size: 20px; margin: 0 0 2px; }
.sub { color: var(--muted); margin: 0 0 4px; }
.notes { list-style: none; margin: 0; padding: 0; font-size: 13px; }
.notes li.ok span[aria-hidden] { color: var(--add-ink); font-weight: 700; }
.notes li.bad { color: var(--bad); }
.filter { flex: 0 1 520px; min-width: 320px; }
.filter label { font-weight: 600; font-size: 13px; display: block; margin-bottom: 3px; }
.filter input { width: 100%; font-family: var(--mono); font-size: 13px; padding: 6px 9px; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--ink); }
.filter input[aria-invalid="true"] { border-color: var(--bad); background: #fff5f5; }
.filter .error { color: var(--bad); font-weight: 600; margin: 4px 0 0; font-size: 13px; }
.filter .error::before { content: "⚠ "; }
.filter .help, .filter .status { margin: 4px 0 0; font-size: 12px; color: var(--muted); }
.filter .status { color: var(--ink); }
button.example { font-family: var(--mono); font-size: 11px; border: 1px solid var(--line); background: var(--soft); border-radius: 10px; padding: 0 7px; cursor: pointer; color: var(--ink); }
button.example:hover { background: var(--sel); }

main { padding: 10px 20px 24px; }
.keys { margin: 0 0 10px; color: var(--muted); font-size: 12px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 12px; overflow: hidden; contain: layout paint; }
.picture-panel { contain: strict; height: 466px; }
.panel h2 { font-size: 12px; font-weight: 700; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0; padding: 7px 12px; background: var(--soft); border-bottom: 1px solid var(--line); }
.panel h3 { font-size: 13px; margin: 10px 12px 4px; }
.muted { color: var(--muted); }

.picture { height: 400px; overflow: auto; padding: 4px 8px; }
.picture svg { display: block; width: 100%; height: auto; }
.picture svg .halo { opacity: 0; stroke-linecap: round; }
.picture svg .halo.current { opacity: .3; }
.picture svg g.hop.current circle { fill: #ffd33d; }
.picture svg g.hop.current text { fill: #1f2328; }
.caption { margin: 0; padding: 5px 12px 7px; font-size: 12px; color: var(--ink); border-top: 1px solid var(--line); background: #fffdf3; }

.columns { display: grid; grid-template-columns: minmax(270px, 300px) minmax(0, 1fr) minmax(0, 1.08fr); gap: 12px; align-items: start; }
@media (max-width: 1100px) { .columns { grid-template-columns: 1fr; } }

ol.packets, ol.hops { list-style: none; margin: 0; padding: 4px; }
ol.packets { max-height: 260px; overflow-y: auto; }
ol.hops { max-height: 520px; overflow-y: auto; }
button.packet, button.hop { display: grid; width: 100%; text-align: left; border: 1px solid transparent; border-left: 4px solid transparent; background: none; border-radius: 5px; padding: 4px 8px; cursor: pointer; gap: 0 8px; }
button.packet { grid-template-columns: 26px 1fr; }
button.packet .num, button.hop .hnum { grid-row: span 2; font-weight: 700; color: var(--muted); font-variant-numeric: tabular-nums; text-align: right; }
button.packet .plabel { font-size: 13px; overflow-wrap: anywhere; }
button.packet.arp .plabel { color: #4d2d00; }
button.packet .porigin { font-size: 11px; color: var(--muted); }
button.packet:hover, button.hop:hover { background: var(--soft); }
button.packet[aria-current="true"], button.hop[aria-current="step"] { background: var(--sel); border-color: #54aeff; border-left-color: var(--accent); }
button.packet[aria-current="true"] .num, button.hop[aria-current="step"] .hnum { color: var(--ink); }
button.hop { grid-template-columns: 22px 1fr; }
button.hop .hpoint { font-family: var(--mono); font-size: 12px; font-weight: 600; overflow-wrap: anywhere; }
button.hop .hmeta { font-size: 11px; color: var(--muted); }
button.hop .hsum, button.hop .tags { grid-column: 2; }
button.hop .hsum { font-family: var(--mono); font-size: 11px; color: var(--ink); overflow-wrap: anywhere; }
.tag { display: inline-block; font-size: 10.5px; font-weight: 600; background: var(--chg); color: var(--chg-ink); border: 1px solid #d4a72c; border-radius: 9px; padding: 0 6px; margin: 2px 4px 0 0; }
.badge.drop { font-size: 10.5px; font-weight: 700; color: #fff; background: var(--bad); border-radius: 9px; padding: 0 6px; margin-left: 6px; }
li.outcome { font-size: 12px; padding: 6px 10px; color: var(--add-ink); }
li.outcome.dropped { color: var(--bad); font-weight: 600; }

.tree { padding: 4px 6px 8px; font-size: 13px; }
details.layer { border-bottom: 1px solid #eaeef2; }
details.layer > summary { cursor: pointer; padding: 4px 4px; font-weight: 600; list-style-position: outside; margin-left: 14px; }
details.layer[data-depth="1"] > summary, details.layer[data-depth="2"] > summary { color: #0a3069; }
.depth { font-size: 10.5px; font-weight: 600; color: #0a3069; border: 1px solid #54aeff; border-radius: 9px; padding: 0 5px; margin-left: 6px; }
.tree ul { list-style: none; margin: 0 0 4px; padding-left: 18px; }
button.field { display: block; width: 100%; text-align: left; background: none; border: 1px solid transparent; border-radius: 4px; padding: 1px 5px; cursor: pointer; }
button.field:hover { background: var(--soft); }
button.field[aria-pressed="true"] { background: var(--sel); border-color: var(--accent); }
button.field.changed { background: var(--chg); }
button.field.added { background: var(--add); }
button.field[aria-pressed="true"].changed, button.field[aria-pressed="true"].added { border-color: var(--accent); }
.fname { color: var(--ink); }
.fval { font-family: var(--mono); font-size: 12px; font-weight: 600; }
.meaning { color: var(--muted); }
.abbrev { float: right; font-family: var(--mono); font-size: 10.5px; color: var(--muted); margin-left: 8px; }
.ok { color: var(--add-ink); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.mark { display: inline-block; font-size: 10.5px; font-weight: 700; border-radius: 9px; padding: 0 6px; margin-left: 6px; text-transform: uppercase; letter-spacing: .02em; }
.mark.changed { background: #fff; color: var(--chg-ink); border: 1px solid #d4a72c; }
.mark.added { background: #fff; color: var(--add-ink); border: 1px solid #4ac26b; }
.mark.removed { background: #fff; color: var(--bad); border: 1px solid var(--bad); }
.fault { color: var(--bad); margin: 6px; }

.field-title { margin: 0; padding: 6px 12px; font-size: 12px; color: var(--ink); border-bottom: 1px solid #eaeef2; min-height: 28px; }
.dump { font-family: var(--mono); font-size: 12px; line-height: 1.55; padding: 8px 10px; overflow-x: auto; white-space: pre; }
.dump .row { display: flex; gap: 12px; }
.dump .off { color: var(--muted); user-select: none; }
.dump .hex span, .dump .asc span { cursor: pointer; border-radius: 2px; }
.dump .hex span[data-i] { padding: 0 1px; margin-right: 2px; }
.dump .hex .pad { margin-right: 2px; padding: 0 1px; }
.dump .chg { background: var(--chg); text-decoration: underline; text-decoration-thickness: 2px; text-underline-offset: 2px; }
.dump .sel { outline: 2px solid var(--accent); outline-offset: -1px; background: var(--sel); }
.legend { margin: 0; padding: 6px 12px 8px; font-size: 11.5px; color: var(--muted); border-top: 1px solid #eaeef2; }
.chg-sample { background: var(--chg); text-decoration: underline; text-decoration-thickness: 2px; color: var(--ink); padding: 0 3px; }
.sel-sample { outline: 2px solid var(--accent); outline-offset: -1px; background: var(--sel); color: var(--ink); padding: 0 3px; }

.changes-pane, .acted { padding: 6px 12px 10px; font-size: 13px; }
.changes-pane p, .acted p { margin: 4px 0; }
ul.changes { list-style: none; margin: 4px 0 0; padding: 0; }
button.change-link { display: block; width: 100%; text-align: left; background: none; border: 1px solid transparent; border-radius: 4px; padding: 2px 4px; cursor: pointer; }
button.change-link:hover { background: var(--soft); }
.was { font-family: var(--mono); font-size: 12px; text-decoration: line-through; color: var(--muted); }
.now { font-family: var(--mono); font-size: 12px; font-weight: 700; }
ol.acts { margin: 4px 0 0; padding-left: 22px; }
li.act { margin: 0 0 6px; }
li.act .kind, .comment .kind { display: inline-block; font-size: 10.5px; font-weight: 700; border-radius: 9px; padding: 0 6px; margin-right: 6px; background: #eaeef2; color: var(--ink); text-transform: uppercase; letter-spacing: .02em; }
li.act-flow .kind { background: #ddf4ff; color: #0a3069; }
li.act-iptables .kind { background: #fbefff; color: #6e40c9; }
li.act-nat .kind { background: var(--chg); color: var(--chg-ink); }
li.act-conntrack .kind { background: #fff8c5; color: #6a4a00; }
li.act-encap .kind { background: #ddf4ff; color: #0a3069; }
li.act-drop .kind { background: #ffebe9; color: #a40e26; }
li.act-deliver .kind { background: var(--add); color: var(--add-ink); }
li.act .where, li.act .host { font-size: 11px; color: var(--muted); margin-right: 6px; }
li.act code, .comment code { display: block; white-space: pre-wrap; overflow-wrap: anywhere; background: var(--soft); border: 1px solid #eaeef2; border-radius: 4px; padding: 3px 6px; margin-top: 2px; }
`;
