/**
 * A flow: one conversation a walk runs — a TCP exchange (handshake, request, response, close), a UDP request
 * and response, or an ICMP echo — between two endpoints of an Emulation.
 */

import { ipv4, ipv4ToString, type Ipv4Address } from '../../codecs/bytes.js';
import type { Cluster } from '../cluster/types.js';
import { clientRequest } from '../node/apps.js';
import type { Emulation } from '../node/emulation.js';
import type { TcpConnection, UdpExchange } from '../node/sockets.js';
import type { Stack } from '../node/stack.js';

export type Protocol = 'tcp' | 'udp' | 'icmp';

/** Where a flow starts. */
export type Source =
  | { kind: 'pod'; namespace: string; name: string }
  | { kind: 'node'; name: string }
  | { kind: 'external'; name: string };

export interface FlowSpec {
  from: Source;
  /** Destination address and port as the client dials it (a pod IP, a service IP, a node IP, an external IP). */
  to: { ip: Ipv4Address; port: number };
  proto: Protocol;
  /** A human label for the destination (`svc/project1/sqlapi`), for traces. */
  toLabel?: string;
  /** Fixed client source port (else an ephemeral one from the seeded randomness). */
  sourcePort?: number;
  /** ICMP echo payload bytes (default 64): large pings find MTU problems. */
  payloadSize?: number;
}

/**
 * How a conversation ended, as its client saw it: `completed` (TCP closed cleanly, UDP/ICMP answered), `refused`
 * (TCP reset), `no-port` (connect()/sendto() failed with EADDRNOTAVAIL: every ephemeral port was taken, nothing
 * was sent), `unanswered` (a packet was dropped on the way, or nobody answered).
 */
export type FlowOutcome = 'completed' | 'refused' | 'no-port' | 'unanswered';

export interface FlowResult {
  spec: FlowSpec;
  /** True when the conversation completed (TCP closed cleanly, UDP/ICMP answered). */
  ok: boolean;
  outcome: FlowOutcome;
  detail: string;
  clientPort: number;
}

export function sourceStack(emu: Emulation, src: Source): Stack {
  switch (src.kind) {
    case 'pod': {
      const pod = emu.index.pod(src.namespace, src.name);
      if (!pod) throw new Error(`no pod ${src.namespace}/${src.name}`);
      return emu.podStack(pod);
    }
    case 'node':
      return emu.node(src.name).kernel;
    case 'external':
      return emu.external(src.name);
  }
}

export function sourceLabel(src: Source): string {
  return src.kind === 'pod'
    ? `${src.namespace}/${src.name}`
    : src.kind === 'node'
      ? `node/${src.name}`
      : `external/${src.name}`;
}

/** Run one flow to completion (the emulation is synchronous: when this returns, every packet has landed). */
export function runFlow(emu: Emulation, spec: FlowSpec): FlowResult {
  const result = startFlow(emu, spec);
  emu.settle();
  return result.finish();
}

/** Start a flow; `finish()` reads its outcome once the emulation has settled. */
function startFlow(emu: Emulation, spec: FlowSpec): { finish(): FlowResult } {
  const stack = sourceStack(emu, spec.from);
  const dst = spec.to.ip,
    port = spec.to.port;
  const host = spec.toLabel ?? ipv4ToString(dst);
  switch (spec.proto) {
    case 'tcp': {
      const c: TcpConnection = stack.sockets.connectTcp(dst, port, clientRequest(host, port), spec.sourcePort);
      return {
        finish: () => {
          const ok = c.completed && !c.reset;
          const got = c.received.reduce((n, b) => n + b.length, 0);
          const state = c.state; // before the client gives up on it
          stack.sockets.abandon(c);
          if (c.error) return { spec, ok, outcome: 'no-port', clientPort: 0, detail: noPortDetail('connect') };
          const outcome = ok ? 'completed' : c.reset ? 'refused' : 'unanswered';
          return {
            spec,
            ok,
            outcome,
            clientPort: c.localPort,
            detail: ok
              ? `TCP exchange complete: ${got} response bytes, connection closed`
              : c.reset
                ? 'TCP connection reset'
                : `TCP stopped in ${state}`,
          };
        },
      };
    }
    case 'udp': {
      const x: UdpExchange = stack.sockets.sendUdp(dst, port, clientRequest(host, port), spec.sourcePort);
      return {
        finish: () => {
          stack.sockets.closeUdp(x);
          if (x.error) return { spec, ok: false, outcome: 'no-port', clientPort: 0, detail: noPortDetail('sendto') };
          return {
            spec,
            ok: !!x.response,
            outcome: x.response ? 'completed' : 'unanswered',
            clientPort: x.localPort,
            detail: x.response ? `UDP response of ${x.response.length} bytes` : 'no UDP response',
          };
        },
      };
    }
    case 'icmp': {
      const r = stack.ping(dst, spec.payloadSize ?? 64);
      return {
        finish: () => ({
          spec,
          ok: r.replied,
          outcome: r.replied ? 'completed' : 'unanswered',
          clientPort: r.id,
          detail: r.replied ? 'ICMP echo reply received' : 'no ICMP echo reply',
        }),
      };
    }
  }
}

function noPortDetail(call: string): string {
  return `${call}: EADDRNOTAVAIL (every ephemeral port 32768-60999 is in use or in TIME_WAIT; nothing sent)`;
}

/** Resolve `ip` or a cluster name to an address: pod `ns/name`, service `svc/ns/name`, node name, external host name. */
export function resolveTarget(
  cluster: Cluster,
  target: string,
): { ip: Ipv4Address; label: string; defaultPort?: number } {
  if (target.startsWith('svc/')) {
    const [, ns, name] = target.split('/');
    const s = cluster.services.find((x) => x.namespace === ns && x.name === name);
    if (!s) throw new Error(`no service ${ns}/${name}`);
    return { ip: s.clusterIP, label: target, defaultPort: s.ports[0]?.port };
  }
  if (target.includes('/')) {
    const [ns, name] = target.split('/');
    const p = cluster.pods.find((x) => x.namespace === ns && x.name === name);
    if (!p) throw new Error(`no pod ${target}`);
    return { ip: p.ip, label: target, defaultPort: p.ports[0]?.port };
  }
  const node = cluster.hostSubnets.find((h) => h.name === target);
  if (node) return { ip: node.hostIP, label: target };
  const ext = cluster.externalHosts.find((e) => e.name === target);
  if (ext) return { ip: ext.ip, label: target, defaultPort: 443 };
  return { ip: ipv4(target), label: target };
}
