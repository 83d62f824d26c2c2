/**
 * walk.html in a real browser: Debian's chromium driven by playwright-core (no browser download). For every
 * built-in scenario the page is opened from the file system and stepped through hop by hop with the keyboard;
 * the bytes each hop shows (`data-bytes`) must be the bytes of its frame (`data-frame`) in walk.pcapng, read with
 * the project's pcapng reader — and every frame of the file must be visited once. Then: the changed-field marks
 * on pod-to-service-cross-node's DNAT hop, nodeport-ingress's port-changing DNAT hop and pod-to-pod-cross-node's
 * encapsulation hop, a URL fragment reopens
 * the same hop, a filter narrows the lists and a bad one is reported, no console error or network request,
 * and axe-core finds no accessibility violation. A screenshot of each page goes to test-artifacts/ (gitignored).
 *
 * Without chromium the suite fails when CI is set and skips with a note otherwise.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../codecs/bytes.js';
import { dissect, Dissection } from '../../codecs/dissect.js';
import { Ipv4View } from '../../codecs/ipv4.js';
import { TcpView } from '../../codecs/tcp.js';
import { readPcapng } from '../../codecs/pcapng.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';
import type { CapturedFrame } from '../../src/capture/recorder.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import type { WalkPacket } from '../../src/runtime/runtime.js';
import { runReplay } from '../../src/replay/replay.js';
import { runToTemp } from '../scenarios/run-helpers.js';

const CHROMIUM = process.env.PACKETWALK_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARTIFACTS = resolve('test-artifacts');
if (!hasChromium && !process.env.CI)
  console.warn(`chromium not found at ${CHROMIUM} (apt-get install chromium): skipping the walk.html browser tests`);

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let browser: Browser | undefined;
beforeAll(async () => {
  if (!hasChromium) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

interface Opened {
  page: Page;
  problems: string[];
  url: string;
}

/** Open a walk.html, recording console errors, page errors and any request other than the file itself. */
async function open(file: string, hash = ''): Promise<Opened> {
  const page = await browser!.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    if (r.url().split('#')[0] !== url) problems.push(`request: ${r.url()}`);
  });
  await page.goto(url + hash);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, problems, url };
}

interface Spot {
  packet: number;
  hop: number;
  frame: number;
  bytes: string;
}

/** Go to a spot through the URL fragment (the page follows hashchange; no reload). */
async function goHash(page: Page, packet: number, hop: number): Promise<void> {
  await page.evaluate(
    ([p, h]) => {
      location.hash = `#packet=${p}&hop=${h}`;
    },
    [packet, hop],
  );
  await page.waitForFunction(
    ([p, h]) => {
      const b = document.querySelector('button.hop[aria-current="step"]') as HTMLElement | null;
      return b?.dataset.packet === String(p) && b.dataset.hop === String(h);
    },
    [packet, hop],
  );
}

async function spot(page: Page): Promise<Spot> {
  return page.evaluate(() => {
    const h = document.querySelector('button.hop[aria-current="step"]') as HTMLElement;
    const d = document.getElementById('dump')!;
    return {
      packet: Number(h.dataset.packet),
      hop: Number(h.dataset.hop),
      frame: Number(h.dataset.frame),
      bytes: d.dataset.bytes ?? '',
    };
  });
}

const KEY_CODES: Record<string, number> = {
  ArrowLeft: 37,
  ArrowUp: 38,
  ArrowRight: 39,
  ArrowDown: 40,
  Home: 36,
  End: 35,
};

/**
 * Press keys through the browser's input pipeline (CDP Input.dispatchKeyEvent, what Playwright's keyboard uses),
 * pipelined: the events are queued in order without a round trip each, then awaited together.
 */
async function pressKeys(page: Page, keys: readonly string[]): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const sent: Promise<unknown>[] = [];
  for (const key of keys) {
    const ev = { key, code: key, windowsVirtualKeyCode: KEY_CODES[key], nativeVirtualKeyCode: KEY_CODES[key] };
    sent.push(
      cdp.send('Input.dispatchKeyEvent', { type: 'rawKeyDown', ...ev }),
      cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', ...ev }),
    );
  }
  await Promise.all(sent);
  await cdp.detach();
}

/**
 * Step through every hop of a page with real key events — → to each packet's last hop, then ↓ to the next
 * packet's first hop — and check each spot the page showed (recorded in the page by a MutationObserver on the
 * dump, read once at the end) against the walk: packet and hop numbers, frame number, and the frame's bytes as
 * walk.pcapng holds them. Returns the spots, in order.
 */
