/**
 * kube-proxy's rules built once per cluster and shared by the nodes (sharedKubeProxy): each node's iptables-save is
 * the same as with its own copy, and counters stay each node's own (the first match in a shared chain gives the
 * node its own copy of that chain; the shared rules keep reading [0:0]).
 */

import { describe, expect, it } from 'vitest';
import { builtinCluster } from '../../src/cluster/builtin.js';
import { SharedChains } from '../../src/netfilter/compile.js';
import { Netfilter } from '../../src/netfilter/evaluate.js';
import { iptablesSave } from '../../src/netfilter/iptables-save.js';
import { buildNodeRules, createNodeNetfilter, sharedKubeProxy } from '../../src/netfilter/node-rules.js';
import { emptyRuleset } from '../../src/netfilter/rules.js';
import { NF_ACCEPT } from '../../src/runtime/netfilter-hooks.js';
import { parseIptablesSave } from '../../src/netfilter/iptables-restore.js';
import { smallCluster } from './cluster-fixture.js';
import { SYN, tcp } from './packets.js';

describe('kube-proxy rules shared by the nodes', () => {
  it('give every node of the built-in cluster the same iptables-save as its own copy', () => {
    const cluster = builtinCluster();
    const kp = sharedKubeProxy(cluster);
    for (const hs of cluster.hostSubnets) {
      const own = buildNodeRules(cluster, hs.name);
      const shared = buildNodeRules(cluster, hs.name, { kubeProxy: kp });
      expect(iptablesSave(shared, { counters: true })).toBe(iptablesSave(own, { counters: true }));
      // The same tables and chains in the same order (what a whole-graph comparison sees).
      expect([...shared.tables].map(([t, x]) => [t, [...x.chains.keys()]])).toEqual(
        [...own.tables].map(([t, x]) => [t, [...x.chains.keys()]]),
      );
    }
  });

  it('count per node: a service connection on one node leaves the other node and the shared rules at zero', () => {
    const cluster = smallCluster();
    const kp = sharedKubeProxy(cluster);
    const a = createNodeNetfilter(cluster, 'node-a', { seed: 3, kubeProxy: kp });
    const b = createNodeNetfilter(cluster, 'node-b', { seed: 3, kubeProxy: kp });
    const alone = createNodeNetfilter(cluster, 'node-a', { seed: 3 });
    const untouched = iptablesSave(b.ruleset, { counters: true });
    const sharedBefore = iptablesSave(kp.rules, { counters: true });
    for (const nf of [a, alone]) {
      for (let i = 0; i < 3; i++) {
        const p = tcp({ src: '10.128.0.9', dst: '172.30.82.94', sport: 40000 + i, dport: 80 }, SYN);
        expect(nf.prerouting(p.pkt, p.l3, 'tun0')).toBe(NF_ACCEPT);
      }
    }
    const counted = iptablesSave(a.ruleset, { counters: true });
    expect(counted).toBe(iptablesSave(alone.ruleset, { counters: true }));
    expect(counted).toMatch(/^\[3:120\] -A KUBE-SERVICES .*-j KUBE-SVC-/m);
    expect(iptablesSave(b.ruleset, { counters: true })).toBe(untouched);
    expect(iptablesSave(kp.rules, { counters: true })).toBe(sharedBefore);
  });

  it('are compiled again, not reused, for a ruleset that does not hold every shared chain as it is', () => {
    const cluster = smallCluster();
    const kp = sharedKubeProxy(cluster);
    const a = createNodeNetfilter(cluster, 'node-a', { seed: 3, kubeProxy: kp });
    // iptables-restore of the node's own rules: new Chain objects, so the node compiles them itself.
    a.load(parseIptablesSave(iptablesSave(a.ruleset)));
    const p = tcp({ src: '10.128.0.9', dst: '172.30.82.94', sport: 40000, dport: 80 }, SYN);
    expect(a.prerouting(p.pkt, p.l3, 'tun0')).toBe(NF_ACCEPT);
    expect(iptablesSave(kp.rules, { counters: true })).not.toMatch(/^\[[1-9]/m);
    expect(new Netfilter(emptyRuleset(), { shared: new SharedChains(emptyRuleset()) }).ruleset.tables.size).toBe(0);
    // Its own Ruleset loaded again once a shared chain was copied: the rest of the shared chains are copied too.
    const b = createNodeNetfilter(cluster, 'node-b', { seed: 3, kubeProxy: kp });
    const q = tcp({ src: '10.128.0.9', dst: '172.30.82.94', sport: 40001, dport: 80 }, SYN);
    expect(b.prerouting(q.pkt, q.l3, 'tun0')).toBe(NF_ACCEPT);
    b.load(b.ruleset);
    const r = tcp({ src: '10.128.0.9', dst: '172.30.82.94', sport: 40002, dport: 80 }, SYN);
    expect(b.prerouting(r.pkt, r.l3, 'tun0')).toBe(NF_ACCEPT);
    expect(iptablesSave(b.ruleset, { counters: true })).toMatch(/^\[2:80\] -A KUBE-SERVICES -d 172\.30\.82\.94/m);
    expect(iptablesSave(kp.rules, { counters: true })).not.toMatch(/^\[[1-9]/m);
  });
});
