/** `packetwalk cluster`: the cluster as 'oc get' prints it, or its objects as one List (--output yaml|json). */

import { formatTable } from '../cluster/tables.js';
import type { Cluster } from '../cluster/types.js';
import { exportClusterList } from '../state/export.js';
import { parse, UsageError } from './args.js';
import { clusterSource } from './cluster-source.js';

const TABLES = ['hostsubnets', 'netnamespaces', 'pods', 'services', 'clusternetwork'] as const;

/** `packetwalk cluster [TABLE...] [--output yaml|json]`. */
export function cmdCluster(args: string[]): number {
  const a = parse(args, { cluster: { type: 'string' }, output: { type: 'string', short: 'o' } });
  if (a.flag('help')) {
    process.stdout.write(
      `Usage: packetwalk cluster [${TABLES.join('|')}] [--cluster FILE] [--output yaml|json]\n\nShows the cluster as 'oc get' prints it; with --cluster, validates a cluster file first. --output yaml|json\nprints the cluster's objects as one 'oc get -o yaml' List (a state directory's objects, a cluster file).\n\nExamples:\n  packetwalk cluster hostsubnets\n  packetwalk cluster pods --cluster my-cluster.yaml\n  packetwalk cluster --output yaml > state/cluster.yaml\n`,
    );
    return 0;
  }
  const output = a.str('output');
  if (output !== undefined) {
    if (output !== 'yaml' && output !== 'json')
      throw new UsageError(`--output must be yaml or json, got ${JSON.stringify(output)}`);
    if (a.positionals.length) throw new UsageError('--output prints every object; leave out the table name');
    process.stdout.write(exportClusterList(clusterSource(a.str('cluster')).docs, output));
    return 0;
  }
  const cluster = loadCluster(a.str('cluster'));
  const which = a.positionals.length ? a.positionals : [...TABLES];
  for (const t of which) {
    if (!(TABLES as readonly string[]).includes(t))
      throw new UsageError(`unknown table ${JSON.stringify(t)}; one of ${TABLES.join(', ')}`);
  }
  process.stdout.write(
    which.map((t) => formatTable(cluster, t as (typeof TABLES)[number]).trimEnd() + '\n').join('\n'),
  );
  return 0;
}

function loadCluster(file: string | undefined): Cluster {
  return clusterSource(file).cluster;
}
