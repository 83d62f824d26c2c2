/**
 * Nodes are built when a walk reaches them (issue 15): a walk between two nodes of a 300-node cluster builds
 * those two and no other, and what it writes is byte for byte what the same walk writes when every node was
 * built before it.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bigNamespace,
  bigPodName,
  bigPodNode,
  bigNodeName,
  writeBigClusterFile,
} from '../../bench/big-cluster-file.js';
import { attachCapture } from '../../src/capture/attach.js';
import { CaptureRecorder } from '../../src/capture/recorder.js';
import { loadClusterFile } from '../../src/cluster/load.js';
import { Emulation } from '../../src/node/emulation.js';
import { renderWalkTrace } from '../../src/trace/render.js';
import { runFlow, type FlowSpec } from '../../src/walk/flow.js';

const dir = mkdtempSync(join(tmpdir(), 'packetwalk-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shape = { nodes: 300, pods: 1200 };
const file = join(dir, 'big.yaml');
writeBigClusterFile(file, shape);
const cluster = loadClusterFile(file);

// Pod 0 (ns-0000, app-0) and pod 150 (ns-0003, app-0) sit on generated workers 0 and 150.
const client = { namespace: bigNamespace(0), name: bigPodName(0) };
const serverPod = cluster.pods.find((p) => p.namespace === bigNamespace(150) && p.name === bigPodName(150))!;
const spec: FlowSpec = { from: { kind: 'pod', ...client }, to: { ip: serverPod.ip, port: 8080 }, proto: 'tcp' };

function walk(eager: boolean): { emu: Emulation; pcapng: Buffer; trace: string; points: string } {
  const emu = new Emulation(cluster, { seed: 3 });
  if (eager) emu.buildAll();
  const rec = new CaptureRecorder(emu.runtime.clock, { index: true });
  attachCapture(emu, rec);
  emu.runtime.tracing = true;
  const r = runFlow(emu, spec);
  expect(r.ok, r.detail).toBe(true);
  rec.close();
  const points = rec
    .pointIdsInOrder()
    .filter((i) => rec.counts[i]! > 0)
    .map((i) => `${rec.points[i]!.name} ${rec.counts[i]}`)
    .join('\n');
  return { emu, pcapng: rec.memoryPcapng(), trace: renderWalkTrace('walk', emu.runtime.packets), points };
}

describe('a walk across a 300-node cluster', () => {
  const lazy = walk(false);

  it('builds only the two nodes it crosses', () => {
    expect(bigPodNode(0, shape)).not.toBe(bigPodNode(150, shape));
    expect(lazy.emu.builtNodeCount).toBe(2);
    const built = [...lazy.emu.nodes.values()].filter((n) => n.built).map((n) => n.name);
    expect(built.sort()).toEqual([bigNodeName(bigPodNode(0, shape)), bigNodeName(bigPodNode(150, shape))].sort());
    // The underlay ARP still reached every node (each NIC saw the broadcast), without building them.
    expect(
      [...lazy.emu.nodes.values()].every((n) => n.nic.rxPackets > 0 || n.name === built[0] || n.name === built[1]),
    ).toBe(true);
  });

  it('writes the same bytes as when every node was built first', () => {
    const eager = walk(true);
    expect(eager.emu.builtNodeCount).toBe(300);
    expect(lazy.points).toBe(eager.points);
    expect(lazy.trace).toBe(eager.trace);
    expect(lazy.pcapng.equals(eager.pcapng)).toBe(true);
  });

  it('builds a node on emulation.node(name) and only then', () => {
    const emu = new Emulation(cluster);
    expect(emu.builtNodeCount).toBe(0);
    const name = bigNodeName(7);
    expect(emu.nodes.get(name)!.built).toBe(false);
    const node = emu.node(name);
    expect(node.built).toBe(true);
    expect(node.bridge.flowCount()).toBeGreaterThan(3 * 299); // tables 10, 50 and 90 for every other node
    expect(emu.builtNodeCount).toBe(1);
  });
});
