/**
 * The hop-by-hop record of one traced packet: a tree of typed nodes, rendered as text in the style of
 * `ovs-appctl ofproto/trace` and as JSON. Only packets with `traced = true` record anything.
 */

export type TraceKind =
  | 'port' // the packet crossed a port / capture point (veth, tun0, vxlan0, eth0 ...)
  | 'bridge' // entering an OVS bridge
  | 'table' // an OpenFlow table lookup: matched flow or "No match."
  | 'action' // one action executed
  | 'ct' // conntrack lookup/commit (OVS ct() or netfilter)
  | 'nat' // an address/port rewrite
  | 'netfilter' // an iptables chain/rule decision
  | 'route' // a kernel routing decision
  | 'encap' // VXLAN encapsulation / decapsulation
  | 'arp' // ARP resolution
  | 'detail' // free text
  | 'warn'
  | 'drop' // the packet was dropped (reason given)
  | 'deliver' // the packet reached its destination socket/host
  | 'error';

export interface TraceNode {
  kind: TraceKind;
  /** One line of text, already formatted (e.g. ` 0. ct_state=-trk,ip, priority 1000`). */
  text: string;
  /** The node (host) this happened on, when known. */
  node?: string;
  /** Structured fields for JSON consumers (table number, priority, port name, addresses ...). */
  data?: Record<string, string | number | boolean>;
  children?: TraceNode[];
}

/** Collects TraceNodes for one packet; nested scopes become children. */
export class TraceRecorder {
  readonly root: TraceNode[] = [];
  /** Every node in the order it was added (the tree flattened in time order). */
  readonly ordered: TraceNode[] = [];
  /**
   * One entry per capture of this packet, in capture order: how many nodes had been added when the frame was
   * recorded. The nodes between two marks are what acted on the packet between those two captures (walk.html).
   * Kept beside the tree, so trace.txt and trace.json do not change.
   */
  readonly captureMarks: number[] = [];
  private stack: TraceNode[][] = [this.root];

  add(kind: TraceKind, text: string, data?: TraceNode['data'], node?: string): TraceNode {
    const n: TraceNode = { kind, text };
    if (node !== undefined) n.node = node;
    if (data !== undefined) n.data = data;
    this.stack[this.stack.length - 1]!.push(n);
    this.ordered.push(n);
    return n;
  }

  /** Note that the packet was captured now (called by the runtime for each captured copy). */
  markCapture(): void {
    this.captureMarks.push(this.ordered.length);
  }

  /** Add a node and make following adds its children until `close()`. */
  open(kind: TraceKind, text: string, data?: TraceNode['data'], node?: string): TraceNode {
    const n = this.add(kind, text, data, node);
    n.children = [];
    this.stack.push(n.children);
    return n;
  }

  close(): void {
    if (this.stack.length > 1) this.stack.pop();
  }
}
