/**
 * Real Open vSwitch 3.1 as the oracle for br0 (issue 7). For every scenario in the catalogue, every frame that
 * entered a br0 is replayed into a private userspace OVS holding that node's exported groups and flows:
 *
 * 1. Decisions: `ofproto/trace br0 'in_port=N[,tun_id=..,tun_src=..,tun_dst=..]' --ct-next S... <packet hex>`,
 *    with S = the ct_state packetwalk's conntrack gave each recirculation of that frame on that node, so the
 *    comparison tests the flow tables, not the conntrack emulation. Per pass (the first and each recirculation):
 *    the datapath actions (output ports, ct/recirc, tunnel output with VNI and remote node, drop) and the final
 *    flow's registers, MACs, addresses, ports, TTL, pkt_mark, ct_mark, ct_state and tun_dst.
 *    Not compared: after a ct(nat) pass the addresses and ports, because OVS's own userspace conntrack has no NAT
 *    entry (on a real node the kernel conntrack that iptables DNATed in is shared with OVS: packetwalk's ct(nat)
 *    un-NATs the reply there, OVS here cannot).
 * 2. Encapsulated bytes: each frame packetwalk sent into vxlan0 is injected for real (netdev-dummy/receive) and
 *    the VXLAN frame OVS transmits on the underlay is compared with the one packetwalk put on the node's NIC,
 *    field by field. Allowed to differ: the outer IPv4 ID (OVS userspace writes 0; packetwalk, like the kernel
 *    datapath's ip_tunnel_xmit, takes the node's next IP ID), hence the IPv4 header checksum (each must verify),
 *    and the UDP source port (both a hash of the inner flow into 32768..61000, with different hash functions).
 * 3. Decapsulation: each VXLAN frame packetwalk delivered to a node's NIC and into br0 via vxlan0 is injected on
 *    OVS's underlay uplink; OVS pops the tunnel (tnl_pop), runs br0, and what it transmits on the pod port must
 *    equal what packetwalk delivered there byte for byte.
 */

import { afterAll, describe, expect, it } from 'vitest';
import type { EmulatedNode } from '../../src/node/emulated-node.js';
import type { ScenarioResult } from '../../src/scenarios/run-scenario.js';
import { hasOvs } from '../ovs/private-ovs.js';
import { br0Entries, type Br0Entry } from './br0-entries.js';
import { ovsDecisions, packetwalkDecisions } from './br0-decision.js';
import { OvsNode } from './ovs-node.js';
import { nextFrameAt, previousFrameAt, runAllScenarios } from './scenario-runs.js';
import { outerDifferences, outerIpChecksumOk, udpSourcePort } from './vxlan-fields.js';

const HAVE = hasOvs();
if (!HAVE)
  console.log(
    'test/reference/ovs-oracle: Open vSwitch (ovs-vswitchd, vswitch.ovsschema) not installed; skipping the real-OVS oracle (apt-get install openvswitch-switch)',
  );

/** Fields of the outer header that may differ between OVS and packetwalk, and why (see the file comment). */
const MAY_DIFFER = new Set(['ip.id', 'ip.checksum', 'udp.srcport']);

interface Mismatch {
  entry: string;
  detail: unknown;
}

function flowSpec(e: Br0Entry): string {
  if (!e.tunnel) return `in_port=${e.inPort}`;
  return `in_port=1,tun_id=0x${e.tunnel.tunId.toString(16)},tun_src=${e.tunnel.tunSrc},tun_dst=${e.tunnel.tunDst}`;
}

