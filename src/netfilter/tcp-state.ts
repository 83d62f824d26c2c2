/**
 * TCP connection tracking states and the transition table of Linux nf_conntrack_proto_tcp.c (tcp_conntracks),
 * indexed by direction, segment class and current state. Window tracking (tcp_in_window) is not modelled: every
 * segment is in window, as with nf_conntrack_tcp_be_liberal=1.
 */

export const TCP_NONE = 0;
export const TCP_SYN_SENT = 1;
export const TCP_SYN_RECV = 2;
export const TCP_ESTABLISHED = 3;
export const TCP_FIN_WAIT = 4;
export const TCP_CLOSE_WAIT = 5;
export const TCP_LAST_ACK = 6;
export const TCP_TIME_WAIT = 7;
export const TCP_CLOSE = 8;
export const TCP_SYN_SENT2 = 9;
/** Transition results that are not states. */
export const TCP_INVALID = 10;
export const TCP_IGNORE = 11;

/** Names as `conntrack -L` prints them. */
export const TCP_STATE_NAMES = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
] as const;

// Segment classes (get_conntrack_index): RST wins, then SYN (with or without ACK), then FIN, then ACK.
const SEG_SYN = 0,
  SEG_SYNACK = 1,
  SEG_FIN = 2,
  SEG_ACK = 3,
  SEG_RST = 4,
  SEG_NONE = 5;

const TH_FIN = 0x01,
  TH_SYN = 0x02,
  TH_RST = 0x04,
  TH_ACK = 0x10;

/** The segment class of TCP flags. */
export function tcpSegmentClass(flags: number): number {
  if (flags & TH_RST) return SEG_RST;
  if (flags & TH_SYN) return flags & TH_ACK ? SEG_SYNACK : SEG_SYN;
  if (flags & TH_FIN) return SEG_FIN;
  if (flags & TH_ACK) return SEG_ACK;
  return SEG_NONE;
}
export const TCP_SEG_SYN = SEG_SYN;
export const TCP_SEG_RST = SEG_RST;
export const TCP_SEG_ACK = SEG_ACK;

const sNO = TCP_NONE,
  sSS = TCP_SYN_SENT,
  sSR = TCP_SYN_RECV,
  sES = TCP_ESTABLISHED,
  sFW = TCP_FIN_WAIT,
  sCW = TCP_CLOSE_WAIT,
  sLA = TCP_LAST_ACK,
  sTW = TCP_TIME_WAIT,
  sCL = TCP_CLOSE,
  sS2 = TCP_SYN_SENT2,
  sIV = TCP_INVALID,
  sIG = TCP_IGNORE;
void sNO;

// [direction][segment class][state]; columns are sNO sSS sSR sES sFW sCW sLA sTW sCL sS2 (kernel order).
const TABLE: readonly (readonly (readonly number[])[])[] = [
  [
    // ORIGINAL
    /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
    /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
    /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
    /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
  [
    // REPLY
    /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
    /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
    /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
];

/** Next state for a segment of class `seg` in direction `dir` (0 original, 1 reply); may be TCP_INVALID/IGNORE. */
export function tcpNextState(dir: number, seg: number, state: number): number {
  return TABLE[dir]![seg]![state]!;
}

/**
 * State of a new connection from its first segment (tcp_new): a SYN starts SYN_SENT; with nf_conntrack_tcp_loose=1
 * (the default) a bare ACK is picked up mid-stream as ESTABLISHED; anything else is INVALID.
 */
export function tcpNewState(seg: number): number {
  return TABLE[0]![seg]![TCP_NONE]!;
}
