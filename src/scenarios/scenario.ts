/**
 * A scenario: a named walk on the built-in cluster (or a user's), reproducing one figure of the seed articles.
 * It may add objects to the cluster (an egress IP, a policy, an egress-router pod) — only for itself.
 */

import type { Cluster } from '../cluster/types.js';
import type { FlowSpec } from '../walk/flow.js';

export interface Scenario {
  /** Fixed name used on the command line and as the output folder. */
  name: string;
  /** Which seed figure it reproduces, e.g. `openshift-sdn-packet-flow fig. 2`. */
  figure: string;
  /** One line: what the walk shows. */
  summary: string;
  /**
   * Edit the cluster's documents for this scenario only (add an egress IP, a policy, an egress-router pod), with
   * the pure helpers of cluster/edit.ts. Receives copies; other scenarios never see the change.
   */
  editDocuments?: (docs: readonly object[]) => object[];
  /** The conversations to run, in order. */
  flows(cluster: Cluster): FlowSpec[];
  /** 'complete': every flow must complete; 'blocked': the first flow must be dropped (policy scenarios). */
  expect: 'complete' | 'blocked';
}

/** The cluster lacks something the scenario needs (a pod, a service, a node): it cannot run there. */
export class ScenarioUnavailable extends Error {
  constructor(
    readonly need: string,
    readonly scenario = '',
  ) {
    super(`scenario ${scenario || '(unnamed)'} cannot run on this cluster: it needs ${need}`);
    this.name = 'ScenarioUnavailable';
  }
}
