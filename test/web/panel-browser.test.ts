// The panel in headless Chromium (the Debian package, driven by playwright-core) against a real
// three-node cluster: log in, see the nodes and the VIP holder, drain a backend from a follower's
// panel and watch the leader's panel show it, see an API error with its field, watch the charts
// move under real traffic, create a pool and a listener, hand leadership over, and see the no-quorum
// message. A follower's panel shows every node's role and host stats from the nodes' own reports,
// the cluster-wide traffic sums, and a killed node as unreachable. Every failed HTTP response a page gets must be one the test provoked; no script errors.
// Screenshots go to test-output/ for a person to look at.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { ADMIN, type AdminCluster, eventually, startAdminCluster } from '../support/admin-cluster.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../test-output/', import.meta.url));
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (scripts/install-os-deps.sh installs it)`;
if (skip) process.stdout.write(`# panel browser tests skipped: ${skip}\n`);

/** Generous: three nodes, a browser and the test share a loaded 2-core machine. */
const WAIT = { timeout: 30_000 };

/** A failed HTTP response some page got: `METHOD /path STATUS`. */
type Failure = string;

describe('panel in a browser', { skip, timeout: 600_000 }, () => {
  let cluster: AdminCluster;
  let browser: Browser;
  let leaderId: string;
  let followerId: string;
  const scriptErrors: string[] = [];
  const failures: Failure[] = [];
  /** Failures a step provoked on purpose (each pattern matched against `METHOD /path STATUS`). */
  const provoked: RegExp[] = [
    // The panel asks for the session on load; nobody is logged in yet.
    /^GET \/api\/v1\/session 401$/,
  ];

  before(async () => {
    mkdirSync(OUT, { recursive: true });
    cluster = await startAdminCluster();
    leaderId = await cluster.leader();
    followerId = cluster.nodes.find((n) => n.id !== leaderId)?.id ?? '';
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Playwright gives the browser a throw-away profile of its own.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
  });

  /** A fresh browser context (own cookies) on a node's panel, logged in through the form. */
  async function openPanel(nodeId: string, opts: { wrongPasswordFirst?: boolean } = {}): Promise<Page> {
    const node = cluster.node(nodeId);
    const context = await browser.newContext({ viewport: { width: 1400, height: 1100 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    page.on('pageerror', (e) => scriptErrors.push(`${nodeId}: ${e.message}`));
    page.on('console', (m) => {
      // Chromium logs every failed fetch as "Failed to load resource"; those are accounted for
      // (with method and path) by the response listener below.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) scriptErrors.push(`${nodeId} console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) failures.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    await page.goto(`${node.proc.admin}/`);
    await page.locator('#login').waitFor(WAIT);
    await page.fill('#login-user', ADMIN.user);
    if (opts.wrongPasswordFirst) {
      await page.fill('#login-password', 'wrong-password');
      await page.click('#login button[type=submit]');
      await page.locator('#login .form-error', { hasText: 'wrong user name or password' }).waitFor(WAIT);
      assert.equal(await page.locator('#nodes').count(), 0, 'no dashboard after a wrong password');
    }
    await page.fill('#login-password', ADMIN.password);
    await page.click('#login button[type=submit]');
    await page.locator('#nodes tbody tr').nth(2).waitFor(WAIT);
    return page;
  }

  /** Leadership may move on a loaded machine; each step starts from who leads now. */
  async function roles(): Promise<void> {
    leaderId = await cluster.leader();
    const live = cluster.nodes.filter((n) => n.proc.proc.exitCode === null && n.proc.proc.signalCode === null);
    followerId = live.find((n) => n.id !== leaderId)?.id ?? '';
  }

  /** Waits for `selector` on the page; a timeout reports what every node's API says about the cluster. */
  async function shown(page: Page, selector: string, hasText?: string): Promise<void> {
    try {
      await page.locator(selector, hasText === undefined ? {} : { hasText }).first().waitFor(WAIT);
    } catch (err) {
      const views = await Promise.all(cluster.nodes.map((n) => cluster.call(n.id, 'GET', '/api/v1/cluster').then((r) => JSON.stringify(r.body), (e: unknown) => String(e))));
      throw new Error(`${(err as Error).message.split('\n')[0] ?? ''}\ncluster as the nodes see it:\n${views.join('\n')}`, { cause: err });
    }
  }

  const backendRow = (page: Page, backend: string, pool = 'web') => page.locator(`.pool[data-pool="${pool}"] tr[data-backend="${backend}"]`);
  const dialog = (page: Page) => page.locator('dialog[open]');

  it('logs in: a wrong password gets a message, the right one opens the dashboard', async () => {
    await roles();
    provoked.push(/^POST \/api\/v1\/session 401$/);
    const page = await openPanel(leaderId, { wrongPasswordFirst: true });
    await page.locator('#user', { hasText: `${ADMIN.user} (admin)` }).waitFor(WAIT);
    await page.context().close();
  });

  it('shows the cluster, who leads and who holds the VIP, on the leader and on a follower', async () => {
    await roles();
    const leader = await openPanel(leaderId);
    await shown(leader, `#nodes tr[data-node="${leaderId}"][data-role="leader"][data-vip="holder"]`);
    for (const n of cluster.nodes.filter((x) => x.id !== leaderId)) {
      await leader.locator(`#nodes tr[data-node="${n.id}"][data-role="follower"]`).waitFor(WAIT);
    }
    assert.equal(await leader.locator('#node-role').getAttribute('data-role'), 'leader');
    assert.equal(await leader.locator('#follower-banner').isHidden(), true);
    for (const b of ['b1', 'b2', 'b3']) await backendRow(leader, b).and(leader.locator('[data-health="up"]')).waitFor(WAIT);
    // The last check's reason sits beside the health badge.
    assert.notEqual((await backendRow(leader, 'b1').locator('.reason').textContent())?.trim() ?? '', '');
    await leader.locator('#node-stats dd[data-key="cpu"]', { hasText: 'core' }).waitFor(WAIT);
    await leader.locator('#node-stats tr[data-iface]').first().waitFor(WAIT);
    // Reads say which node answered and at which commit index.
    await leader.locator('#cluster dd[data-key="this-node"]', { hasText: leaderId }).waitFor(WAIT);
    assert.match((await leader.locator('#cluster dd[data-key="commit-index"]').textContent()) ?? '', /^[1-9][0-9]*$/);
    await leader.screenshot({ path: join(OUT, 'panel-leader-cluster.png'), fullPage: true });

    const follower = await openPanel(followerId);
    await shown(follower, '#follower-banner', 'the leader is');
    // On a loaded machine leadership may move meanwhile: the banner follows what this node's API says.
    await eventually('banner names the leader the API names', 30_000, async () => {
      const api = await cluster.api<{ leader: string | null }>(followerId, '/api/v1/cluster');
      const banner = (await follower.locator('#follower-banner').textContent()) ?? '';
      return api.leader && banner.includes(`the leader is ${api.leader}.`) ? true : undefined;
    });
    assert.match((await follower.locator('#follower-banner').textContent()) ?? '', /forwarded to the leader/);
    assert.equal(await follower.locator('#node-role').getAttribute('data-role'), 'follower');
    await shown(follower, '#nodes tr[data-role="leader"][data-vip="holder"]');
    // Every node's role, even the other follower's (its own report, labelled with its age; this
    // follower's Raft alone knows only the leader), and every node's host stats.
    const api = await cluster.api<{ leader: string; nodes: { id: string; role: string; roleFrom: string | null }[] }>(followerId, '/api/v1/cluster');
    const fromReports = api.nodes.filter((x) => x.roleFrom === 'report' || x.role === 'unknown');
    assert.ok(fromReports.length > 0 || api.leader === followerId, `a follower knows another follower only from its report: ${JSON.stringify(api.nodes)}`);
    for (const n of fromReports) {
      await shown(follower, `#nodes tr[data-node="${n.id}"][data-role="follower"][data-role-source="report"]`);
      assert.match((await follower.locator(`#nodes tr[data-node="${n.id}"] .role-note`).textContent()) ?? '', /reported .* ago/);
    }
    await follower.locator('#nodes th', { hasText: 'Match index (leader only)' }).waitFor(WAIT);
    for (const n of cluster.nodes) {
      await shown(follower, `#hosts tr[data-node="${n.id}"][data-status="${n.id === followerId ? 'self' : 'fresh'}"]`);
      const row = follower.locator(`#hosts tr[data-node="${n.id}"]`);
      await row.locator('td[data-key="cpu"]', { hasText: 'core' }).waitFor(WAIT);
      await row.locator('td[data-key="memory"]', { hasText: ' of ' }).waitFor(WAIT);
      await row.locator('td[data-key="interfaces"]', { hasText: '127.0.0.1' }).waitFor(WAIT);
      assert.match((await row.getAttribute('data-role')) ?? '', /^(leader|follower)$/);
    }
    assert.equal(await follower.locator('#hosts tbody tr').count(), 3);
    await follower.screenshot({ path: join(OUT, 'panel-follower.png'), fullPage: true });
    await leader.context().close();
    await follower.context().close();
  });

  it("drains a backend from a follower's panel; the leader's panel shows it", async () => {
    await roles();
    const leader = await openPanel(leaderId);
    const follower = await openPanel(followerId);
    await backendRow(leader, 'b1').and(leader.locator('[data-state="active"]')).waitFor(WAIT);
    const started = Date.now();
    await backendRow(follower, 'b1').locator('button[data-action="drain"]').click();
    await backendRow(leader, 'b1').and(leader.locator('[data-state="drain"]')).waitFor(WAIT);
    const seenOnLeaderMs = Date.now() - started;
    await backendRow(follower, 'b1').and(follower.locator('[data-state="drain"]')).waitFor(WAIT);
    process.stdout.write(`# drain clicked on ${followerId}'s panel, seen on ${leaderId}'s panel after ${seenOnLeaderMs} ms\n`);
    // The panels long-poll /api/v1/changes: well under a second on an idle machine; the bound
    // here only has to hold on a loaded one.
    assert.ok(seenOnLeaderMs < 10_000, `seen after ${seenOnLeaderMs} ms`);
    // The replicated state agrees on every node, and each answer names its node and commit index.
    for (const n of cluster.nodes) {
      const body = await cluster.api<{ node: string; commitIndex: number; pools: { name: string; backends: { name: string; state: string }[] }[] }>(n.id, '/api/v1/pools');
      assert.equal(body.node, n.id);
      assert.ok(body.commitIndex > 0);
      assert.equal(body.pools.find((p) => p.name === 'web')?.backends.find((b) => b.name === 'b1')?.state, 'drain', n.id);
    }
    // Enable it again from the leader's panel; the follower's panel follows.
    await backendRow(leader, 'b1').locator('button[data-action="enable"]').click();
    await backendRow(follower, 'b1').and(follower.locator('[data-state="active"]')).waitFor(WAIT);
    await leader.context().close();
    await follower.context().close();
  });

  it("shows the API's message and field when a change is refused, and nothing changes", async () => {
    await roles();
    provoked.push(/^PATCH \/api\/v1\/pools\/web\/backends\/b2 400$/);
    const page = await openPanel(followerId);
    await backendRow(page, 'b2').locator('button[data-action="weight"]').click();
    await dialog(page).locator('input[name="weight"]').fill('999');
    await dialog(page).locator('button[type="submit"]').click();
    const error = dialog(page).locator('.form-error');
    await error.waitFor(WAIT);
    const text = (await error.textContent()) ?? '';
    assert.match(text, /weight/);
    assert.match(text, /256/);
    assert.equal(await dialog(page).locator('.field[data-field="weight"]').getAttribute('class'), 'field field-invalid');
    const unchanged = await cluster.api<{ backend: { weight: number } }>(leaderId, '/api/v1/pools/web/backends/b2');
    assert.equal(unchanged.backend.weight, 1);
    await dialog(page).locator('input[name="weight"]').fill('5');
    await dialog(page).locator('button[type="submit"]').click();
    await dialog(page).waitFor({ state: 'detached', ...WAIT });
    await backendRow(page, 'b2').locator('td', { hasText: /^5$/ }).waitFor(WAIT);
    await page.context().close();
  });

  it('charts requests/s, p99 and active connections from real traffic', async () => {
    await roles();
    const page = await openPanel(leaderId);
    const node = cluster.node(leaderId);
    const port = await cluster.port(leaderId, 'web');
    const target = `http://${node.host}:${port}`;
    // Bounded load: slow requests keep connections in flight across a scrape, fast ones give a rate.
    const deadline = Date.now() + 8_000;
    const slow = Array.from({ length: 6 }, () => fetch(`${target}/slow?ms=2500`).then((r) => r.text()));
    let sent = 0;
    const workers = Array.from({ length: 4 }, async () => {
      while (Date.now() < deadline && sent < 2_000) {
        sent++;
        await fetch(`${target}/`).then((r) => r.text());
      }
    });
    /** Waits until a chart's latest point has a series above zero; returns that point. */
    const latest = async (id: string) => {
      const handle = await page.waitForFunction(
        (chartId) => {
          const raw = document.getElementById(chartId)?.getAttribute('data-latest');
          const point = raw ? (JSON.parse(raw) as Record<string, number | null>) : {};
          return Object.values(point).some((v) => (v ?? 0) > 0) ? point : null;
        },
        id,
        WAIT,
      );
      return (await handle.jsonValue()) as Record<string, number | null>;
    };
    // Read while the traffic flows: once it stops the latest points fall back to zero.
    const [active, rps, p99] = await Promise.all([latest('chart-active'), latest('chart-rps'), latest('chart-p99')]);
    await Promise.all([...workers, ...slow]);
    assert.ok((rps['web'] ?? 0) > 0, JSON.stringify(rps));
    assert.ok((p99['web'] ?? 0) > 0, JSON.stringify(p99));
    assert.ok(Object.keys(active).some((k) => k.startsWith('web/')), JSON.stringify(active));
    const points = await page.locator('#chart-rps').getAttribute('data-points');
    assert.ok(Number(points) >= 2, `chart points: ${points}`);
    // The cluster-wide sums come from the nodes' reported counters (this node's among them).
    await page.locator('#cluster-traffic tr[data-pool="web"] td[data-key="rps"]').filter({ hasNotText: /^0\.00$/ }).first().waitFor(WAIT);
    await page.locator('#cluster-traffic [data-key="counted"]', { hasText: leaderId }).waitFor(WAIT);
    // Per-backend requests/s in the table come from the same scrapes.
    await backendRow(page, 'b3').locator('td').nth(6).filter({ hasNotText: /^–$/ }).waitFor(WAIT);
    await page.locator('#traffic').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT, 'panel-traffic.png'), fullPage: true });
    process.stdout.write(`# sent ${sent} requests; chart rps ${JSON.stringify(rps)}\n`);
    await page.context().close();
  });

  it('creates a pool and a listener from the panel; another node serves them', async () => {
    await roles();
    provoked.push(/^POST \/api\/v1\/pools 400$/);
    const page = await openPanel(followerId);
    const other = await openPanel(leaderId);
    const b3 = cluster.origins.find((o) => o.name === 'b3');
    assert.ok(b3);
    await page.locator('button[data-action="create-pool"]').click();
    await dialog(page).locator('[name="name"]').fill('api');
    await dialog(page).locator('[name="scheduler"]').selectOption('least-conn');
    await dialog(page).locator('[name="interval"]').fill('500ms');
    await dialog(page).locator('[name="backends"]').fill(`api1=${b3.address},2`);
    // The default 1s timeout is not shorter than a 500ms interval: the API says so, and the form
    // marks its own timeout field.
    await dialog(page).locator('button[type="submit"]').click();
    await dialog(page).locator('.form-error', { hasText: 'timeout' }).waitFor(WAIT);
    assert.equal(await dialog(page).locator('.field[data-field="timeout"]').getAttribute('class'), 'field field-invalid');
    assert.equal((await cluster.call(leaderId, 'GET', '/api/v1/pools/api')).status, 404);
    await dialog(page).locator('[name="timeout"]').fill('300ms');
    await dialog(page).locator('button[type="submit"]').click();
    await dialog(page).waitFor({ state: 'detached', ...WAIT });
    await backendRow(other, 'api1', 'api').and(other.locator('[data-health="up"]')).waitFor(WAIT);
    // The listener form offers the pools this page knows.
    await backendRow(page, 'api1', 'api').waitFor(WAIT);

    await page.locator('button[data-action="create-listener"]').click();
    await dialog(page).locator('[name="name"]').fill('api');
    await dialog(page).locator('[name="bind"]').fill('0.0.0.0:0');
    await dialog(page).locator('[name="pool"]').selectOption('api');
    await dialog(page).locator('[name="pathPrefix"]').fill('/');
    await dialog(page).locator('button[type="submit"]').click();
    await dialog(page).waitFor({ state: 'detached', ...WAIT });
    await other.locator('#listeners tr[data-listener="api"]', { hasText: 'api' }).waitFor(WAIT);

    // Real traffic through the new listener on a third node reaches the new pool's backend.
    const third = cluster.nodes.find((n) => n.id !== followerId && n.id !== leaderId);
    assert.ok(third);
    const port = await cluster.port(third.id, 'api');
    const res = await fetch(`http://${third.host}:${port}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'b3');
    await page.context().close();
    await other.context().close();
  });

  it("hands leadership over from a follower's panel; the VIP follows", async () => {
    await roles();
    // The follower's request is passed to the leader; the follower asks for itself.
    const to = followerId;
    const page = await openPanel(to);
    await page.locator('button[data-action="transfer-leadership"]').click();
    await dialog(page).locator('[name="to"]').selectOption(to);
    await dialog(page).locator('button[type="submit"]').click();
    await dialog(page).waitFor({ state: 'detached', ...WAIT });
    await shown(page, `#nodes tr[data-node="${to}"][data-role="leader"][data-vip="holder"]`);
    await page.locator('#node-role[data-role="leader"]').waitFor(WAIT);
    assert.equal(await page.locator('#follower-banner').isHidden(), true);
    assert.equal(await cluster.leader(), to);
    await page.screenshot({ path: join(OUT, 'panel-after-transfer.png'), fullPage: true });
    await page.context().close();
  });

  it('says there is no quorum when two nodes are gone; reads still answer', async () => {
    provoked.push(/^PATCH \/api\/v1\/pools\/web\/backends\/b2 503$/);
    await roles();
    const survivor = followerId;
    const page = await openPanel(survivor);
    for (const n of cluster.nodes.filter((x) => x.id !== survivor)) await cluster.kill(n.id);
    await page.locator('#follower-banner', { hasText: 'knows no leader' }).waitFor(WAIT);
    // The killed nodes stop reporting: unreachable, with the age of their last report.
    for (const n of cluster.nodes.filter((x) => x.id !== survivor)) {
      await page.locator(`#hosts tr[data-node="${n.id}"][data-status="unreachable"]`, { hasText: 'last report' }).waitFor(WAIT);
    }
    await eventually('survivor knows no leader', 30_000, async () => ((await cluster.api<{ leader: string | null }>(survivor, '/api/v1/cluster')).leader === null ? true : undefined));
    await backendRow(page, 'b2').locator('button[data-action="drain"]').click();
    await page.locator('.notice-error', { hasText: 'no quorum' }).waitFor(WAIT);
    // Reads still come from this node's applied state.
    await backendRow(page, 'b2').and(page.locator('[data-state="active"]')).waitFor(WAIT);
    await page.screenshot({ path: join(OUT, 'panel-no-quorum.png'), fullPage: true });
    await page.context().close();
  });

  it('left no script errors, and every failed request was one the test provoked', () => {
    assert.deepEqual(scriptErrors, []);
    const unexpected = failures.filter((f) => !provoked.some((p) => p.test(f)));
    assert.deepEqual(unexpected, [], `all failed responses: ${failures.join('; ')}`);
  });
});
