import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatFlowAdd, formatFlowDump, FlowParseError, parseFlow, parseFlows } from '../../src/ovs/flow-text.js';
import { formatGroup, parseGroup } from '../../src/ovs/groups.js';

const FIX = new URL('./fixtures/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, FIX), 'utf8');
const EXAMPLE = readFileSync('/work/shared/tools/ovsref/example-flows.txt', 'utf8');

/** Golden lines printed by a real OVS 3.1 (`dump-flows --no-stats | sort`), comments removed. */
function ovsGolden(name: string): string[] {
  return read(name)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
}
const sorted = (lines: string[]): string[] => [...lines].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('flow text printed as OVS 3.1 prints it', () => {
  const cases: [string, string, string][] = [
    [
      'OpenShift SDN flows (fact sheet section 1)',
      read('openshift-sdn-flows.txt'),
      'openshift-sdn-flows.ovs31-dump.txt',
    ],
    ['ovsref example flows', EXAMPLE, 'example-flows.ovs31-dump.txt'],
    ['field and action coverage', read('field-coverage-flows.txt'), 'field-coverage-flows.ovs31-dump.txt'],
  ];
  for (const [title, input, golden] of cases) {
    it(`${title}: dump --no-stats equals real OVS line by line`, () => {
      const ours = parseFlows(input).map((f) => formatFlowDump(f));
      expect(sorted(ours)).toEqual(ovsGolden(golden));
    });

    it(`${title}: add-flows export -> parse -> dump is a fixed point`, () => {
      const flows = parseFlows(input);
      const again = parseFlows(flows.map(formatFlowAdd).join('\n'));
      expect(again.map((f) => formatFlowDump(f))).toEqual(flows.map((f) => formatFlowDump(f)));
    });

    it(`${title}: OVS's own dump lines parse back to themselves`, () => {
      const lines = ovsGolden(golden);
      expect(lines.map((l) => formatFlowDump(parseFlow(l)))).toEqual(lines);
    });
  }

  it('prints counters and a deterministic duration in the stats form', () => {
    const f = parseFlow(
      'table=0, priority=200, in_port=1, ip, nw_src=10.128.0.0/14 actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10',
    );
    expect(formatFlowDump(f, { nPackets: 3, nBytes: 222, durationSec: 1.5 })).toBe(
      ' cookie=0x0, duration=1.500s, table=0, n_packets=3, n_bytes=222, priority=200,ip,in_port=1,nw_src=10.128.0.0/14 actions=move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[],goto_table:10',
    );
  });

  it('accepts a full dump-flows line with stats (ignored) and keeps the cookie', () => {
    const f = parseFlow(
      ' cookie=0xf46ee1a, duration=478.456s, table=10, n_packets=9, n_bytes=378, idle_age=3, priority=100,tun_src=10.0.123.45 actions=goto_table:30',
    );
    expect(f.cookie).toBe(0xf46ee1an);
    expect(formatFlowDump(f)).toBe(
      ' cookie=0xf46ee1a, table=10, priority=100,tun_src=10.0.123.45 actions=goto_table:30',
    );
  });

  it('accepts spaces instead of commas between match fields', () => {
    const a = parseFlow('table=31 priority=100 ip nw_dst=10.128.0.0/14 actions=goto_table:90');
    expect(formatFlowAdd(a)).toBe('table=31,priority=100,ip,nw_dst=10.128.0.0/14 actions=goto_table:90');
  });
});

describe('flow text errors name line, column, token and what was expected', () => {
  const bad: [string, string, number, RegExp][] = [
    ['table=0,priority=200,nw_src=10.0.0.1 actions=drop', 'nw_src', 22, /requires "ip" or "arp"/],
    ['table=0,ip,tp_dst=80 actions=drop', 'tp_dst', 12, /requires "tcp", "udp"/],
    ['table=0,icmp_type=8 actions=drop', 'icmp_type', 9, /requires/],
    ['table=0,ip,arp_sha=00:00:00:00:00:01 actions=drop', 'arp_sha', 12, /requires "arp"/],
    ['table=0,ip,nw_dst=10.0.0.1/33 actions=drop', '10.0.0.1/33', 19, /prefix bits not between 0 and 32/],
    ['table=0,priority=70000 actions=drop', '70000', 18, /invalid priority/],
    ['table=0,foo=1 actions=drop', 'foo', 9, /unknown keyword foo/],
    ['table=0,ct_state=+trk+foo actions=drop', 'foo', 18, /unknown ct_state flag/],
    ['table=0,ip', 'ip', 11, /must specify an action/],
    ['table=0,ip actions=bogus', 'bogus', 20, /unknown action bogus/],
    ['table=0,ip actions=output:1,drop', 'drop', 29, /"drop" must not be accompanied/],
    ['table=5,ip actions=goto_table:3', 'goto_table:3', 20, /OFPBIC_BAD_TABLE_ID/],
    ['table=0,ip actions=goto_table:5,output:2', 'goto_table', 20, /apply_actions must appear before goto_table/],
    [
      'table=0,ip actions=load:0x1ffff->NXM_NX_REG0[0..15]',
      'load:0x1ffff->NXM_NX_REG0[0..15]',
      20,
      /does not fit into 16 bits/,
    ],
    [
      'table=0,ip actions=move:NXM_NX_REG0[0..15]->NXM_NX_REG1[0..7]',
      'move:NXM_NX_REG0[0..15]->NXM_NX_REG1[0..7]',
      20,
      /16 bits wide but destination is 8/,
    ],
    [
      'table=0,in_port=1 actions=set_field:1.2.3.4->ip_dst',
      'set_field:1.2.3.4->ip_dst',
      27,
      /OFPBAC_MATCH_INCONSISTENT/,
    ],
    ['table=0,ip actions=load:1->NXM_NX_REG9[]', 'load:1->NXM_NX_REG9[]', 20, /reg0\.\.reg7/],
    ['table=0,ip actions=ct(nat(src=1.2.3.4))', 'nat(src=1.2.3.4)', 23, /requires commit/],
  ];
  for (const [line, token, column, msg] of bad) {
    it(`${line}`, () => {
      let err: unknown;
      try {
        parseFlow(line, { line: 7 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(FlowParseError);
      const e = err as FlowParseError;
      expect(e.line).toBe(7);
      expect(e.token).toBe(token);
      expect(e.column).toBe(column);
      expect(e.message).toMatch(msg);
      expect(e.message).toMatch(/^line 7, column \d+/);
    });
  }

  it('parseFlows reports the real line number', () => {
    expect(() => parseFlows('# comment\n\ntable=0 actions=drop\ntable=0,nw_ttl=3 actions=drop\n')).toThrow(
      /^line 4, column 9/,
    );
  });

  it('drops fields with missing prerequisites like OVS 3.1 when asked to', () => {
    const f = parseFlow('table=0,nw_src=1.2.3.4,in_port=3 actions=drop', { prerequisites: 'drop' });
    expect(formatFlowDump(f)).toBe(' in_port=3 actions=drop');
  });
});

describe('groups', () => {
  it('print as OVS 3.1 dump-groups prints them', () => {
    const ours = read('openshift-sdn-groups.txt')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => ` ${formatGroup(parseGroup(l))}`);
    expect(sorted(ours)).toEqual(ovsGolden('openshift-sdn-groups.ovs31-dump.txt'));
  });

  it('keep select weights other than the default 1 and reject weights elsewhere', () => {
    expect(
      formatGroup(parseGroup('group_id=7,type=select,bucket=weight:100,actions=output:3,bucket=weight:1,output:4')),
    ).toBe('group_id=7,type=select,bucket=weight:100,actions=output:3,bucket=actions=output:4');
    expect(() => parseGroup('group_id=7,type=all,bucket=weight:2,actions=output:3')).toThrow(/Only select groups/);
  });
});
