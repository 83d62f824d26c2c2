/**
 * A cluster's objects as one `oc get -o yaml` List (`apiVersion: v1`, `items`, `kind: List`, empty
 * resourceVersion), the shape a state directory and a cluster file read back.
 */

import { stringify } from 'yaml';

export function exportClusterList(docs: readonly object[], format: 'yaml' | 'json'): string {
  const list = { apiVersion: 'v1', items: docs, kind: 'List', metadata: { resourceVersion: '' } };
  return format === 'json' ? JSON.stringify(list, null, 4) + '\n' : stringify(list, { lineWidth: 0 });
}
