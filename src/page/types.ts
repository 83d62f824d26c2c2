/**
 * What walk.html is made from. `renderWalkPage(input)` takes only this plain data, so any command that
 * produced a walk — `run` (a scenario), `trace --html` (an ad-hoc walk), a replay of a capture, a walk from a
 * saved state — builds a WalkPageInput from what it has and gets the same page. `walkPageInput()` in
 * from-walk.ts builds one from a live Emulation's traced packets and a CaptureRecorder that kept frame bytes.
 */

/** One walk: its packets, each with the frames captured of it, and the picture. */
export interface WalkPageInput {
  /** Page heading, e.g. the scenario name or `trace project1/a -> svc/project1/b tcp/1433`. */
  title: string;
  /** One line under the heading (the scenario's figure, summary, cluster file and seed). */
  subtitle?: string;
  /** Short lines about the outcome (`flow ... -> ...: ok (TCP exchange complete ...)`). */
  notes?: { text: string; ok: boolean }[];
  /**
   * The path picture: an SVG document (path.svg's text). Elements of hops that end at frame N carry
   * `data-frame="N"`, so the page can highlight the selected hop (`renderPathSvg(.., { frameAttributes: true })`).
   */
  pictureSvg?: string;
  /** Every packet of the walk, ARP included, in walk order. */
  packets: WalkPagePacket[];
}

export interface WalkPagePacket {
  /** 1-based, as trace.txt numbers packets (`=== packet 3: ...`). */
  number: number;
  /** What it is (`TCP SYN 10.131.0.40:41174 > 172.30.72.7:1433`, `ARP request for 10.131.0.1`). */
  label: string;
  /** The host that made it. */
  origin: string;
  /** How it ended (`delivered at project1/server-1-ppl25`, `dropped at ...: reason`), or undefined. */
  outcome?: string;
  /** True when it was dropped. */
  dropped?: boolean;
  /** Its captures in time order; hop k (1-based) is the k-th capture. */
  hops: WalkPageHop[];
  /** What acted on the packet after its last capture (delivery, a drop, a later rule). */
  after?: WalkPageAction[];
}

/** One capture of a packet at one capture point. */
export interface WalkPageHop {
  /** 1-based frame number in walk.pcapng. */
  frame: number;
  /** Capture point as named in walk.pcapng (`worker-northeurope1-qt8l7/tun0`). */
  point: string;
  /** Host the capture point belongs to (node, pod `namespace/name`, gateway, external). */
  host: string;
  direction: 'inbound' | 'outbound';
  /** Virtual time of the capture, ns since the walk's start. */
  timeNs: number;
  /** The frame's bytes exactly as captured. */
  bytes: Uint8Array;
  /** The pcapng comment (the rule that moved the frame here), if any. */
  comment?: string;
  /** What acted on the packet between the previous capture of it (or its creation) and this one. */
  acted: WalkPageAction[];
}

export type WalkPageActionKind =
  | 'flow'
  | 'iptables'
  | 'route'
  | 'conntrack'
  | 'nat'
  | 'arp'
  | 'encap'
  | 'port'
  | 'drop'
  | 'deliver'
  | 'note';

/** One thing that acted on a packet. */
export interface WalkPageAction {
  kind: WalkPageActionKind;
  /** Host it happened on. */
  host?: string;
  /**
   * The rule or decision as its tool prints it: a br0 flow as `ovs-ofctl dump-flows` prints it, an iptables
   * rule as `iptables-save` does (`-A KUBE-SERVICES ...`), a route as `ip route`, a conntrack entry and state.
   */
  text: string;
  /** Where it lives: `br0 table 90`, `iptables nat table`, `routing table`, `conntrack zone 0`. */
  where?: string;
}

// ---- The decoded frame the page shows (built in Node by frame-fields.ts, rendered by the page) ----

/** One field of a layer, as a line of Wireshark's packet detail pane. */
export interface PageField {
  /** Display name (`Time to Live`). */
  name: string;
  /** Wireshark display-filter field name (`ip.ttl`); unique within its layer. */
  abbrev: string;
  /** Absolute byte range in the frame (a bit field covers the bytes that hold it). */
  offset: number;
  length: number;
  /** The value as shown (`64`, `0x4000`, `10.131.0.40`). */
  show: string;
  /** The value the display filter compares: a number, or a string for addresses. */
  value?: number | string;
  /** What the value means (`Don't fragment: Set`, `correct`, `Echo (ping) request`). */
  meaning?: string;
  /** Checksums: whether it verifies. */
  status?: 'good' | 'bad' | 'absent';
  children?: PageField[];
}

/** One protocol layer of a frame. */
export interface PageLayer {
  /** `eth`, `arp`, `ip`, `icmp`, `udp`, `tcp`, `vxlan`, `data`, `padding` (Wireshark's protocol names). */
  proto: string;
  /** The detail pane's layer line (`Internet Protocol Version 4, Src: 10.131.0.40, Dst: 172.30.72.7`). */
  title: string;
  offset: number;
  length: number;
  /** 0 for the outermost frame, 1 inside the first VXLAN header, ... */
  depth: number;
  fields: PageField[];
}
