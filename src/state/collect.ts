/**
 * The shell script `packetwalk collect` prints: read-only oc commands that fill a state directory from a live
 * cluster. Objects with `oc get -o yaml` (cluster-scoped SDN objects, and pods/services/endpoints/policies
 * across namespaces), per node the dumps from the ovs pod (ovs-ofctl) and the sdn pod (iptables-save, ip,
 * conntrack), the way OpenShift's own gather scripts reach them (`oc -n openshift-sdn exec`). It changes nothing.
 */

export interface CollectOptions {
  out: string;
  /** Limit namespaced objects to these namespaces (default: all). */
  namespaces?: string[];
}

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function collectScript(o: CollectOptions): string {
  const ns = o.namespaces?.length ? o.namespaces : undefined;
  const namespaced = ['pods', 'services', 'endpoints', 'networkpolicies', 'egressnetworkpolicies'];
  const lines = [
    '#!/bin/sh',
    '# Fills a packetwalk state directory from a live OpenShift SDN cluster. Read-only: oc get / oc adm inspect',
    '# and commands that only print (ovs-ofctl dump-*, iptables-save, ip, conntrack -L) inside the SDN pods.',
    '# Needs: oc logged in with cluster-reader and exec rights in openshift-sdn.',
    'set -eu',
    `OUT=${q(o.out)}`,
    'mkdir -p "$OUT/objects" "$OUT/nodes"',
    '',
    '# Cluster objects (any YAML under $OUT is read; an `oc adm must-gather` or `oc adm inspect` tree works too).',
    'oc get clusternetwork default -o yaml > "$OUT/objects/clusternetwork.yaml"',
    'oc get hostsubnets -o yaml > "$OUT/objects/hostsubnets.yaml"',
    'oc get netnamespaces -o yaml > "$OUT/objects/netnamespaces.yaml"',
    'oc get namespaces -o yaml > "$OUT/objects/namespaces.yaml"',
  ];
  if (ns) {
    for (const n of ns)
      lines.push(
        `oc adm inspect --dest-dir "$OUT/inspect" ns/${q(n).slice(1, -1)} >/dev/null`,
        `oc -n ${q(n)} get ${namespaced.join(',')} -o yaml > "$OUT/objects/ns-${n.replace(/[^A-Za-z0-9_.-]/g, '_')}.yaml"`,
      );
  } else {
    lines.push(`oc get ${namespaced.join(',')} -A -o yaml > "$OUT/objects/namespaced.yaml"`);
  }
  lines.push(
    '',
    "# Per node: the ovs pod runs ovs-ofctl against br0, the sdn pod (host network) sees the node's iptables,",
    '# routes, addresses and conntrack table.',
    "for node in $(oc get hostsubnets -o jsonpath='{.items[*].host}'); do",
    '  d="$OUT/nodes/$node"; mkdir -p "$d"',
    '  ovs=$(oc -n openshift-sdn get pods -l app=ovs --field-selector spec.nodeName="$node" -o jsonpath=\'{.items[0].metadata.name}\')',
    '  sdn=$(oc -n openshift-sdn get pods -l app=sdn --field-selector spec.nodeName="$node" -o jsonpath=\'{.items[0].metadata.name}\')',
    '  oc -n openshift-sdn exec "$ovs" -- ovs-ofctl -O OpenFlow13 dump-flows br0 > "$d/dump-flows.txt"',
    '  oc -n openshift-sdn exec "$ovs" -- ovs-ofctl -O OpenFlow13 dump-groups br0 > "$d/dump-groups.txt"',
    '  oc -n openshift-sdn exec -c sdn "$sdn" -- iptables-save -c > "$d/iptables-save.txt"',
    '  oc -n openshift-sdn exec -c sdn "$sdn" -- ip -j route show table all > "$d/ip-route.json"',
    '  oc -n openshift-sdn exec -c sdn "$sdn" -- ip -j addr > "$d/ip-addr.json"',
    '  oc -n openshift-sdn exec -c sdn "$sdn" -- conntrack -L > "$d/conntrack.txt" 2>/dev/null || rm -f "$d/conntrack.txt"',
    'done',
    'echo "state directory: $OUT (packetwalk doctor --state $OUT)"',
    '',
  );
  return lines.join('\n');
}
