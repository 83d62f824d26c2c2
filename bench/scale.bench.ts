/**
 * Growth sweep: the cost of one pod-to-pod cross-node walk (bench/walk-setup.ts) as the cluster grows, each axis
 * alone, so a lookup that scans shows up as a slope:
 *
 *   scale-nodes-N      N nodes: each br0 holds per-remote-node flows (tables 10, 50, 90), O(N) flows per bridge
 *   scale-pods-P       P pods over 6 nodes: per-pod flows (tables 20, 25, 40, 70) and veth ports on each node
 *   scale-conntrack-C  C other established connections in each path node's conntrack table
 *   scale-flows-F      br0 on each path node holds F flows (NetworkPolicy-style table 80 rules added)
 *
 * The sweep measures the slow path (src/fastpath off): a replayed walk touches none of the structures that grow, so
 * with the fast path on every size costs the same by construction; what grows is what a packet whose headers were
 * not seen before (the first of each flow, any traced one) pays.
 *
 * Only the two nodes on the path (client's and server's) and the underlay gateway are instantiated; their bridges
 * get the flows generated from the whole N-node cluster (the same generator a full emulation uses), their kernels
 * the same routes and iptables. The other nodes would never see the packet, and building 1000 nodes with 3000
 * flows each would take minutes and gigabytes. Cases marked heavy take seconds to set up; --quick skips them.
 */

import { ipv4ToString } from '../codecs/bytes.js';
import type { Cluster } from '../src/cluster/types.js';
import type { Emulation } from '../src/node/emulation.js';
import { assignPodPorts, generateNodeFlows } from '../src/ovs/openshift-flows.js';
import type { BenchCase, BenchSuite } from './registry.js';
import { scaleCluster, scaleFlow, type ScaleShape } from './scale-cluster.js';
import { checkOnePacket, inject, warmPath, type WarmPath } from './walk-setup.js';

/** One point of the sweep, for the --plot chart. */
export interface ScalePoint {
  axis: 'nodes' | 'pods' | 'conntrack' | 'flows';
  size: number;
}

/** The cluster with only the path's nodes (and their pods) left in it. */
function pathOnly(full: Cluster, spec: ReturnType<typeof scaleFlow>): Cluster {
  const from = spec.from.kind === 'pod' ? spec.from : undefined;
  const client = full.pods.find((p) => from && p.namespace === from.namespace && p.name === from.name)!;
  const server = full.pods.find((p) => p.ip === spec.to.ip)!;
  const on = new Set([client.node, server.node]);
  return {
    ...full,
    hostSubnets: full.hostSubnets.filter((h) => on.has(h.name)),
    pods: full.pods.filter((p) => on.has(p.node)),
  };
}

/**
 * Give every instantiated node's br0 the groups and flows the full cluster generates for it (only the lines the
 * path-only cluster did not already produce are parsed again).
 */
function installFullFlows(full: Cluster, reduced: Cluster, emu: Emulation): void {
  for (const node of emu.nodes.values()) {
    const had = generateNodeFlows(reduced, node.name, assignPodPorts(reduced, node.name));
    const { flows, groups } = generateNodeFlows(full, node.name, assignPodPorts(full, node.name));
    const hadGroups = new Set(had.groups),
      hadFlows = new Set(had.flows);
    for (const g of groups) if (!hadGroups.has(g)) node.bridge.addGroup(g);
    node.bridge.addFlows(flows.filter((f) => !hadFlows.has(f)).join('\n'));
  }
}

/** Fill each node's conntrack with `n` established TCP connections between addresses the walk never uses. */
function fillConntrack(emu: Emulation, n: number): void {
  const now = emu.runtime.clock.now;
  for (const node of emu.nodes.values()) {
    const ct = node.netfilter.conntrack;
    ct.max = Math.max(ct.max, 2 * n + 1024);
    // 172.16.0.0/12 clients to 100.64.0.0/10 servers: outside the cluster, service and underlay networks.
    for (let i = 0; i < n; i++)
      ct.insert(6, (0xac100000 + (i >>> 8)) >>> 0, (0x64400000 + (i & 0xff)) >>> 0, 10000 + (i % 50000), 443, now);
  }
}

/** Add NetworkPolicy-style flows (table 80, `reg1=VNID, nw_src, nw_dst`) until each br0 holds `total` flows. */
function addFlows(emu: Emulation, total: number): void {
  for (const node of emu.nodes.values()) {
    const missing = total - node.bridge.flowCount();
    const lines: string[] = [];
    for (let i = 0; i < missing; i++) {
      const src = ipv4ToString((0x64400000 + i) >>> 0),
        dst = ipv4ToString((0x64800000 + ((i * 7919) & 0x3fffff)) >>> 0);
      lines.push(
        `table=80, priority=150, ip, reg1=0x5b8c1d, nw_src=${src}, nw_dst=${dst} actions=output:NXM_NX_REG2[]`,
      );
    }
    node.bridge.addFlows(lines.join('\n'));
    if (node.bridge.flowCount() < total)
      throw new Error(`br0 on ${node.name}: ${node.bridge.flowCount()} flows, wanted ${total}`);
  }
}

/** `scale-<axis>-<label>`: the stable names of issue 6 (`scale-nodes-1000`, `scale-conntrack-1M`, ...). */
function scaleCase(
  label: string,
  point: ScalePoint,
  shape: ScaleShape,
  heavy: boolean,
  prepare?: (emu: Emulation) => void,
): BenchCase {
  const name = `scale-${point.axis}-${label}`;
  let w: WarmPath | undefined;
  return {
    name,
    heavy,
    scale: point,
    get bytesPerOp() {
      return w?.frame.length;
    },
    setup() {
      const full = scaleCluster(shape);
      const spec = scaleFlow(full);
      const reduced = pathOnly(full, spec);
      w = warmPath(
        reduced,
        spec,
        (emu) => {
          installFullFlows(full, reduced, emu);
          prepare?.(emu);
        },
        { fastPath: false },
      );
      checkOnePacket(w, 'project1/server');
    },
    run(n) {
      const path = w!;
      for (let i = 0; i < n; i++) inject(path);
      return path.runtime.pool.available;
    },
    teardown() {
      w = undefined;
    },
  };
}

const BASE: ScaleShape = { nodes: 6, pods: 10 };

export const scaleSuite: BenchSuite = {
  name: 'scale',
  cases: [
    scaleCase('6', { axis: 'nodes', size: 6 }, BASE, false),
    scaleCase('100', { axis: 'nodes', size: 100 }, { nodes: 100, pods: 10 }, true),
    scaleCase('1000', { axis: 'nodes', size: 1000 }, { nodes: 1000, pods: 10 }, true),
    scaleCase('10', { axis: 'pods', size: 10 }, BASE, false),
    scaleCase('10k', { axis: 'pods', size: 10_000 }, { nodes: 6, pods: 10_000 }, true),
    scaleCase('100k', { axis: 'pods', size: 100_000 }, { nodes: 6, pods: 100_000 }, true),
    scaleCase('1k', { axis: 'conntrack', size: 1000 }, BASE, false, (emu) => fillConntrack(emu, 1000)),
    scaleCase('1M', { axis: 'conntrack', size: 1_000_000 }, BASE, true, (emu) => fillConntrack(emu, 1_000_000)),
    scaleCase('100', { axis: 'flows', size: 100 }, BASE, false, (emu) => addFlows(emu, 100)),
    scaleCase('100k', { axis: 'flows', size: 100_000 }, BASE, true, (emu) => addFlows(emu, 100_000)),
  ],
};
