/**
 * The cluster a command works on: a cluster file's objects (or the built-in cluster's), validated and built
 * once. Every command that takes `--cluster FILE` reads it through here.
 */

import { builtinClusterDocuments } from '../cluster/builtin.js';
import { buildCluster, buildFromSources } from '../cluster/build.js';
import { readClusterFile, readClusterObjects } from '../cluster/load.js';
import type { Cluster } from '../cluster/types.js';

/** A cluster's documents as read, the file they came from, and the cluster built from them. */
export interface ClusterSource {
  docs: object[];
  file: string;
  /** The documents built and validated (built once: a big file takes seconds). */
  cluster: Cluster;
}

/** Read and build `file`, or the built-in cluster when no file is given. */
export function clusterSource(file: string | undefined): ClusterSource {
  if (!file) {
    const docs = builtinClusterDocuments();
    return { docs, file: '<builtin>', cluster: buildCluster(docs, '<builtin>') };
  }
  const sources = readClusterObjects(readClusterFile(file), file);
  const cluster = buildFromSources(sources, file); // validate now (errors name document positions), before anything runs
  return { docs: sources.map((o) => o.doc as object), file, cluster };
}
