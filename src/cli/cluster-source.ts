/**
 * The cluster a command works on: a cluster file's objects (or the built-in cluster's), validated and built
 * once. Every command that takes `--cluster FILE` reads it through here.
 */

import { builtinClusterDocuments } from '../cluster/builtin.js';
import { buildCluster } from '../cluster/build.js';
import { loadClusterFile, readClusterFile, readClusterObjects } from '../cluster/load.js';
import type { Cluster } from '../cluster/types.js';

/** A cluster's documents as read, the file they came from, and the cluster built from them. */
export interface ClusterSource {
  /** The file's objects as parsed (what scenarios edit); for a file, read again on first use (see clusterSource). */
  readonly docs: object[];
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
  // Validate now (errors name document positions), before anything runs. The parsed documents are not kept: a big
  // file's take several times the memory of its Cluster, and only scenarios that edit them (and replays, and
  // `cluster --output`) need them, so those read the file again.
  const cluster = loadClusterFile(file);
  let docs: object[] | undefined;
  return {
    get docs(): object[] {
      return (docs ??= readClusterObjects(readClusterFile(file), file).map((o) => o.doc as object));
    },
    file,
    cluster,
  };
}
