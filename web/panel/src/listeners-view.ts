/// <reference lib="dom" />
// Listeners: where clients connect and which pools they reach; create and delete.
import { KeyedList, h, setText } from './dom.js';
import { openDialog } from './form-dialog.js';
import { openSplitDialog } from './split-dialog.js';
import type { ListenerModel } from './models.js';
import type { ViewContext } from './types.js';

interface ListenerRow {
  el: HTMLTableRowElement;
  cells: HTMLElement[];
  split: HTMLButtonElement;
  model: ListenerModel;
}

export class ListenersSection {
  readonly el: HTMLElement;
  private readonly rows: KeyedList<ListenerModel, ListenerRow>;
  private readonly empty = h('p', { class: 'muted empty' }, 'No listeners.');

  constructor(
    private readonly ctx: ViewContext,
    private readonly poolNames: () => string[],
  ) {
    const tbody = h('tbody');
    const create = h('button', { class: 'btn btn-primary', type: 'button', 'data-action': 'create-listener' }, 'Create listener…');
    create.addEventListener('click', () => this.createDialog());
    this.el = h(
      'section',
      { id: 'listeners', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Listeners'), h('div', { class: 'card-actions' }, create)),
      h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ...['Listener', 'Mode', 'Bind', 'Routes to', ''].map((t) => h('th', {}, t)))), tbody),
      this.empty,
    );
    this.rows = new KeyedList(tbody, (l) => l.name, (l) => this.createRow(l), (row, l) => this.updateRow(row, l));
  }

  update(listeners: ListenerModel[]): void {
    this.empty.hidden = listeners.length > 0;
    this.rows.sync(listeners);
  }

  private createRow(l: ListenerModel): ListenerRow {
    const cells: HTMLElement[] = [h('td', { class: 'name' }), h('td'), h('td'), h('td')];
    const del = h('button', { class: 'btn btn-small btn-danger-outline', type: 'button', 'data-action': 'delete-listener' }, 'Delete');
    del.addEventListener('click', () =>
      openDialog({
        title: `Delete listener ${l.name}?`,
        text: 'It stops accepting at once; established connections finish.',
        fields: [],
        submitLabel: 'Delete listener',
        danger: true,
        onSubmit: async () => {
          await this.ctx.client.send('DELETE', `/api/v1/listeners/${encodeURIComponent(l.name)}`);
          this.ctx.changed(`listener ${l.name} deleted`);
        },
      }),
    );
    const split = h('button', { class: 'btn btn-small', type: 'button', 'data-action': 'edit-split', hidden: l.splits.length === 0 }, 'Split…');
    const row: ListenerRow = { el: h('tr', { 'data-listener': l.name }, ...cells, h('td', { class: 'actions' }, split, del)), cells, split, model: l };
    split.addEventListener('click', () => openSplitDialog(this.ctx, row.model));
    return row;
  }

  private updateRow(row: ListenerRow, l: ListenerModel): void {
    row.model = l;
    row.split.hidden = l.splits.length === 0;
    const [name, mode, bind, target] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    setText(name, l.name);
    setText(mode, l.mode);
    setText(bind, l.bind);
    setText(target, l.target);
  }

  private createDialog(): void {
    const pools = this.poolNames();
    openDialog({
      title: 'Create a listener',
      fields: [
        { name: 'name', label: 'Name', placeholder: 'web', required: true },
        { name: 'mode', label: 'Mode', type: 'select', options: ['http', 'tcp'], value: 'http' },
        { name: 'bind', label: 'Bind address', placeholder: '127.0.0.1:8090', required: true },
        { name: 'pool', label: 'Pool', type: 'select', options: pools, value: pools[0] ?? '' },
        { name: 'pathPrefix', label: 'Path prefix (http)', value: '/' },
      ],
      submitLabel: 'Create listener',
      onSubmit: async (v) => {
        const body =
          v['mode'] === 'tcp'
            ? { name: v['name'], mode: 'tcp', bind: v['bind'], pool: v['pool'] }
            : { name: v['name'], mode: 'http', bind: v['bind'], routes: [{ pathPrefix: v['pathPrefix'] || '/', pool: v['pool'] }] };
        await this.ctx.client.send('POST', '/api/v1/listeners', body);
        this.ctx.changed(`listener ${v['name'] ?? ''} created`);
      },
    });
  }
}
