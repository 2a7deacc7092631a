/// <reference lib="dom" />
// This node's host: CPU, memory, load and network interfaces.
import { KeyedList, h, setText } from './dom.js';
import type { NodeStats } from './models.js';
import { bytes, percent } from './units.js';

type Iface = NodeStats['interfaces'][number];

export class NodeStatsSection {
  readonly el: HTMLElement;
  private readonly cpu = h('dd', { 'data-key': 'cpu' }, '–');
  private readonly mem = h('dd', { 'data-key': 'memory' }, '–');
  private readonly load = h('dd', { 'data-key': 'load' }, '–');
  private readonly uptime = h('dd', { 'data-key': 'uptime' }, '–');
  private readonly note = h('p', { class: 'muted', hidden: true });
  private readonly ifaces: KeyedList<Iface, { el: HTMLTableRowElement; cells: HTMLElement[] }>;

  constructor() {
    const tbody = h('tbody');
    this.el = h(
      'section',
      { id: 'node-stats', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'This node')),
      h('dl', { class: 'summary' }, ...[['CPU', this.cpu], ['Memory', this.mem], ['Load (1/5/15 min)', this.load], ['Uptime', this.uptime]].map(([label, dd]) => h('div', {}, h('dt', {}, label as string), dd as HTMLElement))),
      h('table', { class: 'table', id: 'interfaces' }, h('thead', {}, h('tr', {}, ...['Interface', 'IPv4', 'Link', 'Rx', 'Tx'].map((t) => h('th', {}, t)))), tbody),
      this.note,
    );
    this.ifaces = new KeyedList(
      tbody,
      (i) => i.name,
      (i) => {
        const cells: HTMLElement[] = [h('td'), h('td'), h('td'), h('td'), h('td')];
        return { el: h('tr', { 'data-iface': i.name }, ...cells), cells };
      },
      (row, i) => {
        const [name, ip, link, rx, tx] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement];
        setText(name, i.name);
        setText(ip, i.ip4 || '–');
        setText(link, i.up ? 'up' : 'down');
        setText(rx, i.rxBytesPerSec === null ? '–' : `${bytes(i.rxBytesPerSec)}/s`);
        setText(tx, i.txBytesPerSec === null ? '–' : `${bytes(i.txBytesPerSec)}/s`);
      },
    );
  }

  update(s: NodeStats): void {
    this.note.hidden = true;
    setText(this.cpu, `${percent(s.cpu.percent / 100)} of ${s.cpu.cores} core${s.cpu.cores === 1 ? '' : 's'}`);
    setText(this.mem, s.memory.total ? `${bytes(s.memory.used)} of ${bytes(s.memory.total)} (${percent(s.memory.used / s.memory.total)})` : '–');
    setText(this.load, s.load.length ? s.load.map((l) => l.toFixed(2)).join(' / ') : '–');
    setText(this.uptime, s.uptimeSec === null ? '–' : `${(s.uptimeSec / 3600).toFixed(1)} h`);
    this.ifaces.sync(s.interfaces);
  }

  unavailable(reason: string): void {
    setText(this.note, `Node stats unavailable: ${reason}`);
    this.note.hidden = false;
  }
}
