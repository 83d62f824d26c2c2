/**
 * doctor and `trace --state` on test/fixtures/state/builtin (written by a real Open vSwitch 3.1, iptables-save
 * -c, ip -j and conntrack -L; see its README), unbroken and broken the way real clusters break: each break edits
 * the real tools' text, then doctor must name it in the cluster's terms and a walk must stop exactly there.
 */

import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ipv4 } from '../../codecs/bytes.js';
import { doctor, walkStop, type DoctorReport } from '../../src/doctor/doctor.js';
import { hasProblems, renderDoctorText } from '../../src/doctor/render.js';
import { Emulation } from '../../src/node/emulation.js';
import { renderWalkTrace } from '../../src/trace/render.js';
import { runFlow, type FlowSpec } from '../../src/walk/flow.js';
import { applyStateDir } from '../../src/state/emulate.js';
import { loadStateDir } from '../../src/state/state-dir.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/state/builtin');
const W1 = 'aro2-p8bjm-worker-northeurope1-qt8l7';
const W2 = 'aro2-p8bjm-worker-northeurope2-rbxzc';
const W3 = 'aro2-p8bjm-worker-northeurope3-wl4vw';
const SQLAPI = { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' } as const;
const SERVER = { kind: 'pod', namespace: 'project1', name: 'server-1-ppl25' } as const;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the fixture with one file edited. */
function broken(node: string, file: string, edit: (text: string) => string): string {
  const d = mkdtempSync(join(tmpdir(), 'pw-broken-'));
  dirs.push(d);
  cpSync(FIXTURE, d, { recursive: true });
  const p = join(d, 'nodes', node, file);
  const before = readFileSync(p, 'utf8');
  const after = edit(before);
  expect(after, `the edit of ${file} changed nothing`).not.toBe(before);
  writeFileSync(p, after);
  return d;
}

function dropLines(re: RegExp): (t: string) => string {
  return (t) =>
    t
      .split('\n')
      .filter((l) => !re.test(l))
      .join('\n');
}

/** One traced walk on the state (what `packetwalk trace --state DIR` does). */
function traceOn(dir: string, spec: FlowSpec): { ok: boolean; node?: string; reason?: string; text: string } {
  const state = loadStateDir(dir);
  const emu = new Emulation(state.cluster, { seed: 1 });
  applyStateDir(emu, state);
  emu.runtime.tracing = true;
  const r = runFlow(emu, spec);
  const drop = walkStop(emu.runtime.packets, emu.nodes);
  return { ok: r.ok, node: drop?.host, reason: drop?.reason, text: renderWalkTrace('t', emu.runtime.packets) };
}

function messages(r: DoctorReport): string[] {
  return r.nodes.flatMap((n) => n.differences.map((d) => d.message));
}

describe("doctor on the real tools' state of the built-in cluster", { timeout: 60_000 }, () => {
  it('the unbroken state: nothing differs, every walk passes, the conntrack entries are loaded', () => {
    const state = loadStateDir(FIXTURE);
    const r = doctor(state);
    expect(messages(r)).toEqual([]);
    expect(r.walks.failed).toEqual([]);
    expect(r.walks.total).toBeGreaterThan(20);
    expect(hasProblems(r)).toBe(false);
    const emu = new Emulation(state.cluster);
    applyStateDir(emu, state);
    const e = emu.node(W1).netfilter.conntrack.lookup(6, ipv4('10.131.0.40'), ipv4('172.30.72.7'), 41000, 1433);
    expect(e?.reply.src).toBe(ipv4('10.128.2.24')); // the DNAT of the service connection, as conntrack -L showed it
  });

  const cases: {
    name: string;
    dir: () => string;
    says: RegExp;
    walk: FlowSpec;
    stopsOn: string;
    at: RegExp;
    /** Text the whole trace must show (the rule that acted). */
    trace?: RegExp;
    /** A failing walk of the matrix is explained by the named difference. */
    matrix?: boolean;
  }[] = [
    {
      name: 'missing table 90 flow',
      dir: () => broken(W1, 'dump-flows.txt', dropLines(/table=90,.*nw_dst=10\.128\.2\.0\/23/)),
      says: new RegExp(
        `${W1}: no table 90 flow for 10\\.128\\.2\\.0/23 \\(HostSubnet ${W3}, 192\\.168\\.0\\.5\\): traffic from ${W1}'s pods to ${W3}'s pods is dropped at table 90 priority 0`,
      ),
      walk: { from: SQLAPI, to: { ip: ipv4('10.128.2.24'), port: 1433 }, proto: 'tcp' },
      stopsOn: W1,
      at: /^br0: table 90 priority 0 drop$/,
      matrix: true,
    },
    {
      name: 'missing table 10 flow',
      dir: () => broken(W3, 'dump-flows.txt', dropLines(/table=10,.*tun_src=192\.168\.0\.4 /)),
      says: new RegExp(
        `${W3}: no table 10 flow for tun_src=192\\.168\\.0\\.4 \\(HostSubnet ${W1}, 192\\.168\\.0\\.4\\): VXLAN traffic from ${W1} .* is dropped at table 10 priority 0`,
      ),
      walk: { from: SQLAPI, to: { ip: ipv4('10.128.2.24'), port: 1433 }, proto: 'tcp' },
      stopsOn: W3,
      at: /^br0: table 10 priority 0 drop$/,
      matrix: true,
    },
    {
      name: 'stale hostIP in tables 50 and 90',
      dir: () =>
        broken(W1, 'dump-flows.txt', (t) =>
          t.replace(
            /(table=(?:50|90),.*(?:arp_tpa|nw_dst)=10\.128\.2\.0\/23 actions=.*)set_field:192\.168\.0\.5->tun_dst/g,
            '$1set_field:192.168.0.99->tun_dst',
          ),
        ),
      says: new RegExp(
        `${W1}: table 90 sends 10\\.128\\.2\\.0/23 to 192\\.168\\.0\\.99, which is no HostSubnet's hostIP, but ${W3}'s hostIP is 192\\.168\\.0\\.5 \\(stale hostIP\\)`,
      ),
      walk: { from: SQLAPI, to: { ip: ipv4('10.128.2.24'), port: 1433 }, proto: 'tcp' },
      stopsOn: W1,
      at: /ARP for 192\.168\.0\.99 on eth0 failed/,
      matrix: true,
    },
    {
      name: 'wrong VNID in table 20',
      dir: () =>
        broken(W3, 'dump-flows.txt', (t) =>
          t.replace(
            /(table=20,.*priority=100,ip,in_port=\d+,nw_src=10\.128\.2\.24 actions=load:)0x[0-9a-f]+/,
            '$10x3a6ad0',
          ),
        ),
      says: new RegExp(
        `${W3}: table 20 gives 10\\.128\\.2\\.24 \\(project1/server-1-ppl25\\) VNID 3828432, but NetNamespace project1 has VNID 5999645: its traffic carries the wrong VNID`,
      ),
      walk: { from: SERVER, to: { ip: ipv4('10.131.0.40'), port: 8080 }, proto: 'tcp' },
      stopsOn: W3,
      at: /^br0: table 27 priority 0 drop$/,
      matrix: true,
    },
    {
      name: 'wrong VNID in table 70 (judged in table 80)',
      dir: () =>
        broken(W1, 'dump-flows.txt', (t) =>
          t.replace(/(table=70,.*nw_dst=10\.131\.0\.40 actions=load:)0x[0-9a-f]+(->NXM_NX_REG1)/, '$10x3a6ad0$2'),
        ),
      says: new RegExp(
        `${W1}: table 70 gives 10\\.131\\.0\\.40 \\(project1/sqlapi-1-8jgx8\\) VNID 3828432, but NetNamespace project1 has VNID 5999645`,
      ),
      walk: { from: SERVER, to: { ip: ipv4('10.131.0.40'), port: 8080 }, proto: 'tcp' },
      stopsOn: W1,
      at: /^br0: table 80 priority 0 drop$/,
      matrix: true,
    },
    {
      name: 'missing egress-IP group bucket',
      dir: () =>
        broken(W1, 'dump-groups.txt', (t) =>
          t.replace(
            /,bucket=actions=move:NXM_NX_REG0\[\]->NXM_NX_TUN_ID\[0\.\.31\],set_field:192\.168\.0\.6->tun_dst,output:1/,
            '',
          ),
        ),
      says: new RegExp(
        `${W1}: group 5999645 \\(egress IPs of NetNamespace project1\\) has no bucket for egress node ${W2} \\(192\\.168\\.0\\.6\\)`,
      ),
      walk: { from: SQLAPI, to: { ip: ipv4('203.0.113.10'), port: 443 }, proto: 'tcp' },
      stopsOn: W1,
      at: /table 101 priority 100/,
      matrix: true,
    },
    {
      name: 'missing KUBE-SEP DNAT',
      dir: () => broken(W1, 'iptables-save.txt', dropLines(/^\[\d+:\d+\] -A KUBE-SEP-YTIGDN2NWUZA5HCE .*-j DNAT/)),
      says: new RegExp(
        `${W1}: KUBE-SEP-YTIGDN2NWUZA5HCE DNAT for endpoint 10\\.128\\.2\\.24:1433 of service project1/server:1433-tcp is missing`,
      ),
      walk: { from: SQLAPI, to: { ip: ipv4('172.30.72.7'), port: 1433 }, proto: 'tcp' },
      // Not DNATed, the SYN goes to tun0 for the service IP itself: the node's ARP for it finds no flow.
      stopsOn: W1,
      at: /^br0: table 0 priority 150 drop$/,
      trace: /KUBE-SEP-YTIGDN2NWUZA5HCE/,
      matrix: true,
    },
    {
      name: 'an endpoint that no longer exists',
      dir: () =>
        broken(W1, 'iptables-save.txt', (t) =>
          t.replace(/(-A KUBE-SEP-YTIGDN2NWUZA5HCE .*)10\.128\.2\.24/g, '$110.128.2.99'),
        ),
      says: new RegExp(
        `${W1}: KUBE-SEP-YTIGDN2NWUZA5HCE sends service project1/server:1433-tcp to 10\\.128\\.2\\.99, which is not an endpoint of the service \\(its Endpoints: 10\\.128\\.2\\.24\\)`,
      ),
      walk: { from: SQLAPI, to: { ip: ipv4('172.30.72.7'), port: 1433 }, proto: 'tcp' },
      // DNATed to 10.128.2.99, the node ARPs for it over VXLAN; worker3 has no pod there (table 40).
      stopsOn: W3,
      at: /^br0: table 40 priority 0 drop$/,
      trace: /DNAT.*10\.128\.2\.99:1433/,
      matrix: true,
    },
    {
      name: 'missing OPENSHIFT-MASQUERADE rule',
      dir: () =>
        broken(
          W1,
          'iptables-save.txt',
          dropLines(/-A OPENSHIFT-MASQUERADE -s 10\.128\.0\.0\/14 .*-j OPENSHIFT-MASQUERADE-2/),
        ),
      says: new RegExp(
        `${W1}: nat OPENSHIFT-MASQUERADE: rule \`-A OPENSHIFT-MASQUERADE -s 10\\.128\\.0\\.0/14 .*-j OPENSHIFT-MASQUERADE-2\` is missing: pod traffic leaving the cluster is not masqueraded to the node IP`,
      ),
      walk: {
        from: { kind: 'pod', namespace: 'kuard1', name: 'kuard-amd64-1-qqdqm' },
        to: { ip: ipv4('203.0.113.10'), port: 443 },
        proto: 'tcp',
      },
      stopsOn: 'underlay-gateway',
      at: /no route to 10\.131\.0\./,
      matrix: true,
    },
    {
      name: 'MTU-lowering route',
      dir: () =>
        broken(W1, 'ip-route.json', (t) =>
          t.replace(
            /\{"dst":"10\.128\.0\.0\/14","dev":"tun0","scope":"link","flags":\[\]\}/,
            '{"dst":"10.128.0.0/14","dev":"tun0","scope":"link","flags":[],"metrics":[{"mtu":1200}]}',
          ),
        ),
      says: new RegExp(
        `${W1}: route \`10\\.128\\.0\\.0/14 dev tun0 scope link mtu 1200\` lowers the MTU to 1200 \\(the overlay MTU is 1450\\)`,
      ),
      walk: {
        from: { kind: 'node', name: W1 },
        to: { ip: ipv4('10.131.0.40'), port: 0 },
        proto: 'icmp',
        payloadSize: 1300,
      },
      stopsOn: W1,
      at: /exceeds tun0 MTU 1200/,
    },
  ];

  for (const c of cases) {
    it(`${c.name}: doctor names it, the walk stops there`, () => {
      const dir = c.dir();
      const r = doctor(loadStateDir(dir));
      const text = renderDoctorText(r);
      expect(
        messages(r).some((m) => c.says.test(m)),
        text,
      ).toBe(true);
      expect(hasProblems(r)).toBe(true);
      if (c.matrix) {
        expect(r.walks.failed.length, text).toBeGreaterThan(0);
        for (const f of r.walks.failed)
          expect(
            f.explainedBy.some((m) => c.says.test(m)),
            `${f.label} at ${f.at}\n${text}`,
          ).toBe(true);
      }
      const t = traceOn(dir, c.walk);
      expect(t.ok).toBe(false);
      expect(t.node, t.text).toBe(c.stopsOn);
      expect(t.reason, t.text).toMatch(c.at);
      if (c.trace) expect(t.text).toMatch(c.trace);
    });
  }
});
