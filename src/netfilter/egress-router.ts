/**
 * The NAT rules the legacy egress router pod installs in its own network namespace (openshift/images
 * egress/router/egress-router.sh, iptables version): traffic arriving on the SDN interface eth0 is DNATed to the
 * configured destination (per port, else the fallback IP), and everything leaving through macvlan0 is SNATed to
 * EGRESS_SOURCE, so the external host sees the egress router's macvlan address.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { EgressRouterConfig } from '../cluster/types.js';
import { Netfilter, type NetfilterOptions } from './evaluate.js';
import { ruleFromArgs } from './iptables-restore.js';
import { appendRule, emptyRuleset, ensureTable, type Ruleset } from './rules.js';

/** nat PREROUTING `-i eth0 [-p proto --dport port] -j DNAT --to-destination ip[:port]`; POSTROUTING SNAT. */
export function egressRouterRules(config: EgressRouterConfig): Ruleset {
  const rs = emptyRuleset();
  ensureTable(rs, 'nat');
  const perPort = config.destinations.filter((d) => d.port !== undefined);
  const fallback = config.destinations.filter((d) => d.port === undefined);
  for (const d of perPort) {
    const to = ipv4ToString(d.ip) + (d.targetPort !== undefined ? `:${d.targetPort}` : '');
    const proto = (d.protocol ?? 'TCP').toLowerCase();
    appendRule(
      rs,
      'nat',
      'PREROUTING',
      ruleFromArgs('nat', ['-i', 'eth0', '-p', proto, '--dport', String(d.port), '-j', 'DNAT', '--to-destination', to]),
    );
  }
  for (const d of fallback) {
    appendRule(
      rs,
      'nat',
      'PREROUTING',
      ruleFromArgs('nat', ['-i', 'eth0', '-j', 'DNAT', '--to-destination', ipv4ToString(d.ip)]),
    );
  }
  appendRule(
    rs,
    'nat',
    'POSTROUTING',
    ruleFromArgs('nat', ['-o', 'macvlan0', '-j', 'SNAT', '--to-source', ipv4ToString(config.source)]),
  );
  return rs;
}

/** The egress router pod's netfilter (its own conntrack), given the pod's SDN address. */
export function createEgressRouterNetfilter(
  config: EgressRouterConfig,
  podIp: number,
  opts: NetfilterOptions = {},
): Netfilter {
  return new Netfilter(egressRouterRules(config), {
    ...opts,
    interfaces: opts.interfaces ?? { eth0: [podIp], macvlan0: [config.source] },
  });
}
