import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FIXTURE = join(ROOT, 'test/fixtures/state/builtin');
const tmp = mkdtempSync(join(tmpdir(), 'pw-state-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
beforeAll(() => {
  if (!existsSync(CLI)) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
});

function run(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('state commands', { timeout: 120_000 }, () => {
  it('doctor: 0 on the unbroken state, 1 with a problem (JSON names it), 2 for bad input', () => {
    const ok = run('doctor', '--state', FIXTURE);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toMatch(/no problems found/);
    const d = join(tmp, 'broken');
    cpSync(FIXTURE, d, { recursive: true });
    const f = join(d, 'nodes/aro2-p8bjm-worker-northeurope1-qt8l7/dump-flows.txt');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^.*table=90,.*nw_dst=10\.128\.2\.0\/23.*\n/m, ''));
    const bad = run('doctor', '--state', d, '--json', '--node', 'aro2-p8bjm-worker-northeurope1-qt8l7');
    expect(bad.code).toBe(1);
    const rep = JSON.parse(bad.out);
    expect(rep.nodes[0].differences[0].message).toMatch(/no table 90 flow for 10.128.2.0\/23/);
    expect(rep.walks.failed[0].at).toBe('br0: table 90 priority 0 drop');
    // trace --state fails at that flow
    const t = run('trace', '--state', d, '--from', 'project1/sqlapi-1-8jgx8', '--to', 'project1/server-1-ppl25');
    expect(t.code).toBe(1);
    expect(t.out).toMatch(/dropped: br0: table 90 priority 0 drop at aro2-p8bjm-worker-northeurope1-qt8l7/);
    writeFileSync(f, readFileSync(f, 'utf8').replace('priority=1000,ct_state', 'priority=1x0,ct_state'));
    const broken = run('doctor', '--state', d);
    expect(broken.code).toBe(2);
    expect(broken.err).toMatch(
      /^packetwalk: nodes\/aro2-p8bjm-worker-northeurope1-qt8l7\/dump-flows.txt:\d+:\d+: invalid priority "1x0"/,
    );
    expect(run('doctor').code).toBe(2);
  });

  it('cluster --output yaml round-trips through a state directory; collect prints a read-only script', () => {
    const y = run('cluster', '--output', 'yaml');
    expect(y.code).toBe(0);
    const list = parse(y.out);
    expect(list.kind).toBe('List');
    expect(list.items).toEqual(JSON.parse(JSON.stringify(builtinClusterDocuments())));
    const d = join(tmp, 'objects-only');
    cpSync(FIXTURE, d, { recursive: true, filter: (src) => !src.includes('/nodes') });
    writeFileSync(join(d, 'objects/cluster.yaml'), y.out);
    const r = run('run', 'pod-to-pod-cross-node', '--state', d, '--out', join(tmp, 'out'));
    expect(r.code, r.err).toBe(0);
    const c = run('collect');
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/oc -n openshift-sdn exec "\$ovs" -- ovs-ofctl -O OpenFlow13 dump-flows br0/);
    expect(c.out).toMatch(/iptables-save -c/);
    expect(c.out).not.toMatch(/\b(delete|apply|patch|edit|create|replace|del-flows|add-flow)\b/);
  });

  it('run and trace with --state write walk.html whose hops name the actual flow (its cookie), as trace.txt does', () => {
    const d = join(tmp, 'cookie');
    cpSync(FIXTURE, d, { recursive: true });
    const f = join(d, 'nodes/aro2-p8bjm-worker-northeurope1-qt8l7/dump-flows.txt');
    const text = readFileSync(f, 'utf8');
    // Mark the client's table 20 flow (as a real cluster's flows carry cookies) so the page can only show it from the file.
    const marked = text.replace(
      /^ cookie=0x0(, duration=[0-9.]+s, table=20, .*nw_src=10\.131\.0\.40 )/m,
      ' cookie=0xbeef$1',
    );
    expect(marked).not.toBe(text);
    writeFileSync(f, marked);
    const out = join(tmp, 'cookie-out');
    const r = run('run', 'pod-to-service-cross-node', '--state', d, '--out', out);
    expect(r.code, r.err).toBe(0);
    const page = readFileSync(join(out, 'pod-to-service-cross-node', 'walk.html'), 'utf8');
    expect(readFileSync(join(out, 'pod-to-service-cross-node', 'trace.txt'), 'utf8')).toMatch(
      /20\. ip,in_port=3,nw_src=10\.131\.0\.40, priority 100, cookie 0xbeef/,
    );
    expect(page).toMatch(/cookie=0xbeef/);
    const html = join(tmp, 'cookie-trace.html');
    const t = run(
      'trace',
      '--state',
      d,
      '--from',
      'project1/sqlapi-1-8jgx8',
      '--to',
      'svc/project1/server',
      '--html',
      html,
    );
    expect(t.code, t.err).toBe(0);
    expect(readFileSync(html, 'utf8')).toMatch(/cookie=0xbeef/);
  });
});
