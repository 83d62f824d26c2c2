/**
 * index.html: written over a real output folder (two scenarios run into one root, with path.svg written the
 * way the runner writes it), then every link is resolved on disk.
 */

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { findScenario } from '../../src/scenarios/catalog.js';
import { renderIndexHtml, type IndexEntry } from '../../src/picture/index-html.js';
import { renderPathSvg } from '../../src/picture/path-svg.js';
import { runScenario } from '../../src/scenarios/run-scenario.js';
import { FOLDER_MANIFEST } from '../../src/output/scenario-folders.js';

const root = mkdtempSync(join(tmpdir(), 'packetwalk-index-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const entries: IndexEntry[] = ['pod-to-pod-cross-node', 'egress-node-ip'].map((name) => {
  const r = runScenario(findScenario(name)!, {
    baseDocuments: builtinClusterDocuments(),
    clusterFile: '<builtin>',
    seed: 1,
    outDir: root,
  });
  writeFileSync(join(r.dir!, 'path.svg'), renderPathSvg(r));
  return {
    name,
    figure: r.scenario.figure,
    summary: r.scenario.summary,
    passed: r.passed,
    files: [...r.files, 'path.svg'],
    flows: r.flows.map((f) => ({ detail: f.detail, ok: f.ok })),
  };
});
const html = renderIndexHtml(entries, { subtitle: 'built-in cluster, seed 1' });
writeFileSync(join(root, 'index.html'), html);

function attr(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

describe('renderIndexHtml', () => {
  const targets = [...html.matchAll(/\b(?:href|src)="([^"]*)"/g)].map((m) => attr(m[1]!));

  it('links every file of every scenario folder', () => {
    for (const e of entries) {
      // All but the folder's manifest, which records what packetwalk wrote there and is not for reading.
      for (const f of readdirSync(join(root, e.name)))
        if (f !== FOLDER_MANIFEST) expect(targets).toContain(`${e.name}/${f}`);
    }
  });

  it('has every link target in the folder layout', () => {
    const files = targets.filter((t) => !t.startsWith('#'));
    expect(files.length).toBeGreaterThan(10);
    for (const t of files) expect(existsSync(join(root, decodeURIComponent(t))), t).toBe(true);
  });

  it('has every in-page anchor', () => {
    for (const t of targets.filter((x) => x.startsWith('#'))) expect(html).toContain(`id="${t.slice(1)}"`);
  });

  it('shows each picture and needs nothing from outside', () => {
    for (const e of entries) expect(html).toContain(`<img src="${e.name}/path.svg"`);
    expect(html).not.toMatch(/<script|<link|https?:\/\/|@import|url\(/i);
    expect(html).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(html).toContain('wireshark &lt;scenario&gt;/walk.pcapng');
  });

  it('escapes text', () => {
    const odd = renderIndexHtml([
      {
        name: 'a&b',
        figure: '<fig>',
        summary: '<script>alert(1)</script> & "co"',
        passed: false,
        files: ['walk.pcapng'],
        flows: [{ detail: 'x<y', ok: false }],
      },
    ]);
    expect(odd).not.toContain('<script>');
    expect(odd).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;co&quot;');
    expect(odd).toContain('href="a%26b/walk.pcapng"');
    expect(odd).toContain('x&lt;y');
  });
});
