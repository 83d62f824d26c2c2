/** `packetwalk doctor` and `packetwalk collect`. */

import { doctor } from '../doctor/doctor.js';
import { hasProblems, renderDoctorText } from '../doctor/render.js';
import { collectScript } from '../state/collect.js';
import { loadStateDir } from '../state/state-dir.js';
import { intOption, parse, UsageError } from './args.js';

const DOCTOR_HELP = `Usage: packetwalk doctor --state DIR [--node NODE] [--no-walks] [--seed N] [--json]

Diagnoses a real OpenShift SDN cluster from files. DIR holds the cluster's objects as 'oc get -o yaml' or
'oc adm inspect' / must-gather write them (anywhere under DIR), and per node nodes/<node>/ with any of
dump-flows.txt, dump-groups.txt, iptables-save.txt, ip-route.json, ip-addr.json, conntrack.txt ('packetwalk
collect' prints the commands). For every node it lists what differs from what OpenShift SDN would program for
those objects (br0 flows and groups, iptables, routes), in the cluster's terms; then it walks the standard
matrix (pod to pod on a node and across every node pair, every node's pods to every service, egress via the
node IP and egress IPs, NodePorts) on the actual state and says which walks fail, where, and why.

Exit status: 0 nothing differs and every walk passes, 1 problems found, 2 bad input.

Options:
  --state DIR   the state directory (required)
  --node NODE   only this node's differences and the walks that start or end on it
  --no-walks    compare only
  --seed N      seed for the walks (ports, endpoint choice)
  --json        the report as JSON

Example:
  packetwalk doctor --state ./must-gather-sdn
`;

export function cmdDoctor(args: string[]): number {
  const a = parse(args, {
    state: { type: 'string' },
    node: { type: 'string' },
    json: { type: 'boolean' },
    seed: { type: 'string' },
    'no-walks': { type: 'boolean' },
  });
  if (a.flag('help')) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const dir = a.str('state');
  if (!dir) throw new UsageError('doctor needs --state DIR');
  const state = loadStateDir(dir);
  const node = a.str('node');
  if (node !== undefined && !state.cluster.hostSubnets.some((h) => h.name === node))
    throw new UsageError(
      `unknown node ${JSON.stringify(node)}; nodes: ${state.cluster.hostSubnets.map((h) => h.name).join(', ')}`,
    );
  const report = doctor(state, {
    node,
    seed: intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1,
    noWalks: a.flag('no-walks'),
  });
  process.stdout.write(a.flag('json') ? JSON.stringify(report, null, 1) + '\n' : renderDoctorText(report));
  return hasProblems(report) ? 1 : 0;
}

export function cmdCollect(args: string[]): number {
  const a = parse(args, { out: { type: 'string' }, namespaces: { type: 'string' } });
  if (a.flag('help')) {
    process.stdout.write(
      `Usage: packetwalk collect [--out DIR] [--namespaces NS,NS...]\n\nPrints a shell script of read-only oc commands that fills a state directory (default ./sdn-state) from a\nlive OpenShift SDN cluster: 'oc adm inspect' / 'oc get -o yaml' for the objects, and per node\n'oc -n openshift-sdn exec' into the ovs and sdn pods for dump-flows, dump-groups, iptables-save -c,\nip -j route/addr and conntrack -L. Review it, then run it with cluster-reader (objects) and exec rights\nin openshift-sdn:\n\n  packetwalk collect > collect.sh && sh collect.sh && packetwalk doctor --state sdn-state\n`,
    );
    return 0;
  }
  process.stdout.write(
    collectScript({ out: a.str('out') ?? 'sdn-state', namespaces: a.str('namespaces')?.split(',').filter(Boolean) }),
  );
  return 0;
}
