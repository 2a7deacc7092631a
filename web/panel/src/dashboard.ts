/// <reference lib="dom" />
// The logged-in panel: header with this node's role, then cluster, node, traffic, pools and
// listeners. Polls the API every second (one poll in flight at a time) and /metrics with it.
import type { ApiClient } from './api-client.js';
import { AuditSection, auditFromApi } from './audit-view.js';
import { ClusterTraffic } from './cluster-traffic.js';
import { ClusterTrafficSection } from './cluster-traffic-view.js';
import { ClusterSection } from './cluster-view.js';
import { h, setAttr, setText } from './dom.js';
import { ListenersSection } from './listeners-view.js';
import { CertificatesSection, certificateFromApi } from './certificates-view.js';
import { type ClusterView, clusterFromApi, listFromApi, listenerFromApi, nodeStatsFromApi, nodesFromApi, poolFromApi } from './models.js';
import { NodeHostsSection } from './node-hosts-view.js';
import { NodeStatsSection } from './node-stats-view.js';
import { Notices, errorText } from './notice.js';
import { PoolsSection } from './pools-view.js';
import { parsePromText } from './prom-text.js';
import { TimeChart } from './time-chart.js';
import { TrafficHistory } from './traffic-history.js';
import { snapshotFromSamples } from './traffic-snapshot.js';
import type { ViewContext } from './types.js';
import { ago, ms, rate } from './units.js';

const POLL_MS = 1000;
const STATS_EVERY = 3;
/** Nodes report every 2 s; asking every other poll sees each report. */
const NODES_EVERY = 2;
const WATCH_RETRY_MS = 2000;
/** Consecutive failed long polls before the panel relies on its poll alone (an older node, say). */
const WATCH_MAX_FAILURES = 30;
/** Five minutes of one-second points. */
const CHART_POINTS = 300;

export class Dashboard {
  readonly el: HTMLElement;
  private readonly notices = new Notices();
  private readonly cluster: ClusterSection;
  private readonly stats = new NodeStatsSection();
  private readonly hosts = new NodeHostsSection();
  private readonly clusterTraffic = new ClusterTrafficSection();
  private readonly clusterRates = new ClusterTraffic();
  private readonly pools: PoolsSection;
  private readonly listeners: ListenersSection;
  private readonly certificates = new CertificatesSection();
  private readonly audit = new AuditSection();
  private readonly history = new TrafficHistory({ windowMs: 5000, points: CHART_POINTS });
  private readonly charts = {
    rps: new TimeChart({ id: 'chart-rps', title: 'Requests/s per pool', format: rate }),
    p99: new TimeChart({ id: 'chart-p99', title: 'p99 latency per pool', format: ms }),
    active: new TimeChart({ id: 'chart-active', title: 'Active connections per backend', format: (v) => v.toFixed(0) }),
  };
  private readonly nodeBadge = h('span', { class: 'badge', id: 'node-role' }, '…');
  private readonly freshness = h('span', { class: 'freshness', id: 'freshness' }, 'connecting…');
  private readonly followerNote = h('div', { class: 'banner', id: 'follower-banner', hidden: true });
  private timer: ReturnType<typeof setTimeout> | null = null;
  private polling = false;
  private pollAgain = false;
  private ticks = 0;
  private lastOk = 0;
  private stopped = false;
  private readonly watching = new AbortController();

  constructor(
    private readonly client: ApiClient,
    onLogout: () => void,
  ) {
    const ctx: ViewContext = {
      client,
      act: (what, action) => this.act(what, action),
      changed: (what) => {
        this.notices.info(what);
        this.pollNow();
      },
    };
    this.cluster = new ClusterSection(ctx);
    this.pools = new PoolsSection(ctx);
    this.listeners = new ListenersSection(ctx, () => this.pools.poolNames());
    const logout = h('button', { class: 'btn btn-ghost', type: 'button', id: 'logout' }, 'Log out');
    logout.addEventListener('click', () => {
      this.stop();
      void client.logout().catch(() => undefined).finally(onLogout);
    });
    const session = client.session;
    const who = h('span', { class: 'freshness', id: 'user' }, session ? `${session.user} (${session.role})` : '');
    const nav = h('nav', {}, ...[['cluster', 'Cluster'], ['traffic', 'Traffic'], ['pools', 'Pools'], ['listeners', 'Listeners'], ['certificates', 'Certificates'], ['audit', 'Changes']].map(([id, label]) => h('a', { href: `#${id ?? ''}` }, label ?? '')));
    this.el = h(
      'div',
      // Viewers may look but not act: the API would refuse their writes anyway.
      { class: 'app', 'data-user-role': session?.role ?? 'viewer' },
      h('header', { class: 'topbar' }, h('span', { class: 'brand' }, 'Ballast'), this.nodeBadge, nav, h('span', { class: 'spacer' }), this.freshness, who, logout),
      this.followerNote,
      h(
        'main',
        { class: 'content' },
        h('div', { class: 'grid-2' }, this.cluster.el, this.stats.el),
        this.hosts.el,
        h('section', { id: 'traffic', class: 'card' }, h('header', { class: 'card-head' }, h('h2', {}, 'Traffic on this node')), h('div', { class: 'charts' }, this.charts.rps.el, this.charts.p99.el, this.charts.active.el)),
        this.clusterTraffic.el,
        this.pools.el,
        this.listeners.el,
        this.certificates.el,
        this.audit.el,
      ),
      this.notices.el,
    );
  }

  start(): void {
    this.pollNow();
    void this.watchChanges();
  }

  stop(): void {
    this.stopped = true;
    this.watching.abort();
    if (this.timer) clearTimeout(this.timer);
  }