async function stepThrough(
  page: Page,
  packets: readonly WalkPacket[],
  frames: readonly CapturedFrame[],
  pcapPackets: readonly { data: Uint8Array }[],
): Promise<Spot[]> {
  const expected: Spot[] = [];
  for (const p of packets) {
    frames
      .filter((f) => f.walkIndex === p.index)
      .forEach(
        (f, k) =>
          void expected.push({
            packet: p.index + 1,
            hop: k + 1,
            frame: f.number,
            bytes: toHex(pcapPackets[f.number - 1]!.data),
          }),
      );
  }
  await page.locator('#hop-list button.hop').first().focus();
  expect(await spot(page)).toEqual(expected[0]);
  await page.evaluate(() => {
    const w = window as unknown as { spots: unknown[] };
    w.spots = [];
    const dump = document.getElementById('dump')!;
    new MutationObserver(() => {
      const h = document.querySelector('button.hop[aria-current="step"]') as HTMLElement;
      const last = w.spots[w.spots.length - 1] as { frame: number } | undefined;
      if (last?.frame === Number(dump.dataset.frame)) return;
      w.spots.push({
        packet: Number(h.dataset.packet),
        hop: Number(h.dataset.hop),
        frame: Number(h.dataset.frame),
        bytes: dump.dataset.bytes ?? '',
      });
    }).observe(dump, { attributes: true, attributeFilter: ['data-frame'] });
  });
  const keys: string[] = [];
  const byPacket = new Map<number, number>();
  for (const e of expected) byPacket.set(e.packet, e.hop);
  [...byPacket.values()].forEach((hops, i) => {
    for (let k = 1; k < hops; k++) keys.push('ArrowRight');
    keys.push('ArrowRight'); // at the last hop: stays
    if (i < byPacket.size - 1) keys.push('ArrowDown');
  });
  await pressKeys(page, keys);
  const spots = await page.evaluate(() => (window as unknown as { spots: Spot[] }).spots);
  expect([expected[0], ...spots]).toEqual(expected);
  expect(new Set(expected.map((e) => e.frame)).size).toBe(pcapPackets.length);
  return expected;
}

/** Phase timings, printed with PAGE_TEST_TIMING=1. */
function timer(name: string): (phase: string) => void {
  let t = Date.now();
  const parts: string[] = [];
  return (phase) => {
    parts.push(`${phase} ${Date.now() - t}`);
    t = Date.now();
    if (phase === 'end' && process.env.PAGE_TEST_TIMING) console.log(`${name}: ${parts.join(', ')} ms`);
  };
}

function requireChromium(): boolean {
  if (hasChromium) return true;
  if (process.env.CI)
    throw new Error(`chromium not found at ${CHROMIUM}: CI must install it (.ci/run installs the Debian package)`);
  return false;
}