describe.skipIf(!HAVE)('real Open vSwitch agrees with br0 on every frame of every scenario', () => {
  const started: OvsNode[] = [];
  afterAll(() => {
    for (const n of started.splice(0)) n.stop();
  });

  const decisions: Mismatch[] = [];
  const encap: Mismatch[] = [];
  const decap: Mismatch[] = [];
  let traced = 0,
    encapCompared = 0,
    decapCompared = 0,
    decapUnNated = 0;
  const differingFields = new Map<string, number>();

  /** Replay one scenario: one private OVS per node that saw traffic, frames in capture order. */
  function replay(r: ScenarioResult): void {
    const entries = br0Entries(r);
    const nodes = [...r.emulation.nodes.values()];
    const ovsOf = new Map<string, OvsNode>();
    const ovsFor = (node: EmulatedNode): OvsNode => {
      let o = ovsOf.get(node.name);
      if (!o) {
        o = new OvsNode(node, nodes);
        started.push(o);
        ovsOf.set(node.name, o);
      }
      return o;
    };
    try {
      for (const e of entries) {
        const node = r.emulation.nodes.get(e.node)!;
        const ovs = ovsFor(node);
        const text = ovs.trace(flowSpec(e), e.ctNext, e.bytes);
        traced++;
        const theirs = ovsDecisions(text, ovs.dpToOfport);
        const ours = packetwalkDecisions(e.passes);
        if (JSON.stringify(theirs) !== JSON.stringify(ours)) {
          decisions.push({
            entry: e.label,
            detail: { ctNext: e.ctNext, ovs: theirs, packetwalk: ours, ovsTrace: text },
          });
          continue;
        }
        const toVxlan = ours.some((p) => p.actions.some((a) => a.startsWith('vxlan:')));
        if (toVxlan && e.inPort !== 1) compareEncap(r, e, node, ovs);
        if (e.inPort === 1)
          compareDecap(
            r,
            e,
            node,
            ovs,
            ours.flatMap((p) => p.actions),
          );
      }
    } finally {
      for (const o of ovsOf.values()) {
        o.stop();
        started.splice(started.indexOf(o), 1);
      }
    }
  }

  function compareEncap(r: ScenarioResult, e: Br0Entry, node: EmulatedNode, ovs: OvsNode): void {
    const ourFrame = nextFrameAt(r, e.frame, node.nic.tap, 'outbound');
    if (!ourFrame?.bytes)
      return void encap.push({ entry: e.label, detail: 'packetwalk put no frame on the node NIC after vxlan0' });
    const sent = ovs.inject(e.inPort, e.bytes, ['uplink']).get('uplink')!;
    if (sent.length !== 1)
      return void encap.push({ entry: e.label, detail: `OVS transmitted ${sent.length} frames on the underlay` });
    const theirs = sent[0]!,
      ours = ourFrame.bytes;
    encapCompared++;
    const diffs = outerDifferences(theirs, ours);
    for (const d of diffs) differingFields.set(d.field, (differingFields.get(d.field) ?? 0) + 1);
    const unexpected = diffs.filter((d) => !MAY_DIFFER.has(d.field));
    const problems: string[] = [];
    if (unexpected.length)
      problems.push(`fields differ: ${unexpected.map((d) => `${d.field} ovs=${d.a} packetwalk=${d.b}`).join('; ')}`);
    if (!outerIpChecksumOk(theirs)) problems.push('OVS outer IPv4 checksum does not verify');
    if (!outerIpChecksumOk(ours)) problems.push('packetwalk outer IPv4 checksum does not verify');
    for (const [who, f] of [
      ['ovs', theirs],
      ['packetwalk', ours],
    ] as const) {
      const p = udpSourcePort(f);
      if (p < 32768 || p >= 61000) problems.push(`${who} UDP source port ${p} outside 32768..60999`);
    }
    if (problems.length) encap.push({ entry: e.label, detail: problems });
  }

  function compareDecap(r: ScenarioResult, e: Br0Entry, node: EmulatedNode, ovs: OvsNode, actions: string[]): void {
    const outputs = actions.filter((a) => a.startsWith('output:')).map((a) => +a.slice(7));
    if (outputs.length !== 1 || outputs[0]! < 3) return; // only single deliveries to a pod are injected
    const outer = previousFrameAt(r, e.frame, node.nic.tap, 'inbound');
    const pod = [...node.pods.values()].find((p) => p.veth.ofport === outputs[0]);
    const delivered = pod ? nextFrameAt(r, e.frame, pod.veth.tap, 'outbound') : undefined;
    if (!outer?.bytes || !delivered?.bytes)
      return void decap.push({ entry: e.label, detail: 'packetwalk frames around the decapsulation not found' });
    const got = ovs.inject('uplink', outer.bytes, [outputs[0]!]).get(outputs[0]!)!;
    decapCompared++;
    if (got.length !== 1)
      return void decap.push({ entry: e.label, detail: `OVS delivered ${got.length} frames to port ${outputs[0]}` });
    // After ct(nat) packetwalk's shared conntrack may have un-NATed the reply; OVS's own has no NAT entry and
    // must deliver the frame exactly as it came out of the tunnel.
    const nat = actions.some((a) => a.startsWith('ct(') && a.includes('nat'));
    const want = nat ? e.bytes : delivered.bytes;
    if (nat && Buffer.compare(Buffer.from(delivered.bytes), Buffer.from(e.bytes)) !== 0) decapUnNated++;
    if (Buffer.compare(Buffer.from(got[0]!), Buffer.from(want)) !== 0) {
      decap.push({
        entry: e.label,
        detail: { ovs: Buffer.from(got[0]!).toString('hex'), packetwalk: Buffer.from(want).toString('hex') },
      });
    }
  }

  const runs = HAVE ? runAllScenarios() : [];

  it('replays every br0 frame of every scenario into a real OVS', () => {
    for (const r of runs) replay(r);
    console.log(
      `ovs-oracle: ${runs.length} scenarios, ${traced} br0 frames traced, ${encapCompared} VXLAN encapsulations and ${decapCompared} decapsulations compared (${decapUnNated} un-NATed by packetwalk's shared conntrack: compared with the tunnel's inner frame); outer fields that differed (allowed): ${[...differingFields].map(([f, n]) => `${f} x${n}`).join(', ') || 'none'}`,
    );
    expect(traced).toBeGreaterThan(0);
  }, 120_000);

  it('ofproto/trace makes the same decision as packetwalk for every frame', () => {
    expect(traced).toBeGreaterThan(0);
    expect(decisions.slice(0, 3)).toEqual([]);
    expect(decisions.length).toBe(0);
  });

  it('OVS transmits the same VXLAN bytes as packetwalk, except IP ID/checksum and UDP source port', () => {
    expect(encapCompared).toBeGreaterThan(0);
    expect(encap).toEqual([]);
  });

  it('OVS decapsulates packetwalk underlay frames and delivers the same bytes to the pod', () => {
    expect(decapCompared).toBeGreaterThan(0);
    expect(decap).toEqual([]);
  });
});
