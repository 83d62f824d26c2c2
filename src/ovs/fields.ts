/**
 * The flow key layout and the match fields of br0, as in Open vSwitch's `struct flow` and ovs-fields(7).
 *
 * A flow key is an Int32Array of 32-bit words (one or two per field; 48- and 64-bit fields are split into hi/lo
 * words), so matching is `(key[w] & mask[w]) === value[w]` per word and a whole key can be hashed without
 * allocating. Fields share words exactly where OVS shares them: arp_spa/arp_tpa live in nw_src/nw_dst, arp_op
 * in nw_proto, icmp_type/icmp_code in tp_src/tp_dst.
 */

export const W_IN_PORT = 0;
export const W_DL_SRC_HI = 1; // top 16 bits of the MAC
export const W_DL_SRC_LO = 2; // low 32 bits
export const W_DL_DST_HI = 3;
export const W_DL_DST_LO = 4;
export const W_DL_TYPE = 5;
export const W_NW_SRC = 6;
export const W_NW_DST = 7;
export const W_NW_PROTO = 8;
/** The whole IPv4 TOS byte: DSCP << 2 | ECN. nw_tos matches the DSCP part, nw_ecn the low two bits. */
export const W_NW_TOS = 9;
export const W_NW_TTL = 10;
export const W_NW_FRAG = 11;
export const W_TP_SRC = 12;
export const W_TP_DST = 13;
export const W_ARP_SHA_HI = 14;
export const W_ARP_SHA_LO = 15;
export const W_ARP_THA_HI = 16;
export const W_ARP_THA_LO = 17;
export const W_REG0 = 18; // reg0..reg7 = 18..25
export const W_TUN_ID_HI = 26;
export const W_TUN_ID_LO = 27;
export const W_TUN_SRC = 28;
export const W_TUN_DST = 29;
export const W_CT_STATE = 30;
export const W_CT_MARK = 31;
export const W_CT_ZONE = 32;
export const W_PKT_MARK = 33;
/** Words that take part in matching. */
export const N_MATCH_WORDS = 34;
/** Not matched: absolute offset of the IPv4 header in the buffer (-1 when the frame is not valid IPv4). */
export const W_L3_OFS = 34;
/** Not matched: absolute offset of the TCP/UDP/ICMP header (-1 when absent). */
export const W_L4_OFS = 35;
export const N_KEY_WORDS = 36;

export const N_REGS = 8;

/** nw_frag bits (OVS FLOW_NW_FRAG_ANY / FLOW_NW_FRAG_LATER). */
export const FRAG_ANY = 1;
export const FRAG_LATER = 2;

export const ETH_TYPE_IP = 0x0800;
export const ETH_TYPE_ARP = 0x0806;
export const ETH_TYPE_RARP = 0x8035;
export const ETH_TYPE_IPV6 = 0x86dd;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

/** OpenFlow reserved port numbers (OF1.0 16-bit numbering, as ovs-ofctl prints them). */
export const OFPP_IN_PORT = 0xfff8;
export const OFPP_LOCAL = 0xfffe;
export const OFPP_NONE = 0xffff;

/** ct_state flag names in bit order (ovs-fields(7)); bit i = 1 << i. */
export const CT_STATE_NAMES = ['new', 'est', 'rel', 'rpl', 'inv', 'trk', 'snat', 'dnat'] as const;
export const CT_STATE_ALL = 0xff;

/** A new zeroed flow key. Allocate once per bridge, never per packet. */
export function newFlowKey(): Int32Array {
  return new Int32Array(N_KEY_WORDS);
}

/** Prerequisite a match field needs in the same flow (OVS `enum mf_prereqs`). */
export type Prereq = 'none' | 'ip' | 'arp' | 'ip-or-arp' | 'l4' | 'icmp';

/** How a field's value is written in flow text. */
export type FieldSyntax = 'mac' | 'ipv4' | 'u8' | 'u16' | 'u32' | 'u64' | 'port' | 'ct_state' | 'frag' | 'dscp';

/** One match field: where it lives in the key and how it is written. */
export interface MatchFieldSpec {
  /** Canonical name used when printing (`nw_src`; ARP flows print arp_spa instead, see match.ts). */
  name: string;
  syntax: FieldSyntax;
  /** First key word; 48/64-bit fields use word (hi) and word + 1 (lo). */
  word: number;
  /** Bits of the field (for masks and range checks). */
  bits: number;
  /** Low bit inside the word (nw_ecn lives in bits 0-1 of the TOS word, nw_tos in bits 2-7). */
  shift: number;
  prereq: Prereq;
  /** Whether `value/mask` is accepted. */
  maskable: boolean;
}

function spec(
  name: string,
  syntax: FieldSyntax,
  word: number,
  bits: number,
  prereq: Prereq,
  maskable: boolean,
  shift = 0,
): MatchFieldSpec {
  return { name, syntax, word, bits, shift, prereq, maskable };
}

