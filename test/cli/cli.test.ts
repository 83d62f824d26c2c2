/**
 * The built CLI as a user runs it (a child process): exit codes, --json shapes, the files `run` writes, byte
 * identity across runs with the same seed, and one-line errors for bad input.
 */

import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readU16, toHex } from '../../codecs/bytes.js';
import { Dissection, dissect } from '../../codecs/dissect.js';
import { readPcapng } from '../../codecs/pcapng.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'packetwalk-cli-'));
const WORKER1 = 'aro2-p8bjm-worker-northeurope1-qt8l7';

function pw(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // `npm test` builds first; a bare `vitest run` may not have.
  if (!existsSync(CLI)) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('packetwalk run', () => {
  it('writes every listed file for every scenario, and the same bytes again with the same seed', () => {
    const a = pw('run', '--all', '--out', 'a', '--json');
    expect(a.code, a.stderr).toBe(0);
    const summary = JSON.parse(a.stdout) as { scenario: string; passed: boolean; dir: string; files: string[] }[];
    expect(summary.map((s) => s.scenario)).toEqual(SCENARIOS.map((s) => s.name));
    for (const s of summary) {
      expect(s.passed).toBe(true);
      for (const f of ['walk.pcapng', 'trace.txt', 'trace.json', 'path.svg']) expect(s.files).toContain(f);
      for (const f of s.files) expect(existsSync(join(s.dir, f)), `${s.scenario}/${f}`).toBe(true);
      // Plus the folder's manifest (what packetwalk wrote there; see README, output folders).
      expect(readdirSync(s.dir).sort()).toEqual(['.packetwalk.json', ...s.files].sort());
    }
    const index = readFileSync(join(tmp, 'a', 'index.html'), 'utf8');
    for (const s of summary) expect(index).toContain(`${s.scenario}/path.svg`);
    const b = pw('run', '--all', '--out', 'b', '--json');
    expect(b.code).toBe(0);
    for (const s of summary) {
      for (const f of s.files) {
        const x = readFileSync(join(tmp, 'a', s.scenario, f)),
          y = readFileSync(join(tmp, 'b', s.scenario, f));
        expect(Buffer.compare(x, y), `${s.scenario}/${f}`).toBe(0);
      }
    }
  });

  it('prints a short readable walk without colour when piped', () => {
    const r = pw('run', 'pod-to-pod-cross-node', '--out', 'c');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pod-to-pod-cross-node');
    expect(r.stdout).toMatch(/→ worker-northeurope1-qt8l7\/eth0 .*192\.168\.0\.4\.\d+ > 192\.168\.0\.5\.4789: VXLAN/);
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('repeats flows with --count: counts by outcome, the first conversation traced, every SYN from its own client port', () => {
    const r = pw('run', 'pod-to-pod-same-node', '--count', '5', '--out', 'd', '--json');
    expect(r.code).toBe(0);
    const [s] = JSON.parse(r.stdout) as {
      passed: boolean;
      count: number;
      conversations: { total: number; completed: number };
      flows: { ok: boolean; clientPort: number }[];
    }[];
    expect(s!.passed).toBe(true);
    expect(s!.count).toBe(5);
    expect(s!.conversations).toMatchObject({ total: 5, completed: 5 });
    expect(s!.flows).toHaveLength(1); // the first conversation, traced in full; the rest are counted
    const trace = JSON.parse(readFileSync(join(tmp, 'd', 'pod-to-pod-same-node', 'trace.json'), 'utf8')) as {
      count: number;
      conversations: { completed: number };
      packets: unknown[];
    };
    expect(trace.conversations.completed).toBe(5);
    expect(trace.packets.length).toBeLessThan(20);
    const text = pw('run', 'pod-to-pod-same-node', '--count', '5', '--out', 'd2');
    expect(text.stdout).toMatch(
      /5 conversations \(5 per flow; the lines above are the first\): 5 completed, 0 refused, 0 unanswered, 0 failed to connect/,
    );
    expect(text.stdout).toMatch(/conversations\/s/);
    expect(text.stdout.split('\n').length).toBeLessThan(40);
    // Five different client ports: the SYNs leaving sqlapi's eth0 come from five source ports.
    const { interfaces, packets } = readPcapng(readFileSync(join(tmp, 'd', 'pod-to-pod-same-node', 'walk.pcapng')));
    const eth0 = interfaces.findIndex((i) => i.name === 'sqlapi-1-8jgx8/eth0');
    const ports = new Set<number>();
    const d = new Dissection();
    for (const p of packets) {
      if (p.interfaceId !== eth0) continue;
      dissect(p.data, 0, p.data.length, d);
      if (d.l4Kind === 'tcp' && p.data[d.l4 + 13] === 0x02) ports.add(readU16(p.data, d.l4));
    }
    expect(ports.size).toBe(5);
  });

  it('writes the same bytes with --no-fast-path (bulk runs walk every packet hop by hop)', () => {
    const scenarios = ['pod-to-service-cross-node', 'egress-node-ip'];
    const fast = pw('run', ...scenarios, '--count', '40', '--out', 'fp-on', '--json');
    const slow = pw('run', ...scenarios, '--count', '40', '--no-fast-path', '--out', 'fp-off', '--json');
    expect(fast.code, fast.stderr).toBe(0);
    expect(slow.code, slow.stderr).toBe(0);
    const files = (JSON.parse(fast.stdout) as { scenario: string; files: string[] }[]).flatMap((s) =>
      s.files.map((f) => join(s.scenario, f)),
    );
    expect(files.length).toBeGreaterThan(4);
    for (const f of files)
      expect(Buffer.compare(readFileSync(join(tmp, 'fp-on', f)), readFileSync(join(tmp, 'fp-off', f))), f).toBe(0);
  });

  it.each([
    [['run', 'no-such-scenario'], /unknown scenario "no-such-scenario"/],
    [['run', '--seed', 'x'], /--seed must be an integer/],
    [['run', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['trace', '--from', 'project1/nope', '--to', 'svc/project1/server'], /unknown pod "project1\/nope"/],
    [['trace', '--from', 'project1/sqlapi-1-8jgx8', '--to', 'svc/project1/nope'], /no service project1\/nope/],
    [['flows', '--node', 'nope'], /unknown node "nope"/],
  ])('rejects %j with a one-line error and exit code 2', (args, message) => {
    const r = pw(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the file, object and field of a broken cluster file', () => {
    writeFileSync(
      join(tmp, 'bad.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {namespace: a, name: p}\nspec: {nodeName: missing-node, containers: [{name: c}]}\n',
    );
    const r = pw('cluster', 'pods', '--cluster', 'bad.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml.*Pod a\/p.*spec\.nodeName/);
  });

  it('refuses an output directory it cannot write to, writing nothing', () => {
    mkdirSync(join(tmp, 'ro'));
    writeFileSync(join(tmp, 'ro', 'blocker'), '');
    const r = pw('run', 'pod-to-pod-same-node', '--out', 'ro/blocker/out');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot use output directory .*blocker\/out: .*blocker is a file, not a directory/);
    chmodSync(join(tmp, 'ro'), 0o755);
  });
});

describe('other commands', () => {
  it('lists scenarios as text and JSON', () => {
    const r = pw('scenarios', '--json');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { name: string; figure: string; summary: string }[];
    expect(list.map((s) => s.name)).toContain('egress-ip-remote');
    expect(list.every((s) => s.figure && s.summary)).toBe(true);
  });

  it('prints the hostsubnets table as the seed article shows it', () => {
    const r = pw('cluster', 'hostsubnets');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /aro2-p8bjm-worker-northeurope1-qt8l7\s+aro2-p8bjm-worker-northeurope1-qt8l7\s+192\.168\.0\.4\s+10\.131\.0\.0\/23/,
    );
  });

  it('dumps br0 flows like ovs-ofctl, and counts packets after a scenario', () => {
    const r = pw('flows', '--node', WORKER1, '--table', '90');
    expect(r.code).toBe(0);
    // OVS 3.1 prints no OFPST_FLOW header line; every line starts with the cookie.
    expect(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.startsWith(' cookie=')),
    ).toBe(true);
    expect(r.stdout).toMatch(
      /table=90, n_packets=0, n_bytes=0, priority=100,ip,nw_dst=10\.128\.2\.0\/23 actions=move:NXM_NX_REG0\[\]->NXM_NX_TUN_ID\[0\.\.31\],set_field:192\.168\.0\.5->tun_dst,output:1/,
    );
    const after = pw('flows', '--node', WORKER1, '--table', '90', '--scenario', 'pod-to-pod-cross-node');
    expect(after.stdout).toMatch(/table=90, n_packets=[1-9]\d*, n_bytes=\d+, priority=100,ip,nw_dst=10\.128\.2\.0\/23/);
    const ofctl = pw('flows', '--node', WORKER1, '--format', 'ofctl');
    expect(ofctl.stdout).toMatch(/^table=0,priority=1000,ct_state=-trk,ip actions=ct\(table=0\)$/m);
  });

  it('prints iptables-save text and the conntrack table after a walk', () => {
    const ipt = pw('iptables', '--node', WORKER1);
    expect(ipt.code).toBe(0);
    expect(ipt.stdout).toMatch(/^\*nat$/m);
    expect(ipt.stdout).toMatch(/^-A OPENSHIFT-MASQUERADE-2 -j MASQUERADE$/m);
    const ct = pw('conntrack', '--node', WORKER1, '--scenario', 'pod-to-service-cross-node');
    expect(ct.code).toBe(0);
    expect(ct.stdout).toMatch(
      /^tcp\s+6 \d+ TIME_WAIT src=10\.131\.0\.40 dst=172\.30\.72\.7 sport=\d+ dport=1433 src=10\.128\.2\.24 dst=10\.131\.0\.40 sport=1433/m,
    );
  });

  it('traces an ad-hoc walk as text and JSON and keeps the bytes with --pcap', () => {
    const t = pw('trace', '--from', 'project1/sqlapi-1-8jgx8', '--to', 'svc/project1/server');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/bridge\("br0"\)/);
    expect(t.stdout).toMatch(/DNAT: destination 172\.30\.72\.7:1433 -> 10\.128\.2\.24:1433/);
    const j = pw('trace', '--from', 'external', '--to', '192.168.0.11:8080', '--json', '--pcap', 'lb.pcapng');
    expect(j.code).toBe(0);
    const parsed = JSON.parse(j.stdout) as { ok: boolean; packets: { label: string; hops: unknown[] }[] };
    expect(parsed.ok).toBe(true);
    expect(parsed.packets[0]!.hops.length).toBeGreaterThan(3);
    expect(readFileSync(join(tmp, 'lb.pcapng')).readUInt32LE(0)).toBe(0x0a0d0d0a);
    const icmp = pw(
      'trace',
      '--from',
      'kuard1/kuard-amd64-1-qqdqm',
      '--to',
      'project1/sqlapi-1-8jgx8',
      '--proto',
      'icmp',
    );
    expect(icmp.code).toBe(0);
    expect(icmp.stdout).toMatch(/ICMP echo reply received/);
  });

  it('writes a walk page for an ad-hoc walk with --html, holding the frames --pcap writes; a bad path is a one-line error', () => {
    const t = pw(
      'trace',
      '--from',
      'project1/sqlapi-1-8jgx8',
      '--to',
      'svc/project1/server',
      '--pcap',
      'svc.pcapng',
      '--html',
      'svc.html',
    );
    expect(t.code).toBe(0);
    const html = readFileSync(join(tmp, 'svc.html'), 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="walk-data">(.*?)<\/script>/s.exec(html)![1]!) as {
      packets: { n: number; hops: { frame: number; hex: string }[] }[];
    };
    const pcap = readPcapng(readFileSync(join(tmp, 'svc.pcapng')));
    const hops = data.packets.flatMap((p) => p.hops).sort((a, b) => a.frame - b.frame);
    expect(hops.map((h) => h.frame)).toEqual(pcap.packets.map((_, i) => i + 1));
    for (const h of hops) expect(h.hex).toBe(toHex(pcap.packets[h.frame - 1]!.data));
    expect(html).toContain('<svg role="img"');
    const bad = pw(
      'trace',
      '--from',
      'project1/sqlapi-1-8jgx8',
      '--to',
      'svc/project1/server',
      '--html',
      'no/such/dir/x.html',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `packetwalk: cannot write --html file ${join(tmp, 'no/such/dir/x.html')}: the folder ${join(tmp, 'no/such/dir')} does not exist\n`,
    );
    expect(existsSync(join(tmp, 'no'))).toBe(false);
  });

  it('has --help on every command', () => {
    for (const cmd of ['run', 'scenarios', 'cluster', 'flows', 'trace', 'iptables', 'conntrack']) {
      const r = pw(cmd, '--help');
      expect(r.code, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/^Usage: packetwalk /);
    }
  });
});

describe('a user cluster without the built-in pods', () => {
  it('skips scenarios it cannot host with a note, and refuses one asked for by name', () => {
    writeFileSync(
      join(tmp, 'small.yaml'),
      [
        'apiVersion: network.openshift.io/v1\nkind: HostSubnet\nmetadata: {name: node-a}\nhost: node-a\nhostIP: 10.0.0.11',
        'apiVersion: v1\nkind: Pod\nmetadata: {namespace: web, name: web-1}\nspec: {nodeName: node-a, containers: [{name: w, ports: [{containerPort: 80}]}]}',
      ].join('\n---\n') + '\n',
    );
    const all = pw('run', '--all', '--cluster', 'small.yaml', '--out', 'small');
    expect(all.code).toBe(2);
    expect(all.stderr).toMatch(
      /skipped: scenario pod-to-pod-same-node cannot run on this cluster: it needs pod kuard1\/kuard-amd64-1-qqdqm/,
    );
    expect(all.stderr).toMatch(/none of the scenarios can run on small\.yaml/);
    const one = pw('run', 'pod-to-pod-cross-node', '--cluster', 'small.yaml', '--out', 'small');
    expect(one.code).toBe(2);
    expect(one.stderr.trim()).toBe(
      'packetwalk: scenario pod-to-pod-cross-node cannot run on this cluster: it needs pod project1/server-1-ppl25',
    );
    const trace = pw('trace', '--cluster', 'small.yaml', '--from', 'node-a', '--to', 'web/web-1:80');
    expect(trace.code, trace.stderr).toBe(0);
  });
});
