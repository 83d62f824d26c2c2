/**
 * Real frames captured from tools nobody on this project wrote, with their provenance. They are the independent
 * source for the codec goldens: every checksum in them was computed by Linux or Open vSwitch.
 */

import { fromHex as bufferFromHex } from '../../codecs/bytes.js';

/** Plain Uint8Array copies (Buffer#slice would share memory and let one test corrupt another's golden). */
function fromHex(text: string): Uint8Array {
  return Uint8Array.from(bufferFromHex(text));
}

/**
 * Linux 6.18 via tools/kernelref (`kernelref.py synth tcp`), research/kernel-reference.md:
 * 0a:58:0a:83:00:28 -> 0a:58:0a:80:02:18, 10.131.0.40:41000 -> 10.128.2.24:1433 SYN, 54 bytes (unpadded).
 */
export const KERNEL_SYN = fromHex(`
  0a580a800218 0a580a830028 0800                 # eth dst, src, IPv4
  4500 0028 1234 4000 4006 115a 0a830028 0a800218  # IPv4: len 40, id 0x1234, DF, ttl 64, TCP, csum 115a
  a028 0599 000003e8 00000000 5002 faf0 f405 0000  # TCP: 41000 -> 1433, seq 1000, off 5, SYN, win 64240, csum f405
`);

/**
 * The same SYN encapsulated by a Linux `vxlan` device (vni 7, local 192.168.0.4, remote 192.168.0.5, df unset,
 * udpcsum): outer headers as printed in research/kernel-reference.md (a), followed by the byte-identical inner
 * frame. The outer UDP checksum 9bfe covers the inner frame.
 */
export const KERNEL_VXLAN = fromHex(`
  0200c0a80005 0200c0a80004 0800                 # outer eth
  4500 005a ea4f 0000 4011 0eea c0a80004 c0a80005  # outer IPv4: len 90, id ea4f, no DF, ttl 64, UDP, csum 0eea
  a3be 12b5 0046 9bfe                            # UDP 41918 -> 4789, len 70, csum 9bfe
  08 000000 000007 00                            # VXLAN I, vni 7
  ${Buffer.from(KERNEL_SYN).toString('hex')}
`);

/**
 * Open vSwitch 3.1 kernel datapath tnl_push output (research/ovs-reference.md, `ovsref.sh inject veth3`):
 * 10.131.0.5:1234 -> 10.129.2.7:5678 UDP with 64 bytes 00..3f, VXLAN vni 0 from 192.168.0.5 to 192.168.0.6,
 * outer ID 0, DF, ttl 64, UDP source port 33963, outer UDP checksum 0. 156 bytes.
 */
export const OVS_VXLAN = fromHex(`
  0200c0a80006 0200c0a80005 0800                 # outer eth
  4500 008e 0000 4000 4011 b903 c0a80005 c0a80006  # outer IPv4: len 142, id 0, DF, ttl 64, UDP, csum b903
  84ab 12b5 007a 0000                            # UDP 33963 -> 4789, len 122, no checksum
  08 000000 000000 00                            # VXLAN I, vni 0
  0a580a830001 00000a830005 0800                 # inner eth
  4500 005c 0000 0000 4011 6382 0a830005 0a810207  # inner IPv4: len 92, id 0, ttl 64, UDP, csum 6382
  04d2 162e 0048 e94a                            # inner UDP 1234 -> 5678, len 72, csum e94a
  000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
  202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
`);

/**
 * Linux NAT round trip (kernelref `nat-roundtrip`, research/kernel-reference.md): the request after DNAT to
 * 10.128.2.24 and MASQUERADE to 198.51.100.1 (ttl 63), the server's SYN-ACK, and that reply after un-NAT.
 */
export const KERNEL_NAT_FORWARDED = fromHex(
  '0270776b00050270776b0002080045000028123440003f06f2cfc63364010a800218a0280599000003e8000000005002faf0d47b0000',
);
export const KERNEL_NAT_REPLY_SENT = fromHex(
  '0270776b00020270776b000508004500002800004000400604040a800218c63364010599a0285eed0001000003e95012ffff706d0000',
);
export const KERNEL_NAT_REPLY_DELIVERED = fromHex(
  '0a580a8300280270776b0001080045000028000040003f063d00ac1e48070a8300280599a0285eed0001000003e95012ffffa8690000',
);