  /**
   * Long-polls /api/v1/changes so a change committed anywhere shows here within a round trip of
   * this node applying it; the one-second poll stays for traffic and as the fallback.
   */
  private async watchChanges(): Promise<void> {
    let after: number | null = null;
    let failures = 0;
    while (!this.stopped && failures < WATCH_MAX_FAILURES) {
      try {
        const path = after === null ? '/api/v1/changes' : `/api/v1/changes?after=${after}`;
        const r: { version?: unknown; changed?: unknown } = await this.client.get(path, this.watching.signal);
        failures = 0;
        if (typeof r.version !== 'number') return;
        if (r.changed === true) this.pollNow();
        after = r.version;
      } catch {
        if (this.stopped) return;
        failures++;
        await new Promise((resolve) => setTimeout(resolve, WATCH_RETRY_MS));
      }
    }
  }

  private async act(what: string, action: () => Promise<unknown>): Promise<boolean> {
    try {
      await action();
      this.notices.info(`${what}: done`);
      return true;
    } catch (err) {
      this.notices.error(err, `Could not ${what}`);
      return false;
    } finally {
      this.pollNow();
    }
  }

  private pollNow(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.polling = true;
    void this.poll().finally(() => {
      this.polling = false;
      if (this.stopped) return;
      if (this.pollAgain) {
        this.pollAgain = false;
        this.pollNow();
      } else {
        this.timer = setTimeout(() => this.pollNow(), POLL_MS);
      }
    });
  }

  private async poll(): Promise<void> {
    const withNodes = this.ticks % NODES_EVERY === 0;
    const withStats = this.ticks++ % STATS_EVERY === 0;
    const [cluster, pools, listeners, metrics, stats, audit, nodes] = await Promise.allSettled([
      this.client.get<unknown>('/api/v1/cluster'),
      this.client.get<unknown>('/api/v1/pools'),
      this.client.get<unknown>('/api/v1/listeners'),
      this.client.metricsText(),
      withStats ? this.client.get<unknown>('/api/v1/node/stats') : Promise.resolve(null),
      withStats ? this.client.get<unknown>('/api/v1/audit?limit=10') : Promise.resolve(null),
      withNodes ? this.client.get<unknown>('/api/v1/nodes') : Promise.resolve(null),
    ]);
    if (this.stopped) return;
    const failures: string[] = [];
    if (nodes.status === 'fulfilled') {
      if (nodes.value !== null) {
        const model = nodesFromApi(nodes.value);
        this.cluster.updateReports(model.nodes);
        this.hosts.update(model);
        this.clusterTraffic.update(this.clusterRates.push(model.nodes));
      }
    } else {
      this.hosts.unavailable(errorText(nodes.reason));
    }
    if (cluster.status === 'fulfilled') this.showCluster(clusterFromApi(cluster.value));
    else failures.push(errorText(cluster.reason, 'cluster'));
    if (pools.status === 'fulfilled') this.pools.update(listFromApi(pools.value, 'pools').map(poolFromApi));
    else failures.push(errorText(pools.reason, 'pools'));
    if (listeners.status === 'fulfilled') this.listeners.update(listFromApi(listeners.value, 'listeners').map(listenerFromApi));
    else failures.push(errorText(listeners.reason, 'listeners'));
    if (metrics.status === 'fulfilled') this.showMetrics(metrics.value);
    else failures.push(errorText(metrics.reason, 'metrics'));
    if (stats.status === 'fulfilled') {
      if (stats.value !== null) this.stats.update(nodeStatsFromApi(stats.value));
    } else {
      this.stats.unavailable(errorText(stats.reason));
    }
    if (audit.status === 'fulfilled' && audit.value !== null) this.audit.update(auditFromApi(audit.value));
    // Expiry moves in days: fetched with the slow-moving node stats, not every second.
    if (withStats) {
      void this.client
        .get<unknown>('/api/v1/certificates')
        .then((r) => this.certificates.update(listFromApi(r, 'certificates').map(certificateFromApi)))
        .catch(() => undefined);
    }
    if (failures.length === 0) this.lastOk = Date.now();
    setText(this.freshness, failures.length ? `update failed: ${failures[0] ?? ''}${this.lastOk ? ` (last good ${ago(Date.now() - this.lastOk)})` : ''}` : `live · ${new Date().toLocaleTimeString()}`);
    setAttr(this.freshness, 'data-ok', failures.length ? 'false' : 'true');
  }

  private showCluster(view: ClusterView): void {
    this.cluster.update(view);
    const me = view.nodes.find((n) => n.id === view.nodeId);
    const role = view.leader === view.nodeId ? 'leader' : (me?.role ?? 'unknown');
    setText(this.nodeBadge, `${view.nodeId} · ${role}`);
    setAttr(this.nodeBadge, 'class', `badge role-${role}`);
    setAttr(this.nodeBadge, 'data-role', role);
    const follower = view.leader !== view.nodeId;
    this.followerNote.hidden = !follower;
    if (follower) {
      setText(this.followerNote, view.leader ? `This node (${view.nodeId}) is a ${role}; the leader is ${view.leader}. Changes made here are forwarded to the leader.` : `This node (${view.nodeId}) knows no leader right now: changes cannot commit until an election completes.`);
    }
    document.title = `Ballast · ${view.nodeId} (${role})`;
  }

  private showMetrics(text: string): void {
    let rates;
    try {
      rates = this.history.push(snapshotFromSamples(parsePromText(text), Date.now()));
    } catch (err) {
      this.notices.error(err, 'Could not read /metrics');
      return;
    }
    if (rates) this.pools.updateRates(rates);
    this.charts.rps.update(this.history.rps);
    this.charts.p99.update(this.history.p99Ms);
    this.charts.active.update(this.history.active);
  }
}
