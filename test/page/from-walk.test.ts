/**
 * What a scenario's walk.html is built from: each hop's frame and "what acted" are cut from the packet's trace
 * at the capture marks, br0 flows print as `dump-flows` does, and the page is one self-contained, deterministic
 * file under 2 MB.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderWalkPage } from '../../src/page/walk-html.js';
import { scenarioPageInput } from '../../src/scenarios/run-scenario.js';
import { runToTemp } from '../scenarios/run-helpers.js';

describe('walk page input', () => {
  const r = runToTemp('pod-to-service-cross-node');
  const input = scenarioPageInput(r, 1);

  it('has every packet (ARP included) and every captured frame once, numbered as trace.txt and walk.pcapng number them', () => {
    expect(input.packets.map((p) => p.number)).toEqual(r.packets.map((p) => p.index + 1));
    const trace = readFileSync(join(r.dir, 'trace.txt'), 'utf8');
    for (const p of input.packets) expect(trace).toContain(`=== packet ${p.number}: ${p.label} (`);
    const frames = input.packets.flatMap((p) => p.hops.map((h) => h.frame)).sort((a, b) => a - b);
    expect(frames).toEqual(r.recorder.frames.map((f) => f.number));
    for (const p of r.packets)
      expect(p.trace.captureMarks.length).toBe(r.recorder.frames.filter((f) => f.walkIndex === p.index).length);
  });

  it('puts the DNAT rule, the DNAT and the route on the hop where the destination changed', () => {
    const syn = input.packets.find((p) => p.label.startsWith('TCP SYN '))!;
    const hop = syn.hops.find((h) => h.acted.some((a) => a.kind === 'nat'))!;
    const texts = hop.acted.map((a) => `${a.kind} | ${a.where ?? ''} | ${a.text}`);
    expect(texts).toContain(
      'iptables | iptables -t nat | -A KUBE-SERVICES -d 172.30.72.7/32 -p tcp -m comment --comment "project1/server:1433-tcp cluster IP" -m tcp --dport 1433 -j KUBE-SVC-MIZSFBH6LNGC24XA',
    );
    expect(texts).toContain('nat | NAT | DNAT: destination 172.30.72.7:1433 -> 10.128.2.24:1433');
    expect(texts).toContain('route | routing table | route 10.128.2.24: 10.128.0.0/14 dev tun0 (forward tun0 -> tun0)');
    expect(hop.point).toBe('worker-northeurope1-qt8l7/tun0');
    // ARP resolution for the new next hop happened on the way, too.
    expect(texts.some((t) => t.startsWith('arp | neighbour table | neighbour 10.128.2.24 on tun0'))).toBe(true);
  });

  it('prints each br0 flow exactly as the bridge dump-flows --no-stats prints it', () => {
    const flows = input.packets.flatMap((p) => p.hops.flatMap((h) => h.acted)).filter((a) => a.kind === 'flow');
    expect(flows.length).toBeGreaterThan(20);
    for (const f of flows) {
      const dump = r.emulation
        .node(f.host!)
        .bridge.dumpFlows({ counters: false })
        .split('\n')
        .map((l) => l.trim());
      expect(dump, f.text).toContain(f.text);
    }
  });

  it('writes one self-contained walk.html: no external resource, deterministic, under 2 MB', () => {
    const html = readFileSync(join(r.dir, 'walk.html'), 'utf8');
    expect(html).toBe(renderWalkPage(scenarioPageInput(runToTemp('pod-to-service-cross-node'), 1)));
    expect(html.length).toBeLessThan(2 * 1024 * 1024);
    expect(html).not.toMatch(/<(script|img|link|iframe)[^>]+(src|href)=/i);
    expect(html.replaceAll('xmlns="http://www.w3.org/2000/svg"', '')).not.toMatch(/https?:\/\//); // the SVG namespace names, loads nothing
    expect(html).not.toMatch(/\bfetch\(|XMLHttpRequest|import\(/);
  });
});
