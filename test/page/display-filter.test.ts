/**
 * The page's display-filter language: what matches, what does not, and the errors a user sees.
 */

import { describe, expect, it } from 'vitest';
import { compileDisplayFilter, type FilterFields } from '../../src/page/display-filter.js';
import { PAGE_FILTER_NAMES } from '../../src/page/frame-fields.js';

// A VXLAN frame's fields: both IPv4 headers count for ip.addr, as in Wireshark.
const VXLAN_SYN: FilterFields = {
  eth: [1, 1],
  ip: [1, 1],
  udp: [1],
  vxlan: [1],
  tcp: [1],
  'ip.src': ['192.168.0.4', '10.131.0.40'],
  'ip.dst': ['192.168.0.5', '10.128.2.24'],
  'ip.ttl': [64, 63],
  'udp.srcport': [46642],
  'udp.dstport': [4789],
  'vxlan.vni': [5999645],
  'tcp.srcport': [41174],
  'tcp.dstport': [1433],
  'tcp.flags.syn': [1],
  'tcp.flags.ack': [0],
  'eth.src': ['00:0d:3a:ac:39:9b', 'f6:0d:bc:1f:a8:e2'],
  'frame.interface_name': ['worker-northeurope1-qt8l7/eth0'],
};
const ARP: FilterFields = {
  eth: [1],
  arp: [1],
  'arp.opcode': [1],
  'arp.src.proto_ipv4': ['10.131.0.40'],
  'arp.dst.proto_ipv4': ['10.131.0.1'],
};

function matches(text: string, f: FilterFields): boolean {
  const c = compileDisplayFilter(text, PAGE_FILTER_NAMES);
  if (!c.ok) throw new Error(`${text}: ${c.error}`);
  return c.test(f);
}

describe('display filter', () => {
  it.each([
    ['', true, true],
    ['arp', false, true],
    ['!arp', true, false],
    ['not arp', true, false],
    ['ip.addr == 10.131.0.40', true, false],
    ['ip.addr == 192.168.0.5', true, false],
    ['ip.addr == 10.128.0.0/14', true, false],
    ['ip.addr == 10.0.0.0/16', false, false],
    ['ip.src == 10.128.2.24', false, false],
    ['tcp.port == 1433', true, false],
    ['tcp.port == 1434', false, false],
    ['udp.port == 4789 && vxlan.vni == 5999645', true, false],
    ['vxlan.vni == 0x5b8c1d', true, false],
    ['vxlan.vni eq 1', false, false],
    ['ip.ttl < 64', true, false],
    ['ip.ttl > 64', false, false],
    ['ip.ttl >= 64 and tcp.flags.syn == 1', true, false],
    ['tcp.flags.ack == 1', false, false],
    ['arp || tcp.port == 1433', true, true],
    ['!(arp || vxlan)', false, false],
    ['arp.addr == 10.131.0.1', false, true],
    ['eth.addr == F6:0D:BC:1F:A8:E2', true, false],
    ['ip.addr != 10.131.0.40', false, true],
    ['frame.interface_name contains "qt8l7/eth0"', true, false],
    ['frame.interface_name == "worker-northeurope1-qt8l7/eth0"', true, false],
  ])('%s', (text, vxlan, arp) => {
    expect(matches(text, VXLAN_SYN)).toBe(vxlan);
    expect(matches(text, ARP)).toBe(arp);
  });

  it.each([
    ['ip.addr ==', 'expected a value after "=="', 10],
    ['ip.adr == 1.2.3.4', 'unknown field or protocol "ip.adr"', 0],
    ['ip.addr = 1.2.3.4', '"=" is not an operator (use "==")', 8],
    ['(arp', 'missing ")"', 4],
    ['arp)', 'unexpected ")"', 3],
    ['arp &&', 'expected a field name', 6],
    ['ip.addr == 10.1.2.300', '"10.1.2.300" is not an IPv4 address', 11],
    ['tcp.port < "x"', '"<" compares numbers, not text', 11],
    ['frame.interface_name contains "eth0', 'unterminated string', 30],
    ['ip.ttl == 64 # x', 'unexpected character "#"', 13],
  ])('%s is an error: %s', (text, error, at) => {
    expect(compileDisplayFilter(text, PAGE_FILTER_NAMES)).toEqual({ ok: false, error, at });
  });

  it('is self-contained, so the page can inline it by its source text', () => {
    const fn = new Function(`return (${compileDisplayFilter.toString()})`)() as typeof compileDisplayFilter;
    const c = fn('tcp.port == 1433 && !arp', PAGE_FILTER_NAMES);
    expect(c.ok && c.test(VXLAN_SYN)).toBe(true);
  });
});
