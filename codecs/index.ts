/**
 * The codecs as one import: wire formats, checksums, the layer registry, the dissector and summaries.
 * (pcap/pcapng writers live in their own modules.)
 */

export * from './bytes.js';
export * from './checksum.js';
export * from './errors.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv4.js';
export * from './icmp.js';
export * from './udp.js';
export * from './tcp.js';
export * from './vxlan.js';
export * from './vxlan-encap.js';
export * from './registry.js';
export * from './dissect.js';
export * from './summary.js';
export * from './view.js';
