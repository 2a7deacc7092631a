/// <reference lib="dom" />
// Every node's host as the node itself reported it over the peer link: CPU, memory, load and
// interfaces, with the age of the report and "unreachable" for a node gone silent.
import { KeyedList, h, setAttr, setText } from './dom.js';
import type { NodeReportModel, NodesModel } from './models.js';
import { ago, bytes, percent } from './units.js';

type Row = { el: HTMLTableRowElement; cells: HTMLElement[]; status: HTMLElement };

function statusText(n: NodeReportModel): string {
  switch (n.status) {
    case 'self':
      return 'this node, now';
    case 'fresh':
    case 'stale':
      return `${n.status === 'stale' ? 'stale, ' : ''}${n.ageMs === null ? '' : ago(n.ageMs)}`;
    case 'unreachable':
      return n.ageMs === null ? 'unreachable: no report yet' : `unreachable: last report ${ago(n.ageMs)}`;
    default: {
      const never: never = n.status;
      return never;
    }
  }
}

export class NodeHostsSection {
  readonly el: HTMLElement;
  private readonly note = h('p', { class: 'muted' }, 'Each node reports itself to its peers every few seconds.');
  private readonly rows: KeyedList<NodeReportModel, Row>;

  constructor() {
    const tbody = h('tbody');
    this.el = h(
      'section',
      { id: 'node-hosts', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Nodes')),
      h('table', { class: 'table', id: 'hosts' }, h('thead', {}, h('tr', {}, ...['Node', 'Report', 'Role', 'CPU', 'Memory', 'Load (1/5/15 min)', 'Interfaces'].map((t) => h('th', {}, t)))), tbody),
      this.note,
    );
    this.rows = new KeyedList(
      tbody,
      (n) => n.id,
      (n) => {
        const status = h('span', { class: 'badge' });
        const cells: HTMLElement[] = [h('td', { class: 'name' }), h('td', {}, status), h('td'), h('td', { 'data-key': 'cpu' }), h('td', { 'data-key': 'memory' }), h('td', { 'data-key': 'load' }), h('td', { 'data-key': 'interfaces' })];
        return { el: h('tr', { 'data-node': n.id }, ...cells), cells, status };
      },
      (row, n) => this.updateRow(row, n),
    );
  }

  update(model: NodesModel): void {
    setText(this.note, `Each node reports itself to its peers every ${(model.reportEveryMs / 1000).toFixed(0)} s; ages are as ${model.answeredBy} received the reports. Figures of an unreachable node are its last known ones.`);
    this.rows.sync(model.nodes);
  }

  unavailable(reason: string): void {
    setText(this.note, `Node reports unavailable: ${reason}`);
  }

  private updateRow(row: Row, n: NodeReportModel): void {
    const [id, , role, cpu, mem, load, ifaces] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    const s = n.stats;
    setText(id, n.id);
    setText(row.status, statusText(n));
    setAttr(row.status, 'class', `badge report-${n.status}`);
    setAttr(row.el, 'data-status', n.status);
    setAttr(row.el, 'data-role', n.raft?.role ?? null);
    setText(role, n.raft ? `${n.raft.role} · term ${n.raft.term} · commit ${n.raft.commitIndex}` : '–');
    setText(cpu, s ? `${percent(s.cpu.percent / 100)} of ${s.cpu.cores} core${s.cpu.cores === 1 ? '' : 's'}` : '–');
    setText(mem, s && s.memory.total ? `${bytes(s.memory.used)} of ${bytes(s.memory.total)}` : '–');
    setText(load, s && s.load.length ? s.load.map((l) => l.toFixed(2)).join(' / ') : '–');
    setText(ifaces, s ? s.interfaces.filter((i) => i.ip4).map((i) => `${i.name} ${i.ip4}${i.up ? '' : ' (down)'}`).join(', ') || '–' : '–');
  }
}
