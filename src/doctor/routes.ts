/**
 * Node routes, actual (`ip -j route show table all`, main table) against what the node needs (SDN
 * `sdn_controller.go setup` plus the NIC's connected route and default route): missing, different (gateway,
 * device, MTU) and, on the NIC and tun0, extra routes. An `mtu` on a route below what it carries (the overlay
 * MTU on tun0's routes, the NIC MTU elsewhere) is the classic black hole for large packets with DF set.
 */

import { cidrToString, ipv4ToString } from '../../codecs/bytes.js';
import type { Cluster } from '../cluster/types.js';
import { overlayMtu } from '../cluster/types.js';
import type { StateRoute } from '../state/node-files.js';
import type { Difference } from './difference.js';

interface Want {
  dst: string;
  via?: string;
  dev: 'nic' | 'tun0';
  why: string;
}

function wanted(cluster: Cluster): Want[] {
  const n = cluster.network;
  return [
    { dst: cidrToString(cluster.underlay.cidr), dev: 'nic', why: 'the node network' },
    {
      dst: '0.0.0.0/0',
      via: ipv4ToString(cluster.underlay.gateway),
      dev: 'nic',
      why: 'the default route (egress, NodePort replies)',
    },
    {
      dst: cidrToString(n.clusterNetwork),
      dev: 'tun0',
      why: 'the cluster network: the node reaches pods through tun0',
    },
    {
      dst: cidrToString(n.serviceNetwork),
      dev: 'tun0',
      why: 'the service network: pods reach services through tun0 and kube-proxy',
    },
  ];
}

export function compareRoutes(
  node: string,
  actual: readonly StateRoute[],
  nic: string,
  cluster: Cluster,
): Difference[] {
  const out: Difference[] = [];
  const devName = (d: 'nic' | 'tun0') => (d === 'nic' ? nic : 'tun0');
  const want = wanted(cluster);
  const overlay = overlayMtu(cluster.network);
  for (const w of want) {
    const have = actual.filter((r) => cidrToString(r.dst) === w.dst);
    const good = have.find(
      (r) =>
        r.dev === devName(w.dev) && (w.via === undefined || (r.via !== undefined && ipv4ToString(r.via) === w.via)),
    );
    const expected = `${w.dst === '0.0.0.0/0' ? 'default' : w.dst}${w.via ? ` via ${w.via}` : ''} dev ${devName(w.dev)}`;
    if (!good) {
      out.push({
        node,
        area: 'route',
        kind: have.length ? 'different' : 'missing',
        message: have.length
          ? `${node}: route to ${w.dst} is \`${have[0]!.text}\`, expected \`${expected}\` (${w.why})`
          : `${node}: no route \`${expected}\` (${w.why})`,
        actual: have[0]?.text,
        expected,
        subjects: [node],
        chain: 'route',
      });
      continue;
    }
    const limit = w.dev === 'tun0' ? overlay : cluster.underlay.mtu;
    if (good.mtu !== undefined && good.mtu < limit) {
      out.push({
        node,
        area: 'route',
        kind: 'different',
        message: `${node}: route \`${good.text}\` lowers the MTU to ${good.mtu} (the ${w.dev === 'tun0' ? 'overlay' : 'NIC'} MTU is ${limit}): packets of ${good.mtu + 1}..${limit} bytes to ${w.dst} with DF set are refused with ICMP fragmentation-needed, the rest dropped`,
        actual: good.text,
        expected,
        subjects: [node, w.dst],
        chain: 'route',
      });
    }
  }
  for (const r of actual) {
    if (r.dev !== nic && r.dev !== 'tun0') continue;
    const d = cidrToString(r.dst);
    if (want.some((w) => w.dst === d)) continue;
    if (r.dst.prefix === 32) continue; // host routes (egress router gateways, cloud metadata) are normal
    if (r.mtu !== undefined && r.mtu < (r.dev === 'tun0' ? overlay : cluster.underlay.mtu)) {
      out.push({
        node,
        area: 'route',
        kind: 'extra',
        message: `${node}: route \`${r.text}\` lowers the MTU to ${r.mtu} for ${d}: larger packets with DF set are refused with ICMP fragmentation-needed`,
        actual: r.text,
        subjects: [node, d],
        chain: 'route',
      });
    } else if (r.dev === 'tun0') {
      out.push({
        node,
        area: 'route',
        kind: 'extra',
        message: `${node}: unexpected route \`${r.text}\` through tun0`,
        actual: r.text,
        subjects: [node, d],
        chain: 'route',
      });
    }
  }
  return out;
}