describe('walk.html in chromium', () => {
  for (const s of SCENARIOS) {
    it(`${s.name}: every hop by keyboard shows its frame's bytes; filter, fragment, no errors, axe clean`, async () => {
      if (!requireChromium()) return;
      const lap = timer(s.name);
      const r = runToTemp(s.name);
      lap('run');
      const file = join(r.dir, 'walk.html');
      expect(readFileSync(file).length).toBeLessThan(2 * 1024 * 1024);
      const pcap = readPcapng(readFileSync(join(r.dir, 'walk.pcapng')));
      const { page, problems } = await open(file);
      lap('open');

      // Step through everything with real key events: → to the packet's last hop, then ↓ to the next packet's
      // first hop. The page records each spot it shows (a MutationObserver on the dump), read once at the end.
      const t0 = Date.now();
      const expected = await stepThrough(page, r.packets, r.recorder.frames, pcap.packets);
      if (process.env.PAGE_TEST_TIMING) console.log(`${s.name}: ${expected.length} hops in ${Date.now() - t0} ms`);
      const order = expected;
      lap('steps');

      // Home/End and ← within a packet.
      await page.keyboard.press('ArrowUp');
      await page.keyboard.press('End');
      const end = await spot(page);
      await page.keyboard.press('Home');
      expect((await spot(page)).hop).toBe(1);
      await page.keyboard.press('End');
      if (end.hop > 1) {
        await page.keyboard.press('ArrowLeft');
        expect(await spot(page)).toMatchObject({ packet: end.packet, hop: end.hop - 1 });
      }

      // A fragment link reopens the same hop (a middle hop of the longest packet): the address bar follows the
      // keys, and a fresh page opened at that address shows the same hop.
      const longest = order.reduce((m, x) => (x.hop > m.hop ? x : m));
      const mid = order.find((x) => x.packet === longest.packet && x.hop === Math.ceil(longest.hop / 2))!;
      await goHash(page, longest.packet, 1);
      if (mid.hop > 1) await pressKeys(page, Array<string>(mid.hop - 1).fill('ArrowRight'));
      expect(await spot(page)).toEqual(mid);
      const href = await page.evaluate(() => location.href);
      expect(href.slice(href.indexOf('#'))).toBe(`#packet=${mid.packet}&hop=${mid.hop}`);
      const again = await open(file, href.slice(href.indexOf('#')));
      expect(await spot(again.page)).toEqual(mid);
      problems.push(...again.problems);
      await again.page.close();
      lap('fragment');

      // The filter narrows the packets to ARP ones; a bad filter is reported.
      const packetsBefore = await page.locator('#packet-list button.packet').count();
      await page.fill('#filter', 'arp');
      const labels = await page.locator('#packet-list button.packet .plabel').allTextContents();
      expect(labels.length).toBeGreaterThan(0);
      expect(labels.length).toBeLessThan(packetsBefore);
      for (const l of labels) expect(l).toMatch(/^ARP/);
      await page.fill('#filter', 'ip.addr == ');
      await expect.poll(() => page.locator('#filter-error').isVisible()).toBe(true);
      expect(await page.locator('#filter-error').textContent()).toMatch(/expected a value/);
      expect(await page.getAttribute('#filter', 'aria-invalid')).toBe('true');
      await page.fill('#filter', '');
      lap('filter');

      // axe-core: no violations, with a hop and a field selected.
      await goHash(page, mid.packet, mid.hop);
      await page.locator('#tree button.field').first().click();
      await page.addScriptTag({ path: axePath });
      const violations = await page.evaluate(async () => {
        const res = await (
          window as unknown as {
            axe: {
              run: (
                c: Document,
              ) => Promise<{ violations: { id: string; help: string; nodes: { target: string[] }[] }[] }>;
            };
          }
        ).axe.run(document);
        return res.violations.map(
          (v) =>
            `${v.id}: ${v.help} (${v.nodes
              .slice(0, 3)
              .map((n) => n.target.join(' '))
              .join('; ')})`,
        );
      });
      expect(violations).toEqual([]);
      lap('axe');

      // A screenshot at the first packet's hop whose bytes changed most (VXLAN encap, NAT), for people to look at.
      const first = r.packets.find((p) => !p.label.startsWith('ARP'));
      if (first) {
        const frames = r.recorder.frames.filter((f) => f.walkIndex === first.index);
        const moved = (k: number): number => {
          const a = frames[k - 1]!.bytes!,
            b = frames[k]!.bytes!;
          let n = Math.abs(a.length - b.length) * 4;
          for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[a.length - 1 - i] !== b[b.length - 1 - i]) n++;
          return n;
        };
        let best = 0;
        for (let k = 1; k < frames.length; k++) if (moved(k) > (best ? moved(best) : -1)) best = k;
        await goHash(page, first.index + 1, best + 1);
      }
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(ARTIFACTS, `walk-${s.name}.png`) });
      expect(problems).toEqual([]);
      await page.close();
      lap('end');
    }, 120_000);
  }

  it('pod-to-service-cross-node: the DNAT hop marks the destination address and both checksums changed; the port is shown unchanged', async () => {
    if (!requireChromium()) return;
    const r = runToTemp('pod-to-service-cross-node');
    const syn = r.packets.find((p) => p.label.startsWith('TCP SYN '))!;
    // The DNAT hop, found from the capture itself: the frame whose IPv4 destination differs from the previous one's.
    const frames = r.recorder.frames.filter((f) => f.walkIndex === syn.index);
    const d = new Dissection();
    const dst = (b: Uint8Array): number => new Ipv4View(b, dissect(b, 0, b.length, d).ipv4).dst;
    const k = frames.findIndex((f, i) => i > 0 && dst(f.bytes!) !== dst(frames[i - 1]!.bytes!));
    expect(k).toBeGreaterThan(0);
    const { page, problems } = await open(join(r.dir, 'walk.html'), `#packet=${syn.index + 1}&hop=${k + 1}`);
    expect((await spot(page)).frame).toBe(frames[k]!.number);
    const marks = await page.evaluate(() =>
      [...document.querySelectorAll('#tree button.field')].map((b) => ({
        field: (b as HTMLElement).dataset.field!,
        change: (b as HTMLElement).dataset.change ?? '',
        text: b.textContent ?? '',
      })),
    );
    const mark = (f: string) => marks.find((m) => m.field === f)!;
    expect(mark('ip.dst')).toMatchObject({ change: 'changed' });
    expect(mark('ip.dst').text).toContain('10.128.2.24');
    expect(mark('ip.dst').text).toContain('changed, was 172.30.72.7');
    expect(mark('ip.checksum').change).toBe('changed');
    expect(mark('tcp.checksum').change).toBe('changed');
    // The service port and the endpoint port are both 1433: shown, and not marked.
    expect(mark('tcp.dstport')).toMatchObject({ change: '' });
    expect(mark('tcp.dstport').text).toContain('1433');
    expect(mark('ip.src').change).toBe('');
    expect(mark('tcp.srcport').change).toBe('');
    // Marked in text, not only colour; and the changes list names them.
    const changes = await page.locator('#changes').textContent();
    expect(changes).toMatch(/Destination Address: 172\.30\.72\.7 → 10\.128\.2\.24/);
    // What acted: the kube-proxy DNAT rule as iptables-save prints it, and the DNAT itself.
    const acted = await page.locator('#acted').textContent();
    expect(acted).toMatch(
      /-A KUBE-SEP-\w+ -p tcp -m comment --comment "project1\/server:1433-tcp" -m tcp -j DNAT --to-destination 10\.128\.2\.24:1433/,
    );
    expect(acted).toMatch(/DNAT: destination 172\.30\.72\.7:1433 -> 10\.128\.2\.24:1433/);
    // The changed bytes are marked in the dump (underlined) at the destination address.
    const changedBytes = await page.evaluate(() =>
      [...document.querySelectorAll('#dump .hex .chg')].map((e) => Number((e as HTMLElement).dataset.i)),
    );
    expect(changedBytes).toEqual(expect.arrayContaining([30, 31, 32, 33]));
    // Clicking a byte of the destination address selects the field; clicking the field boxes its bytes.
    await page.locator('#dump .hex [data-i="31"]').click();
    expect(await page.getAttribute('#tree button.field[data-field="ip.dst"]', 'aria-pressed')).toBe('true');
    expect(
      await page.evaluate(() =>
        [...document.querySelectorAll('#dump .hex .sel')].map((e) => Number((e as HTMLElement).dataset.i)),
      ),
    ).toEqual([30, 31, 32, 33]);
    await page.locator('#tree button.field[data-field="ip.ttl"]').click();
    expect(
      await page.evaluate(() =>
        [...document.querySelectorAll('#dump .hex .sel')].map((e) => Number((e as HTMLElement).dataset.i)),
      ),
    ).toEqual([22]);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('nodeport-ingress: the NodePort DNAT hop marks the destination address and port, and the masqueraded source', async () => {
    if (!requireChromium()) return;
    const r = runToTemp('nodeport-ingress');
    // The second conversation dials worker2's NodePort; kube-proxy DNATs it to the pod's own port.
    const syns = r.packets.filter((p) => p.label.startsWith('TCP SYN '));
    expect(syns.length).toBeGreaterThanOrEqual(2);
    const syn = syns[1]!;
    const frames = r.recorder.frames.filter((f) => f.walkIndex === syn.index);
    const d = new Dissection();
    const dstPort = (b: Uint8Array): number => new TcpView(b, dissect(b, 0, b.length, d).l4).dstPort;
    const k = frames.findIndex((f, i) => i > 0 && dstPort(f.bytes!) !== dstPort(frames[i - 1]!.bytes!));
    expect(k).toBeGreaterThan(0);
    const before = dstPort(frames[k - 1]!.bytes!);
    const after = dstPort(frames[k]!.bytes!);
    expect(before).toBeGreaterThanOrEqual(30000);
    const { page, problems } = await open(join(r.dir, 'walk.html'), `#packet=${syn.index + 1}&hop=${k + 1}`);
    expect((await spot(page)).frame).toBe(frames[k]!.number);
    const marks = await page.evaluate(() =>
      [...document.querySelectorAll('#tree button.field')].map((b) => ({
        field: (b as HTMLElement).dataset.field!,
        change: (b as HTMLElement).dataset.change ?? '',
        text: b.textContent ?? '',
      })),
    );
    const mark = (f: string) => marks.find((m) => m.field === f)!;
    expect(mark('tcp.dstport')).toMatchObject({ change: 'changed' });
    expect(mark('tcp.dstport').text).toContain(String(after));
    expect(mark('tcp.dstport').text).toContain(`changed, was ${before}`);
    expect(mark('ip.dst').change).toBe('changed');
    expect(mark('ip.checksum').change).toBe('changed');
    expect(mark('tcp.checksum').change).toBe('changed');
    // The masquerade (KUBE-MARK-MASQ, then MASQUERADE in POSTROUTING) rewrote the source on the same pass.
    expect(mark('ip.src').change).toBe('changed');
    const changes = await page.locator('#changes').textContent();
    expect(changes).toContain(`${before} → ${after}`);
    const acted = await page.locator('#acted').textContent();
    expect(acted).toMatch(new RegExp(`-j DNAT --to-destination [0-9.]+:${after}`));
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('pod-to-pod-cross-node: the encapsulation hop marks outer Ethernet, IPv4, UDP and VXLAN as added and shows the VNI', async () => {
    if (!requireChromium()) return;
    const r = runToTemp('pod-to-pod-cross-node');
    const syn = r.packets.find((p) => p.label.startsWith('TCP SYN '))!;
    const frames = r.recorder.frames.filter((f) => f.walkIndex === syn.index);
    const d = new Dissection();
    const k = frames.findIndex(
      (f, i) =>
        i > 0 &&
        dissect(f.bytes!, 0, f.length, d).vxlan >= 0 &&
        dissect(frames[i - 1]!.bytes!, 0, frames[i - 1]!.length, d).vxlan < 0,
    );
    expect(k).toBeGreaterThan(0);
    const vni = dissect(frames[k]!.bytes!, 0, frames[k]!.length, d).vni;
    const { page, problems } = await open(join(r.dir, 'walk.html'), `#packet=${syn.index + 1}&hop=${k + 1}`);
    const layers = await page.evaluate(() =>
      [...document.querySelectorAll('#tree details.layer')].map((l) => ({
        proto: (l as HTMLElement).dataset.proto,
        depth: Number((l as HTMLElement).dataset.depth),
        change: (l as HTMLElement).dataset.change ?? '',
        title: l.querySelector('summary')!.textContent,
      })),
    );
    expect(layers.slice(0, 4).map((l) => [l.proto, l.depth, l.change])).toEqual([
      ['eth', 0, 'added'],
      ['ip', 0, 'added'],
      ['udp', 0, 'added'],
      ['vxlan', 0, 'added'],
    ]);
    expect(layers[3]!.title).toContain(`VNI: ${vni}`);
    expect(layers[3]!.title).toMatch(/ADDED/i);
    // The inner frame is the same packet, not marked added.
    expect(layers.slice(4, 7).map((l) => [l.proto, l.depth, l.change])).toEqual([
      ['eth', 1, ''],
      ['ip', 1, ''],
      ['tcp', 1, ''],
    ]);
    expect(await page.locator('#tree button.field[data-field="vxlan.vni"]').textContent()).toContain(String(vni));
    const changes = await page.locator('#changes').textContent();
    expect(changes).toContain(`added Virtual eXtensible Local Area Network, VNI: ${vni}`);
    // What acted: vxlan0 encapsulated, the node routed the outer packet out of eth0.
    const acted = await page.locator('#acted').textContent();
    expect(acted).toMatch(new RegExp(`vxlan0: encapsulate VNI ${vni} `));
    expect(acted).toMatch(/route 192\.168\.0\.5: 192\.168\.0\.0\/24 dev eth0/);
    // The picture highlights the hop that ends at this frame.
    expect(await page.locator('#picture .current').count()).toBeGreaterThan(0);
    // The hop before (into vxlan0) was br0's table 90, shown as dump-flows prints it.
    await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#acted').textContent()).toMatch(
      /cookie=0x[0-9a-f]+, table=90, priority=100,ip,nw_dst=10\.128\.2\.0\/23 actions=move:NXM_NX_REG0\[\]->NXM_NX_TUN_ID\[0\.\.31\],set_field:192\.168\.0\.5->tun_dst,output:1/,
    );
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);

  it('a replayed capture: its walk.html steps through every frame the replay wrote', async () => {
    if (!requireChromium()) return;
    const out = join(mkdtempSync(join(tmpdir(), 'packetwalk-page-replay-')), 'replay');
    const file = join(import.meta.dirname, '..', 'fixtures', 'captures', 'pod-syn-to-service.pcap');
    const r = runReplay({
      file,
      at: 'project1/sqlapi-1-8jgx8',
      baseDocuments: builtinClusterDocuments(),
      clusterFile: '<builtin>',
      outDir: out,
    });
    const pcap = readPcapng(readFileSync(join(out, 'walk.pcapng')));
    expect(pcap.packets.length).toBeGreaterThan(5);
    const { page, problems } = await open(join(out, 'walk.html'));
    await stepThrough(page, r.packets, r.recorder.frames, pcap.packets);
    expect(problems).toEqual([]);
    await page.close();
    rmSync(dirname(out), { recursive: true, force: true });
  }, 120_000);
});
