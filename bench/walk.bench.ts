/**
 * Walk suite: one packet across the whole emulated data path of a scenario, all hops, per iteration.
 *
 * walk-* run as a user's run does, with the whole-path fast path on (src/fastpath): after its second sight of the
 * header combination, each injection replays the recorded walk (same bytes, counters, conntrack refreshes and
 * clock). walk-slowpath-* turn it off, so every injection walks hop by hop through br0's tables, iptables and
 * conntrack: the cost of a packet whose headers have not been seen before, or of a traced one.
 *
 * Each case runs its scenario's conversation once (bench/walk-setup.ts), then replays the client's pure ACK of
 * that established flow at the client pod's eth0: veth -> br0 -> (tun0, iptables and conntrack where the path
 * has them) -> vxlan0 or the node NIC -> underlay -> ... -> the server's socket. Setup proves by tracing one
 * injection that it is delivered, once, with no drop and no reply.
 *
 * walk-capture-* does the same with every capture point recording into one pcapng file on tmpfs (the file is
 * replaced before it grows past the capture directory's limit and deleted at the end).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { attachCapture } from '../src/capture/attach.js';
import { CaptureRecorder } from '../src/capture/recorder.js';
import { builtinClusterDocuments } from '../src/cluster/builtin.js';
import type { PathCacheFactory } from '../src/runtime/runtime.js';
import { findScenario } from '../src/scenarios/catalog.js';
import { scenarioCluster } from '../src/scenarios/run-scenario.js';
import { captureDir } from './pcap.bench.js';
import type { BenchCase, BenchSuite } from './registry.js';
import { checkOnePacket, inject, warmPath, type WarmPath } from './walk-setup.js';

/** The built-in cluster as the scenario edits it, warmed up with the scenario's first flow. */
export function warmScenario(scenarioName: string, fastPath: boolean | PathCacheFactory = true): WarmPath {
  const s = findScenario(scenarioName);
  if (!s) throw new Error(`no scenario ${scenarioName}`);
  const cluster = scenarioCluster(s, builtinClusterDocuments(), '<builtin>');
  const spec = s.flows(cluster)[0];
  if (!spec) throw new Error(`scenario ${scenarioName} has no flow`);
  return warmPath(cluster, spec, undefined, { fastPath });
}

/** The host name a scenario's first flow is delivered to (a pod's `namespace/name`, or an external host's name). */
function deliveryHost(w: WarmPath, scenarioName: string): string {
  const s = findScenario(scenarioName)!;
  const spec = s.flows(w.emulation.cluster)[0]!;
  const to = spec.to.ip;
  for (const st of w.emulation.stacks()) if (st.isLocalAddress(to) && st !== w.source.stack) return st.name;
  // A service IP: the backend the warm-up connection went to (the only pod with a TCP connection from the client).
  for (const node of w.emulation.nodes.values()) {
    for (const p of node.pods.values()) {
      if (p === w.source) continue;
      if (p.stack.sockets.connections().some((c) => c.role === 'server' && c.remoteIp === w.source.pod.ip))
        return p.stack.name;
    }
  }
  throw new Error(`cannot tell where ${scenarioName} delivers`);
}

function walkCase(scenarioName: string, capture: boolean, fastPath = true): BenchCase {
  const name = `walk-${capture ? 'capture-' : ''}${fastPath ? '' : 'slowpath-'}${scenarioName}`;
  let w: WarmPath | undefined;
  let recorder: CaptureRecorder | undefined;
  let dir = '';
  let rotateAfter = 0;
  let sinceRotate = 0;
  const openCapture = (): void => {
    recorder = new CaptureRecorder(w!.runtime.clock, { dir, index: false, perInterfacePcaps: false });
    attachCapture(w!.emulation, recorder);
    sinceRotate = 0;
  };
  return {
    name,
    get bytesPerOp() {
      return w?.frame.length;
    },
    setup() {
      w = warmScenario(scenarioName, fastPath);
      checkOnePacket(w, deliveryHost(w, scenarioName));
      if (capture) {
        const where = captureDir();
        dir = mkdtempSync(join(where.dir, 'packetwalk-bench-'));
        rotateAfter = Math.max(1000, Math.floor(where.rotateBytes / w.pcapngBytes));
        openCapture();
      }
      // Collect the warm-up's garbage (the traced check's records, the conversation's objects) before the hot code
      // is compiled: optimized code holds the maps it saw weakly, and a collection that frees them later (the
      // allocation window starts with one) deoptimizes it, so the window would count recompilation, not packets.
      globalThis.gc?.();
    },
    run(n) {
      const path = w!;
      if (capture && sinceRotate > rotateAfter) {
        recorder!.abort();
        openCapture();
      }
      for (let i = 0; i < n; i++) inject(path);
      sinceRotate += n;
      return path.runtime.pool.available;
    },
    teardown() {
      recorder?.abort();
      recorder = undefined;
      if (w) w.runtime.capture = null;
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = '';
      w = undefined;
    },
  };
}

export const walkSuite: BenchSuite = {
  name: 'walk',
  cases: [
    walkCase('pod-to-pod-cross-node', false),
    walkCase('pod-to-service-cross-node', false),
    walkCase('egress-node-ip', false),
    walkCase('pod-to-pod-cross-node', true),
    walkCase('pod-to-pod-cross-node', false, false),
    walkCase('pod-to-service-cross-node', false, false),
    walkCase('egress-node-ip', false, false),
    walkCase('pod-to-pod-cross-node', true, false),
  ],
};
