/// <reference lib="dom" />
// Requests/s and error rate per backend summed over every node that reports now (not just this
// node, as the pools table and the charts are), saying which nodes are in the sums.
import type { ClusterTrafficView } from './cluster-traffic.js';
import { KeyedList, h, setText } from './dom.js';
import { percent, rate } from './units.js';

type Row = { el: HTMLTableRowElement; cells: HTMLElement[] };
type Item = ClusterTrafficView['rows'][number];

export class ClusterTrafficSection {
  readonly el: HTMLElement;
  private readonly note = h('p', { class: 'muted', 'data-key': 'counted' }, 'Waiting for two reports from each node…');
  private readonly rows: KeyedList<Item, Row>;

  constructor() {
    const tbody = h('tbody');
    this.el = h(
      'section',
      { id: 'cluster-traffic', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Traffic across the cluster (sum over nodes)')),
      h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ...['Pool', 'Backend', 'Requests/s (all nodes)', 'Error rate (5xx, all nodes)'].map((t) => h('th', {}, t)))), tbody),
      this.note,
    );
    this.rows = new KeyedList(
      tbody,
      (r) => `${r.pool}/${r.backend}`,
      (r) => {
        const cells: HTMLElement[] = [h('td'), h('td', { class: 'name' }), h('td', { 'data-key': 'rps' }), h('td', { 'data-key': 'errors' })];
        return { el: h('tr', { 'data-pool': r.pool, 'data-backend': r.backend }, ...cells), cells };
      },
      (row, r) => {
        const [pool, backend, rps, errors] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
        setText(pool, r.pool);
        setText(backend, r.backend);
        setText(rps, rate(r.rps));
        setText(errors, r.errorRate === null ? '–' : percent(r.errorRate));
      },
    );
  }

  update(view: ClusterTrafficView): void {
    this.rows.sync(view.rows);
    const counted = view.counted.length ? `Summed over ${view.counted.join(', ')}` : 'No node has reported twice yet';
    setText(this.note, `${counted}${view.missing.length ? `; not counted (unreachable, stale or first report): ${view.missing.join(', ')}` : ''}. Rates are over each node's report interval.`);
  }
}
