/**
 * path.svg: drawn from real runs of the scenarios. What is checked is read back from the SVG text and compared
 * with facts taken independently of the picture code: capture point names and frame counts from the recorder,
 * addresses from the tcpdump-style summaries of the captured bytes, VNIs from the cluster's NetNamespaces.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarize } from '../../codecs/summary.js';
import { renderPathSvg } from '../../src/picture/path-svg.js';
import type { ScenarioResult } from '../../src/scenarios/run-scenario.js';
import { runToTemp } from '../scenarios/run-helpers.js';
import { xmlProblems } from './xml-check.js';

const hasXmllint = spawnSync('xmllint', ['--version']).status === 0;
if (!hasXmllint)
  console.log('xmllint not installed (apt-get install libxml2-utils): skipping the xmllint cross-check of path.svg');

const scratch = mkdtempSync(join(tmpdir(), 'packetwalk-picture-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The request and its answer, found from the run's packet list (first non-ARP packet; first later one from its receiver). */
function conversation(r: ScenarioResult): number[] {
  const nonArp = r.packets.filter((p) => !p.label.startsWith('ARP'));
  const first = nonArp[0]!;
  const host = first.outcome?.host;
  const reply = nonArp.find((p) => p.index > first.index && p.origin === host);
  return reply ? [first.index, reply.index] : [first.index];
}

function framesOf(r: ScenarioResult, walkIndex: number) {
  return r.recorder.frames.filter((f) => f.walkIndex === walkIndex);
}

/** Numbers inside the picture's hop badges (`<g class="hop">`). */
function badgeNumbers(svg: string, cls: string): number[] {
  return [...svg.matchAll(new RegExp(`<g class="${cls}">.*?<text[^>]*>(\\d+)</text></g>`, 'g'))].map((m) =>
    Number(m[1]),
  );
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/** `a.b.c.d.port` pairs of a tcpdump-style line: [src, dst] of the innermost header. */
function endpoints(line: string): [string, string] {
  const all = [...line.matchAll(/(\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+)/g)];
  const m = all[all.length - 1]!;
  return [`${m[1]}:${m[2]}`, `${m[3]}:${m[4]}`];
}

const scenarios = [
  'pod-to-pod-same-node',
  'pod-to-pod-cross-node',
  'pod-to-service-cross-node',
  'egress-node-ip',
  'egress-router',
  'networkpolicy-deny',
  'hairpin',
];
const runs = new Map(scenarios.map((name) => [name, runToTemp(name)]));

describe('renderPathSvg', () => {
  for (const name of scenarios) {
    describe(name, () => {
      const r = runs.get(name)!;
      const svg = renderPathSvg(r);
      const picks = conversation(r);
      const hopCount = picks.reduce((n, i) => n + framesOf(r, i).length - 1, 0);

      it('is well-formed XML with an SVG root', () => {
        expect(xmlProblems(svg)).toEqual([]);
        expect(svg).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
        expect(svg).not.toMatch(/<script|href="http/);
      });

      it.skipIf(!hasXmllint)('passes xmllint', () => {
        const file = join(scratch, `${name}.svg`);
        writeFileSync(file, svg);
        const res = spawnSync('xmllint', ['--noout', file], { encoding: 'utf8' });
        expect(res.stderr).toBe('');
        expect(res.status).toBe(0);
      });

      it('names every capture point the request crossed', () => {
        const points = framesOf(r, picks[0]!).map((f) => r.recorder.points[f.point]!.name);
        expect(points.length).toBeGreaterThan(1);
        const text = unescapeXml(svg);
        for (const p of points) expect(text).toContain(p);
      });

      it('numbers one arrow per pair of consecutive captures, 1..N', () => {
        const expected = Array.from({ length: hopCount }, (_, i) => i + 1);
        expect(badgeNumbers(svg, 'hop').sort((a, b) => a - b)).toEqual(expected);
        expect(badgeNumbers(svg, 'hop-row')).toEqual(expected);
        expect(svg.match(/<path class="arrow (request|reply)"/g)?.length).toBe(hopCount);
      });

      it('keeps every drawn element inside the viewBox', () => {
        const [vx, vy, vw, vh] = /viewBox="([^"]+)"/.exec(svg)![1]!.split(' ').map(Number) as [
          number,
          number,
          number,
          number,
        ];
        for (const m of svg.matchAll(
          /<(?:text|circle|rect)\b[^>]*?\b(?:x|cx)="(-?[\d.]+)"[^>]*?\b(?:y|cy)="(-?[\d.]+)"/g,
        )) {
          const x = Number(m[1]),
            y = Number(m[2]);
          expect(x).toBeGreaterThanOrEqual(vx);
          expect(x).toBeLessThanOrEqual(vx + vw);
          expect(y).toBeGreaterThanOrEqual(vy);
          expect(y).toBeLessThanOrEqual(vy + vh);
        }
      });
    });
  }

  it('is the same bytes for the same run', () => {
    const again = runToTemp('pod-to-service-cross-node');
    expect(renderPathSvg(again)).toBe(renderPathSvg(runs.get('pod-to-service-cross-node')!));
  });

  it('labels the VXLAN hop with the outer addresses and the namespace VNI', () => {
    const r = runs.get('pod-to-pod-cross-node')!;
    const vni = r.cluster.netNamespaces.find((n) => n.name === 'project1')!.netid;
    const frames = framesOf(r, conversation(r)[0]!);
    const outer = frames.map((f) => summarize(f.bytes!)).find((s) => s.includes('VXLAN'))!;
    const [src, dst] = /IPv4, (\S+) > (\S+):/
      .exec(outer)!
      .slice(1)
      .map((a) => a.replace(/\.(\d+)$/, ':$1'));
    expect(unescapeXml(renderPathSvg(r))).toContain(`${src} > ${dst} VNI ${vni}`);
  });

  it('shows the DNAT of a service walk and its undoing on the reply', () => {
    const r = runs.get('pod-to-service-cross-node')!;
    const [req, rep] = conversation(r).map((i) => framesOf(r, i).map((f) => summarize(f.bytes!)));
    const [, serviceAddr] = endpoints(req![0]!);
    const [, podAddr] = endpoints(req![req!.length - 1]!);
    expect(serviceAddr).not.toBe(podAddr);
    const text = unescapeXml(renderPathSvg(r));
    expect(text).toContain(`DNAT ${serviceAddr} → ${podAddr}`);
    expect(text).toContain(`un-DNAT ${podAddr} → ${serviceAddr}`);
    expect(endpoints(rep![rep!.length - 1]!)[0]).toBe(serviceAddr);
  });

  it('marks a dropped request with its reason', () => {
    const r = runs.get('networkpolicy-deny')!;
    const first = r.packets[conversation(r)[0]!]!;
    expect(first.outcome?.kind).toBe('dropped');
    expect(unescapeXml(renderPathSvg(r))).toContain(`dropped: ${first.outcome!.reason}`);
  });

  it('escapes < and & in text', () => {
    const r = runs.get('pod-to-pod-same-node')!;
    const odd = { ...r, scenario: { ...r.scenario, name: 'a<b>&c', summary: 'x < y && "z" \'q\'' } };
    const svg = renderPathSvg(odd);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('a&lt;b&gt;&amp;c');
    expect(svg).toContain('x &lt; y &amp;&amp; &quot;z&quot; &apos;q&apos;');
    expect(svg).not.toContain('a<b>');
  });
});
