/**
 * The Linux kernel agrees on the host side (issue 7). Runs as root with `ip netns`; every namespace is created
 * here (`pw-<pid>-<role>`) and deleted in afterAll and on process exit; addresses exist only inside them.
 *
 * 1. VXLAN: namespace `a` has a Linux vxlan device (id = the scenario's VNI, dstport 4789, local/remote = the
 *    node IPs of packetwalk's outer header) over a veth to namespace `b`. Every inner frame packetwalk's
 *    pod-to-pod-cross-node scenario put into vxlan0 on the client's node is sent into the vxlan device through
 *    an AF_PACKET socket; what the kernel emits on the underlay veth is captured in `b` and compared field by field
 *    with packetwalk's encapsulation on that node's NIC. The underlay MACs are set to packetwalk's node NIC MACs.
 *    - With the OVS vport policy OpenShift nodes use (`df set ttl 64 noudpcsum`; OVS df_default=true, csum off):
 *      only the outer IP ID (and so the IP checksum) and the UDP source port may differ: the kernel's ID generator
 *      and flow hash are its own (random seeds per boot), packetwalk's are seeded per run.
 *    - With the vxlan device's defaults the kernel additionally clears DF and computes the UDP checksum
 *      (`udpcsum` is the IPv4 default on current kernels); the suite checks and prints exactly that.
 * 2. iptables NAT: namespace `node` holds the node's iptables (buildNodeRules + iptablesSave, as `packetwalk
 *    iptables` prints them), a veth `tun0` with the node's tun0 MAC and gateway address and the SDN routes
 *    (cluster network and service network dev tun0); namespace `br` plays br0. Every IPv4 frame packetwalk's
 *    br0 handed to tun0 in a pod-to-service scenario is injected in order; the kernel DNATs (and un-NATs the
 *    replies) with real conntrack and sends them back out of tun0, and each must equal what packetwalk's kernel
 *    sent back into br0, byte for byte: addresses, ports, TTL, IP ID, both checksums.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { ipv4ToString, macToString } from '../../codecs/bytes.js';
import { iptablesSave } from '../../src/netfilter/iptables-save.js';
import { buildNodeRules } from '../../src/netfilter/node-rules.js';
import type { EmulatedNode } from '../../src/node/emulated-node.js';
import type { ScenarioResult } from '../../src/scenarios/run-scenario.js';
import { br0Entries } from './br0-entries.js';
import { kernelPrerequisites, Namespaces, which } from './netns.js';
import { nextFrameAt, runAllScenarios } from './scenario-runs.js';
import { OUTER_LEN, outerDifferences, outerIpChecksumOk, outerUdpChecksumOk, udpSourcePort } from './vxlan-fields.js';

const pre = kernelPrerequisites();
const iptablesRestore = which('iptables-nft-restore') ?? which('iptables-legacy-restore') ?? which('iptables-restore');
if (!pre.ok) console.log(`test/reference/kernel: ${pre.why}; skipping the Linux kernel cross-checks`);
else if (!iptablesRestore)
  console.log(
    'test/reference/kernel: iptables-restore not installed; skipping the iptables NAT cross-check (apt-get install iptables)',
  );

const hexOf = (b: Uint8Array, o: number, n: number): string => Buffer.from(b.subarray(o, o + n)).toString('hex');
const ipAt = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
const macAt = (b: Uint8Array, o: number): string =>
  [...b.subarray(o, o + 6)].map((x) => x.toString(16).padStart(2, '0')).join(':');

describe.skipIf(!pre.ok)('the Linux kernel agrees with packetwalk on the host side', () => {
  const ns = new Namespaces(pre.ip ?? 'ip');
  afterAll(() => ns.destroy());
  const runs = pre.ok ? runAllScenarios() : [];
  const byName = new Map(runs.map((r) => [r.scenario.name, r]));

  /** Inner frames packetwalk sent into vxlan0 on the first node that did, with the encapsulated frame on its NIC. */
  function encapsulations(r: ScenarioResult): { inner: Uint8Array; outer: Uint8Array }[] {
    const out: { inner: Uint8Array; outer: Uint8Array }[] = [];
    const nodes = [...r.emulation.nodes.values()];
    const first = r.recorder.frames.find(
      (f) => nodes.some((n) => n.vxlan0.tap === f.point) && f.direction === 'outbound',
    );
    const node = nodes.find((n) => n.vxlan0.tap === first?.point);
    if (!node) return out;
    for (const f of r.recorder.frames) {
      if (f.point !== node.vxlan0.tap || f.direction !== 'outbound') continue;
      const wire = nextFrameAt(r, f, node.nic.tap, 'outbound');
      if (f.bytes && wire?.bytes) out.push({ inner: f.bytes, outer: wire.bytes });
    }
    return out;
  }

  interface NatStep {
    kind: 'dnat' | 'unnat';
    label: string;
    inject: Uint8Array;
    want: Uint8Array;
  }

  /**
   * The frames to replay through the node's kernel, in capture order:
   *  - dnat: an IPv4 frame br0 handed to tun0 and the frame the kernel sent back into br0;
   *  - unnat: a reply br0 un-NATed with ct(nat) in the kernel conntrack it shares with iptables (it never
   *    crosses tun0 on a node). It is sent into the namespace's tun0 (destination MAC = tun0) so the kernel's
   *    conntrack sees the reply direction too, and its un-DNAT is compared with what br0 output.
   */
  function natSteps(r: ScenarioResult): { node: EmulatedNode; steps: NatStep[] } {
    const isIp = (b?: Uint8Array): b is Uint8Array => b !== undefined && b[12] === 0x08 && b[13] === 0x00;
    const node = [...r.emulation.nodes.values()].find((n) =>
      r.recorder.frames.some((f) => f.point === n.tun0.tap && f.direction === 'inbound' && isIp(f.bytes)),
    );
    if (!node) throw new Error(`${r.scenario.name}: no tun0 received IPv4`);
    const steps: (NatStep & { at: number })[] = [];
    for (const f of r.recorder.frames) {
      if (f.point !== node.tun0.tap || f.direction !== 'inbound' || !isIp(f.bytes)) continue;
      const back = nextFrameAt(r, f, node.tun0.tap, 'outbound');
      if (back?.bytes)
        steps.push({
          kind: 'dnat',
          label: `frame ${f.number} into tun0`,
          inject: f.bytes,
          want: back.bytes,
          at: f.number,
        });
    }
    const vethTaps = new Set([...node.pods.values()].map((p) => p.veth.tap));
    for (const e of br0Entries(r)) {
      if (e.node !== node.name || !isIp(e.bytes) || !e.passes.some((p) => /ct\([^)]*nat/.test(p.datapathActions)))
        continue;
      const out = r.recorder.frames.find(
        (f) =>
          f.walkIndex === e.frame.walkIndex &&
          f.number > e.frame.number &&
          vethTaps.has(f.point) &&
          f.direction === 'outbound',
      );
      if (!out?.bytes || hexOf(out.bytes, 26, 8) === hexOf(e.bytes, 26, 8)) continue; // not NATed
      const inject = Uint8Array.from(e.bytes);
      inject.set(Buffer.from(macToString(node.tun0.mac).replaceAll(':', ''), 'hex'), 0);
      steps.push({
        kind: 'unnat',
        label: `frame ${e.frame.number} (reply through br0 ct(nat))`,
        inject,
        want: out.bytes,
        at: e.frame.number,
      });
    }
    return { node, steps: steps.sort((a, b) => a.at - b.at) };
  }

  /** Build a/b with a vxlan device configured by `opts`, send the inner frames, return what b received. */
  async function kernelEncap(
    tag: string,
    sample: Uint8Array,
    inners: Uint8Array[],
    opts: string[],
  ): Promise<{ frames: Uint8Array[]; details: string }> {
    const a = ns.add(`${tag}a`),
      b = ns.add(`${tag}b`);
    const local = ipAt(sample, 26),
      remote = ipAt(sample, 30),
      vni = (sample[46]! << 16) | (sample[47]! << 8) | sample[48]!;
    ns.veth(a, 'ul-a', b, 'ul-b');
    ns.cmd('-n', a, 'link', 'set', 'ul-a', 'address', macAt(sample, 6), 'up');
    ns.cmd('-n', b, 'link', 'set', 'ul-b', 'address', macAt(sample, 0), 'up');
    ns.cmd('-n', a, 'addr', 'add', `${local}/24`, 'dev', 'ul-a');
    ns.cmd('-n', a, 'neigh', 'replace', remote, 'lladdr', macAt(sample, 0), 'dev', 'ul-a', 'nud', 'permanent');
    ns.cmd(
      '-n',
      a,
      'link',
      'add',
      'vx0',
      'type',
      'vxlan',
      'id',
      String(vni),
      'local',
      local,
      'remote',
      remote,
      'dstport',
      '4789',
      'dev',
      'ul-a',
      'nolearning',
      ...opts,
    );
    ns.cmd('-n', a, 'link', 'set', 'vx0', 'up');
    ns.noTxChecksum(a, 'ul-a');
    const details = ns.cmd('-n', a, '-d', 'link', 'show', 'vx0');
    const cap = ns.capture(b, 'ul-b', 'vxlan', inners.length);
    await cap.ready;
    ns.send(a, 'vx0', inners);
    return { frames: await cap.frames, details };
  }

  const cross = byName.get('pod-to-pod-cross-node');
  const pairs = cross ? encapsulations(cross) : [];

  it('pod-to-pod-cross-node has frames packetwalk encapsulated', () => {
    expect(cross, 'scenario pod-to-pod-cross-node').toBeDefined();
    expect(pairs.length).toBeGreaterThan(3);
  });

  it('with the OVS vport policy (df set, ttl 64, noudpcsum) the kernel encapsulates like packetwalk except IP ID and UDP source port', async () => {
    const { frames } = await kernelEncap(
      'ovs',
      pairs[0]!.outer,
      pairs.map((p) => p.inner),
      ['df', 'set', 'ttl', '64', 'noudpcsum'],
    );
    expect(frames.length, 'frames the kernel emitted').toBe(pairs.length);
    const seen = new Set<string>();
    frames.forEach((k, i) => {
      const ours = pairs[i]!.outer;
      const diffs = outerDifferences(k, ours);
      for (const d of diffs) seen.add(d.field);
      expect(
        diffs.filter((d) => !['ip.id', 'ip.checksum', 'udp.srcport'].includes(d.field)),
        `frame ${i + 1}`,
      ).toEqual([]);
      expect(outerIpChecksumOk(k) && outerIpChecksumOk(ours)).toBe(true);
      expect(hexOf(k, 40, 2), 'kernel UDP checksum with noudpcsum').toBe('0000');
      // Both pick the source port from a hash of the inner flow, in the namespace's ip_local_port_range
      // (32768..60999) for the kernel and OVS's 32768..60999 for packetwalk.
      for (const p of [udpSourcePort(k), udpSourcePort(ours)])
        expect(p >= 32768 && p < 61000, `source port ${p}`).toBe(true);
    });
    // The kernel hashes the inner flow: the same 5-tuple in both directions gives one port, as packetwalk's does.
    const ports = new Set(
      frames.filter((f) => f[OUTER_LEN + 12] === 0x08 && f[OUTER_LEN + 13] === 0x00).map(udpSourcePort),
    );
    expect(ports.size, 'kernel source ports for one TCP conversation').toBe(1);
    console.log(
      `kernel vxlan (df set ttl 64 noudpcsum): ${frames.length} frames; fields that differed: ${[...seen].join(', ') || 'none'}`,
    );
  }, 30_000);

  it('with the vxlan device defaults the kernel also clears DF and fills in a valid UDP checksum', async () => {
    const { frames, details } = await kernelEncap(
      'def',
      pairs[0]!.outer,
      pairs.map((p) => p.inner),
      [],
    );
    expect(frames.length).toBe(pairs.length);
    expect(details).toMatch(/\budpcsum\b/);
    expect(details).not.toMatch(/\bnoudpcsum\b/);
    const seen = new Set<string>();
    frames.forEach((k, i) => {
      const ours = pairs[i]!.outer;
      for (const d of outerDifferences(k, ours)) seen.add(d.field);
      expect(hexOf(k, 20, 2), 'kernel flags/fragment: DF clear').toBe('0000');
      expect(hexOf(ours, 20, 2), 'packetwalk flags/fragment: DF set').toBe('4000');
      expect(k[22], 'TTL').toBe(64);
      expect(outerUdpChecksumOk(k), 'kernel UDP checksum verifies').toBe(true);
      expect(hexOf(ours, 40, 2), 'packetwalk UDP checksum (OVS csum=false)').toBe('0000');
    });
    expect([...seen].sort()).toEqual(['ip.checksum', 'ip.flags_frag', 'ip.id', 'udp.checksum', 'udp.srcport']);
    console.log(
      `kernel vxlan (defaults): differs from packetwalk's OVS-vport policy in ${[...seen].sort().join(', ')}`,
    );
  }, 30_000);

  const natScenarios = runs.filter((r) => r.scenario.name.startsWith('pod-to-service'));
  it.skipIf(!iptablesRestore || natScenarios.length === 0).each(natScenarios.map((r) => [r.scenario.name, r] as const))(
    '%s: the kernel NATs every frame as packetwalk does (DNAT on tun0, un-DNAT of the replies)',
    async (name, r) => {
      const { node, steps } = natSteps(r);
      const tun0 = node.tun0;
      const tag = name.includes('cross') ? 'nx' : 'ns';
      const nodeNs = ns.add(`${tag}node`),
        brNs = ns.add(`${tag}br`);
      ns.veth(nodeNs, 'tun0', brNs, 'br0p');
      ns.cmd('-n', nodeNs, 'link', 'set', 'tun0', 'address', macToString(tun0.mac), 'up');
      ns.cmd('-n', brNs, 'link', 'set', 'br0p', 'up');
      for (const a of tun0.addresses)
        ns.cmd('-n', nodeNs, 'addr', 'add', `${ipv4ToString(a.ip)}/${a.prefix}`, 'dev', 'tun0', 'noprefixroute');
      const net = r.cluster.network;
      ns.cmd(
        '-n',
        nodeNs,
        'route',
        'add',
        `${ipv4ToString(net.clusterNetwork.network)}/${net.clusterNetwork.prefix}`,
        'dev',
        'tun0',
        'scope',
        'link',
      );
      ns.cmd(
        '-n',
        nodeNs,
        'route',
        'add',
        `${ipv4ToString(net.serviceNetwork.network)}/${net.serviceNetwork.prefix}`,
        'dev',
        'tun0',
      );
      ns.sh(nodeNs, 'echo 1 > /proc/sys/net/ipv4/ip_forward');
      // Static neighbours: every destination packetwalk's frames went to, with the MAC packetwalk used.
      for (const st of steps)
        ns.cmd(
          '-n',
          nodeNs,
          'neigh',
          'replace',
          ipAt(st.want, 30),
          'lladdr',
          macAt(st.want, 0),
          'dev',
          'tun0',
          'nud',
          'permanent',
        );
      ns.noTxChecksum(nodeNs, 'tun0');
      ns.noTxChecksum(brNs, 'br0p');
      ns.exec(nodeNs, [iptablesRestore!], iptablesSave(buildNodeRules(r.cluster, node.name)));

      const problems: string[] = [];
      let dnat = 0,
        unnat = 0;
      for (const st of steps) {
        const cap = ns.capture(brNs, 'br0p', 'ipv4', 1, 2);
        await cap.ready;
        ns.send(brNs, 'br0p', [st.inject]);
        const [k] = await cap.frames;
        if (!k) {
          problems.push(`${st.label}: the kernel sent nothing back`);
          continue;
        }
        if (st.kind === 'dnat') {
          dnat++;
          if (hexOf(k, 0, k.length) !== hexOf(st.want, 0, st.want.length))
            problems.push(
              `${st.label}: kernel ${hexOf(k, 0, k.length)} packetwalk ${hexOf(st.want, 0, st.want.length)}`,
            );
        } else {
          unnat++;
          // The kernel routed the reply (TTL - 1, new IP checksum, MACs of the route); packetwalk's br0 ct(nat)
          // switched it. Everything else, TCP checksum included, must be equal.
          const masked = Uint8Array.from(k);
          masked[22] = st.want[22]!;
          masked[24] = st.want[24]!;
          masked[25] = st.want[25]!;
          if (hexOf(masked, 14, masked.length) !== hexOf(st.want, 14, st.want.length))
            problems.push(
              `${st.label}: kernel ${hexOf(k, 14, k.length)} packetwalk ${hexOf(st.want, 14, st.want.length)}`,
            );
          if (k[22] !== st.want[22]! - 1)
            problems.push(`${st.label}: kernel TTL ${k[22]}, packetwalk ${st.want[22]} (expected one less)`);
          if (!outerIpChecksumOk(k)) problems.push(`${st.label}: kernel IPv4 checksum`);
        }
      }
      expect(problems).toEqual([]);
      expect(dnat).toBeGreaterThan(0);
      console.log(
        `kernel iptables (${name}): ${dnat} frames DNATed byte-identically, ${unnat} replies un-NATed identically (TTL aside)`,
      );
    },
    30_000,
  );
});
