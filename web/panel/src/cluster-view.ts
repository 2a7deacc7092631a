/// <reference lib="dom" />
// The cluster section: this node's role, the leader, term and commit index, every node with its
// role, last contact and match index, who holds the VIP, and leadership transfer. A follower's Raft
// knows only the leader's role: the others' roles come from their own reports, labelled with age.
import { KeyedList, h, setAttr, setText } from './dom.js';
import { openDialog } from './form-dialog.js';
import type { ClusterView, NodeReportModel } from './models.js';
import type { ViewContext } from './types.js';
import { ago } from './units.js';

type NodeRow = { el: HTMLTableRowElement; cells: HTMLElement[]; role: HTMLElement; roleNote: HTMLElement; vip: HTMLElement; transfer: HTMLButtonElement };

export class ClusterSection {
  readonly el: HTMLElement;
  private readonly summary = h('dl', { class: 'summary' });
  private readonly rows: KeyedList<ClusterView['nodes'][number], NodeRow>;
  private view: ClusterView | null = null;
  private reports = new Map<string, NodeReportModel>();

  constructor(private readonly ctx: ViewContext) {
    const tbody = h('tbody');
    const transfer = h('button', { class: 'btn', type: 'button', 'data-action': 'transfer-leadership' }, 'Transfer leadership…');
    transfer.addEventListener('click', () => this.transferDialog());
    this.el = h(
      'section',
      { id: 'cluster', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Cluster'), h('div', { class: 'card-actions' }, transfer)),
      this.summary,
      h('table', { class: 'table', id: 'nodes' }, h('thead', {}, h('tr', {}, ...['Node', 'Address', 'Role', 'Last contact', 'Match index', 'VIP', ''].map((t) =>
              t === 'Match index' ? h('th', { title: 'Replication progress is known only to the leader: on a follower it reads –' }, 'Match index (leader only)') : h('th', {}, t),
            ))), tbody),
    );
    this.rows = new KeyedList(tbody, (n) => n.id, (n) => this.createRow(n), (row, n) => this.updateRow(row, n));
  }

  update(view: ClusterView): void {
    this.view = view;
    const items: [string, string, string][] = [
      ['This node', view.nodeId, 'this-node'],
      ['Leader', view.leader ?? 'none (election under way)', 'leader'],
      ['Term', String(view.term), 'term'],
      ['Commit index', String(view.commitIndex), 'commit-index'],
      ['VIP', view.vip.address ? `${view.vip.address} on ${view.vip.holder ?? 'no node'}` : 'none configured', 'vip'],
    ];
    if (this.summary.children.length === 0) {
      for (const [label, , key] of items) this.summary.append(h('div', {}, h('dt', {}, label), h('dd', { 'data-key': key })));
    }
    for (const [, value, key] of items) {
      const dd = this.summary.querySelector(`dd[data-key="${key}"]`);
      if (dd) setText(dd, value);
    }
    this.rows.sync(view.nodes);
  }

  /** Each node's own report (GET /api/v1/nodes): fills in roles this node's Raft does not know. */
  updateReports(nodes: readonly NodeReportModel[]): void {
    this.reports = new Map(nodes.map((n) => [n.id, n]));
    if (this.view) this.rows.sync(this.view.nodes);
  }

  private createRow(n: ClusterView['nodes'][number]): NodeRow {
    const cells: HTMLElement[] = [h('td'), h('td'), h('td'), h('td')];
    const role = h('span', { class: 'badge' });
    const roleNote = h('span', { class: 'muted role-note' });
    const vip = h('td', { class: 'vip-cell' });
    const transfer = h('button', { class: 'btn btn-small', type: 'button', 'data-action': 'make-leader' }, 'Make leader');
    transfer.addEventListener('click', () => void this.ctx.act(`transfer leadership to ${n.id}`, () => this.ctx.client.send('POST', '/api/v1/cluster/transfer-leadership', { to: n.id })));
    const [id, address, contact, match] = cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    const el = h('tr', { 'data-node': n.id }, id, address, h('td', {}, role, ' ', roleNote), contact, match, vip, h('td', { class: 'actions' }, transfer));
    return { el, cells, role, roleNote, vip, transfer };
  }

  private updateRow(row: NodeRow, n: ClusterView['nodes'][number]): void {
    const view = this.view;
    const [id, address, contact, match] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    setText(id, view?.nodeId === n.id ? `${n.id} (this node)` : n.id);
    setText(address, n.address);
    const report = this.reports.get(n.id);
    // What this node's Raft knows wins; otherwise the node's own word: fresh, as the API gives it, or
    // stale from the reports, unless the node went silent.
    const reported = n.roleFrom === 'report' ? n.role : n.role === 'unknown' && report?.raft && report.status !== 'unreachable' ? report.raft.role : null;
    const role = reported ?? n.role;
    setText(row.role, role);
    setAttr(row.role, 'class', `badge role-${role}`);
    setText(row.roleNote, report?.status === 'unreachable' ? `unreachable${report.ageMs === null ? '' : ` (last report ${ago(report.ageMs)})`}` : reported && report?.ageMs !== null && report?.ageMs !== undefined ? `reported ${ago(report.ageMs)}` : '');
    setAttr(row.el, 'data-role-source', reported ? 'report' : 'raft');
    setAttr(row.el, 'data-report', report?.status ?? null);
    setText(contact, n.lastContactMs === null ? '–' : view?.nodeId === n.id ? 'self' : ago(n.lastContactMs));
    setText(match, n.matchIndex === null ? '–' : String(n.matchIndex));
    const holds = view?.vip.holder === n.id;
    setText(row.vip, holds ? `holds ${view.vip.address ?? ''}` : '');
    setAttr(row.el, 'data-vip', holds ? 'holder' : null);
    setAttr(row.el, 'data-role', role);
    row.transfer.hidden = role === 'leader' || view?.leader === n.id;
  }

  private transferDialog(): void {
    const view = this.view;
    const candidates = (view?.nodes ?? []).filter((n) => n.id !== view?.leader).map((n) => n.id);
    openDialog({
      title: 'Transfer leadership',
      text: `The leader (${view?.leader ?? 'none'}) hands over; the VIP follows the new leader.`,
      fields: [{ name: 'to', label: 'To node', type: 'select', options: ['(any up-to-date node)', ...candidates] }],
      submitLabel: 'Transfer',
      onSubmit: async (v) => {
        const body = v['to'] && !v['to'].startsWith('(') ? { to: v['to'] } : {};
        await this.ctx.client.send('POST', '/api/v1/cluster/transfer-leadership', body);
        this.ctx.changed('leadership transfer started');
      },
    });
  }
}
