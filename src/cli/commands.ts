/**
 * The commands: `packetwalk <command>` to the function that runs it. Each command parses its own options,
 * validates them (unknown option or bad value: UsageError), calls the library and prints.
 */

import { UsageError } from './args.js';
import { clusterSource } from './cluster-source.js';
import { cmdCluster } from './cluster-command.js';
import { cmdCollect, cmdDoctor } from './doctor.js';
import { cmdConntrack, cmdFlows, cmdIptables } from './node-commands.js';
import { cmdReplay } from './replay-command.js';
import { cmdRun } from './run-command.js';
import { cmdScenarios } from './scenarios-command.js';
import { cmdTrace } from './trace-command.js';

const HELP = `packetwalk — emulate the OpenShift SDN data path with real packet bytes

Usage: packetwalk <command> [options]

Commands:
  run [SCENARIO...|--all]   run scenarios; write pcapng, pcaps and traces per scenario
  scenarios                 list the scenarios with the seed figure each reproduces
  cluster [TABLE]           show the cluster like 'oc get' (hostsubnets, netnamespaces, pods, services, clusternetwork)
  trace --from A --to B     an ad-hoc walk between two endpoints, printed like ofproto/trace per bridge
  flows --node NODE         br0 flows of a node as 'ovs-ofctl -O OpenFlow13 dump-flows br0' prints them
  iptables --node NODE      the node's iptables rules in iptables-save format
  conntrack --node NODE     the node's conntrack table after a scenario, like 'conntrack -L'
  doctor --state DIR        diagnose a real cluster from files: what differs from OpenShift SDN, which walks fail
  collect                   print the (read-only) oc commands that fill a state directory from a live cluster
  replay FILE --at POINT    inject a capture (pcap/pcapng) at a pod, node NIC, gateway or external host

Run 'packetwalk <command> --help' for a command's options.
`;

/** Run `packetwalk <argv>`; resolves to the exit code (main.ts maps thrown errors to theirs). */
export async function runCommand(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    case 'run':
      return cmdRun(rest);
    case 'scenarios':
      return cmdScenarios(rest);
    case 'cluster':
      return cmdCluster(rest);
    case 'flows':
      return cmdFlows(rest);
    case 'trace':
      return cmdTrace(rest, clusterSource);
    case 'iptables':
      return cmdIptables(rest, clusterSource);
    case 'conntrack':
      return cmdConntrack(rest, clusterSource);
    case 'doctor':
      return cmdDoctor(rest);
    case 'collect':
      return cmdCollect(rest);
    case 'replay':
      return cmdReplay(rest, clusterSource);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)} (try 'packetwalk --help')`);
  }
}