const IN_PORT = spec('in_port', 'port', W_IN_PORT, 16, 'none', false);
const DL_SRC = spec('dl_src', 'mac', W_DL_SRC_HI, 48, 'none', true);
const DL_DST = spec('dl_dst', 'mac', W_DL_DST_HI, 48, 'none', true);
const DL_TYPE = spec('dl_type', 'u16', W_DL_TYPE, 16, 'none', false);
const NW_SRC = spec('nw_src', 'ipv4', W_NW_SRC, 32, 'ip-or-arp', true);
const NW_DST = spec('nw_dst', 'ipv4', W_NW_DST, 32, 'ip-or-arp', true);
const NW_PROTO = spec('nw_proto', 'u8', W_NW_PROTO, 8, 'ip', false);
const ARP_OP = spec('arp_op', 'u16', W_NW_PROTO, 8, 'arp', false);
const NW_TOS = spec('nw_tos', 'u8', W_NW_TOS, 8, 'ip', false);
const IP_DSCP = spec('ip_dscp', 'dscp', W_NW_TOS, 6, 'ip', false, 2);
const NW_ECN = spec('nw_ecn', 'u8', W_NW_TOS, 2, 'ip', false);
const NW_TTL = spec('nw_ttl', 'u8', W_NW_TTL, 8, 'ip', false);
const NW_FRAG = spec('nw_frag', 'frag', W_NW_FRAG, 2, 'ip', false);
const TP_SRC = spec('tp_src', 'u16', W_TP_SRC, 16, 'l4', true);
const TP_DST = spec('tp_dst', 'u16', W_TP_DST, 16, 'l4', true);
const ICMP_TYPE = spec('icmp_type', 'u8', W_TP_SRC, 8, 'icmp', false);
const ICMP_CODE = spec('icmp_code', 'u8', W_TP_DST, 8, 'icmp', false);
const ARP_SHA = spec('arp_sha', 'mac', W_ARP_SHA_HI, 48, 'arp', true);
const ARP_THA = spec('arp_tha', 'mac', W_ARP_THA_HI, 48, 'arp', true);
const TUN_ID = spec('tun_id', 'u64', W_TUN_ID_HI, 64, 'none', true);
const TUN_SRC = spec('tun_src', 'ipv4', W_TUN_SRC, 32, 'none', true);
const TUN_DST = spec('tun_dst', 'ipv4', W_TUN_DST, 32, 'none', true);
const CT_STATE = spec('ct_state', 'ct_state', W_CT_STATE, 32, 'none', true);
const CT_MARK = spec('ct_mark', 'u32', W_CT_MARK, 32, 'none', true);
const CT_ZONE = spec('ct_zone', 'u16', W_CT_ZONE, 16, 'none', true);
const PKT_MARK = spec('pkt_mark', 'u32', W_PKT_MARK, 32, 'none', true);

/** Every name ovs-ofctl accepts for a field we support, mapped to its spec. */
export const MATCH_FIELDS: ReadonlyMap<string, MatchFieldSpec> = new Map<string, MatchFieldSpec>([
  ['in_port', IN_PORT],
  ['dl_src', DL_SRC],
  ['eth_src', DL_SRC],
  ['dl_dst', DL_DST],
  ['eth_dst', DL_DST],
  ['dl_type', DL_TYPE],
  ['eth_type', DL_TYPE],
  ['nw_src', NW_SRC],
  ['ip_src', NW_SRC],
  ['arp_spa', NW_SRC],
  ['nw_dst', NW_DST],
  ['ip_dst', NW_DST],
  ['arp_tpa', NW_DST],
  ['nw_proto', NW_PROTO],
  ['ip_proto', NW_PROTO],
  ['arp_op', ARP_OP],
  ['nw_tos', NW_TOS],
  ['ip_dscp', IP_DSCP],
  ['nw_ecn', NW_ECN],
  ['ip_ecn', NW_ECN],
  ['nw_ttl', NW_TTL],
  ['nw_frag', NW_FRAG],
  ['ip_frag', NW_FRAG],
  ['tp_src', TP_SRC],
  ['tcp_src', TP_SRC],
  ['udp_src', TP_SRC],
  ['sctp_src', TP_SRC],
  ['tp_dst', TP_DST],
  ['tcp_dst', TP_DST],
  ['udp_dst', TP_DST],
  ['sctp_dst', TP_DST],
  ['icmp_type', ICMP_TYPE],
  ['icmp_code', ICMP_CODE],
  ['arp_sha', ARP_SHA],
  ['arp_tha', ARP_THA],
  ['tun_id', TUN_ID],
  ['tunnel_id', TUN_ID],
  ['tun_src', TUN_SRC],
  ['tun_dst', TUN_DST],
  ['ct_state', CT_STATE],
  ['ct_mark', CT_MARK],
  ['ct_zone', CT_ZONE],
  ['pkt_mark', PKT_MARK],
  ...Array.from({ length: N_REGS }, (_, i): [string, MatchFieldSpec] => [
    `reg${i}`,
    spec(`reg${i}`, 'u32', W_REG0 + i, 32, 'none', true),
  ]),
]);

/** Protocol shorthands: `ip` = dl_type=0x0800, `tcp` = ip + nw_proto=6, ... */
export const PROTOCOL_SHORTHANDS: ReadonlyMap<string, { dlType: number; nwProto?: number }> = new Map([
  ['ip', { dlType: ETH_TYPE_IP }],
  ['arp', { dlType: ETH_TYPE_ARP }],
  ['rarp', { dlType: ETH_TYPE_RARP }],
  ['ipv6', { dlType: ETH_TYPE_IPV6 }],
  ['icmp', { dlType: ETH_TYPE_IP, nwProto: IPPROTO_ICMP }],
  ['tcp', { dlType: ETH_TYPE_IP, nwProto: IPPROTO_TCP }],
  ['udp', { dlType: ETH_TYPE_IP, nwProto: IPPROTO_UDP }],
  ['sctp', { dlType: ETH_TYPE_IP, nwProto: IPPROTO_SCTP }],
]);

/** The shorthand OVS prints for an IPv4 nw_proto (match_format), if any. */
export function ipProtoShorthand(proto: number): string | undefined {
  switch (proto) {
    case IPPROTO_ICMP:
      return 'icmp';
    case 2:
      return 'igmp';
    case IPPROTO_TCP:
      return 'tcp';
    case IPPROTO_UDP:
      return 'udp';
    case IPPROTO_SCTP:
      return 'sctp';
    default:
      return undefined;
  }
}
