import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readU16 } from '../../codecs/bytes.js';
import { readPcapng } from '../../codecs/pcapng.js';
import { TCP_FIN, TCP_SYN } from '../../codecs/tcp.js';
import { attachCapture } from '../../src/capture/attach.js';
import { CaptureRecorder } from '../../src/capture/recorder.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { Emulation } from '../../src/node/emulation.js';
import { findScenario } from '../../src/scenarios/catalog.js';
import { runShardedCapture } from '../../src/shard/run-sharded.js';
import { runFlow } from '../../src/walk/flow.js';
import { scenarioCluster } from '../../src/scenarios/run-scenario.js';
import { hasTshark, TSHARK_MISSING, tsharkProblems } from '../helpers/tshark.js';

const SCENARIO = 'pod-to-pod-cross-node';
const FLOWS = 300;
const CLIENT_ETH0 = 'sqlapi-1-8jgx8/eth0';

/** TCP flags and client port of each frame seen at the client pod's eth0 (Ethernet/IPv4/TCP, no options in IP). */
function clientFrames(pcapng: Uint8Array): { port: number; flags: number; outbound: boolean }[] {
  const f = readPcapng(pcapng);
  const ifId = f.interfaces.findIndex((i) => i.name === CLIENT_ETH0);
  expect(ifId).toBeGreaterThanOrEqual(0);
  return f.packets
    .filter((p) => p.interfaceId === ifId && readU16(p.data, 12) === 0x0800 && p.data[23] === 6)
    .map((p) => {
      const outbound = p.direction === 'outbound';
      return { port: readU16(p.data, outbound ? 34 : 36), flags: p.data[47]!, outbound };
    });
}

describe('sharded walks', () => {
  const results = new Map<number, Buffer>();
  const tmp = mkdtempSync(join(tmpdir(), 'packetwalk-shard-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.each([1, 2, 4])(
    `%i worker(s) run ${FLOWS} flows of ${SCENARIO}, every flow completing`,
    async (workers) => {
      const r = await runShardedCapture({ scenario: SCENARIO, flows: FLOWS, workers, shards: 8 });
      results.set(workers, r.pcapng!);
      expect(r.flowsPerShard.reduce((a, b) => a + b, 0)).toBe(FLOWS);
      expect(r.flowsPerShard.every((n) => n > 0)).toBe(true);
      // Every flow went through a full exchange: one SYN out and one FIN out from each client port 1024 .. 1323.
      const frames = clientFrames(r.pcapng!);
      const syns = new Set(frames.filter((x) => x.outbound && x.flags === TCP_SYN).map((x) => x.port));
      const fins = new Set(frames.filter((x) => x.outbound && x.flags & TCP_FIN).map((x) => x.port));
      expect(syns.size).toBe(FLOWS);
      expect(fins.size).toBe(FLOWS);
      expect(Math.min(...syns)).toBe(1024);
      expect(Math.max(...syns)).toBe(1024 + FLOWS - 1);
    },
    30_000,
  ); // worker start-up (tsx, replicas) is about a second, more on a busy machine

  it('writes a byte-identical merged capture for 1, 2 and 4 workers', () => {
    const one = results.get(1),
      two = results.get(2),
      four = results.get(4);
    expect(one && two && four).toBeTruthy();
    expect(one!.length).toBeGreaterThan(FLOWS * 1000);
    expect(two!.equals(one!)).toBe(true);
    expect(four!.equals(one!)).toBe(true);
  });

  it('orders the merged frames by time, each flow inside its own 1 ms slot', () => {
    const f = readPcapng(results.get(1)!);
    let last = -1;
    for (const p of f.packets) {
      expect(p.tsNs).toBeGreaterThanOrEqual(last);
      last = p.tsNs;
    }
    // Client port 1024 + i is flow i, which starts at i ms: its SYN leaves the client in that millisecond (later
    // than its start only on a shard's first flow, which waits for ARP).
    const ifId = f.interfaces.findIndex((i) => i.name === CLIENT_ETH0);
    const synTimes = f.packets.filter(
      (p) => p.interfaceId === ifId && p.direction === 'outbound' && p.data[23] === 6 && p.data[47] === TCP_SYN,
    );
    expect(synTimes.length).toBe(FLOWS);
    let onTime = 0;
    for (const p of synTimes) {
      const start = (readU16(p.data, 34) - 1024) * 1_000_000;
      expect(p.tsNs).toBeGreaterThanOrEqual(start);
      expect(p.tsNs).toBeLessThan(start + 1_000_000);
      if (p.tsNs === start) onTime++;
    }
    expect(onTime).toBe(FLOWS - 8);
  });

  it('with one shard equals CaptureRecorder on one emulation running the same flows in order', async () => {
    const n = 40;
    const r = await runShardedCapture({ scenario: SCENARIO, flows: n, workers: 1, shards: 1 });
    // The reference, built without src/shard: one emulation, the recorder, flow i at i ms from client port 1024 + i.
    const s = findScenario(SCENARIO)!;
    const cluster = scenarioCluster(s, builtinClusterDocuments(), '<builtin>');
    const emu = new Emulation(cluster, { seed: 1 });
    const rec = new CaptureRecorder(emu.runtime.clock);
    attachCapture(emu, rec);
    const spec = s.flows(cluster)[0]!;
    for (let i = 0; i < n; i++) {
      emu.runtime.clock.now = Math.max(emu.runtime.clock.now, i * 1_000_000);
      expect(runFlow(emu, { ...spec, sourcePort: 1024 + i }).ok).toBe(true);
    }
    const expected = rec.memoryPcapng();
    expect(r.pcapng!.length).toBe(expected.length);
    expect(r.pcapng!.equals(expected)).toBe(true);
  }, 30_000);

  it.skipIf(!hasTshark)('is a capture Wireshark reads without a malformed frame or a bad checksum', () => {
    const file = join(tmp, 'sharded.pcapng');
    writeFileSync(file, results.get(2)!);
    expect(tsharkProblems(file)).toEqual([]);
  });
  if (!hasTshark) console.log(TSHARK_MISSING);
});
