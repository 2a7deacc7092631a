/// <reference lib="dom" />
// Pools and their backends: observed health (with the last check's reason), operator intent
// (state, weight), live traffic per backend, and the actions an operator takes on them.
import { KeyedList, h, setAttr, setText } from './dom.js';
import { openDialog } from './form-dialog.js';
import type { BackendModel, PoolModel } from './models.js';
import type { BackendRates, TrafficRates } from './traffic-history.js';
import { backendKey } from './traffic-history.js';
import type { ViewContext } from './types.js';
import { ago, percent, rate } from './units.js';

const enc = encodeURIComponent;

interface BackendRow {
  el: HTMLTableRowElement;
  address: HTMLElement;
  health: HTMLElement;
  reason: HTMLElement;
  state: HTMLElement;
  weight: HTMLElement;
  active: HTMLElement;
  rps: HTMLElement;
  errors: HTMLElement;
  buttons: Record<'drain' | 'enable' | 'disable', HTMLButtonElement>;
}

interface PoolCard {
  el: HTMLElement;
  meta: HTMLElement;
  empty: HTMLElement;
  backends: KeyedList<BackendModel, BackendRow>;
}

export class PoolsSection {
  readonly el: HTMLElement;
  private readonly cards: KeyedList<PoolModel, PoolCard>;
  private rates: TrafficRates | null = null;
  private pools: PoolModel[] = [];

  constructor(private readonly ctx: ViewContext) {
    const list = h('div', { class: 'pool-list' });
    const create = h('button', { class: 'btn btn-primary', type: 'button', 'data-action': 'create-pool' }, 'Create pool…');
    create.addEventListener('click', () => this.createPoolDialog());
    this.el = h('section', { id: 'pools', class: 'section' }, h('header', { class: 'section-head' }, h('h2', {}, 'Pools'), create), list);
    this.cards = new KeyedList(list, (p) => p.name, (p) => this.createCard(p), (card, p) => this.updateCard(card, p));
  }

  update(pools: PoolModel[]): void {
    this.pools = pools;
    this.cards.sync(pools);
  }

  /** Traffic arrives on its own schedule (the /metrics scrape); redraw only the numbers. */
  updateRates(rates: TrafficRates | null): void {
    this.rates = rates;
    this.cards.sync(this.pools);
  }

  poolNames(): string[] {
    return this.pools.map((p) => p.name);
  }

  private createCard(p: PoolModel): PoolCard {
    const tbody = h('tbody');
    const meta = h('span', { class: 'muted' });
    const empty = h('p', { class: 'muted empty' }, 'No backends yet.');
    const add = h('button', { class: 'btn btn-small', type: 'button', 'data-action': 'add-backend' }, 'Add backend…');
    add.addEventListener('click', () => this.addBackendDialog(p.name));
    const del = h('button', { class: 'btn btn-small btn-danger-outline', type: 'button', 'data-action': 'delete-pool' }, 'Delete pool');
    del.addEventListener('click', () =>
      openDialog({
        title: `Delete pool ${p.name}?`,
        text: 'Listeners that route to it must be changed first; the API refuses otherwise.',
        fields: [],
        submitLabel: 'Delete pool',
        danger: true,
        onSubmit: async () => {
          await this.ctx.client.send('DELETE', `/api/v1/pools/${enc(p.name)}`);
          this.ctx.changed(`pool ${p.name} deleted`);
        },
      }),
    );
    const headers = ['Backend', 'Address', 'Health', 'State', 'Weight', 'Active', 'Req/s', 'Errors', ''];
    const el = h(
      'article',
      { class: 'card pool', 'data-pool': p.name },
      h('header', { class: 'card-head' }, h('h3', {}, p.name), meta, h('div', { class: 'card-actions' }, add, del)),
      h('table', { class: 'table backends' }, h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', {}, t)))), tbody),
      empty,
    );
    const card: PoolCard = { el, meta, empty, backends: new KeyedList(tbody, (b) => b.name, (b) => this.createRow(p.name, b), (row, b) => this.updateRow(p.name, row, b)) };
    return card;
  }

  private updateCard(card: PoolCard, p: PoolModel): void {
    setText(card.meta, [p.scheduler, p.healthCheck || 'no health check', `${p.backends.length} backend${p.backends.length === 1 ? '' : 's'}`].join(' · '));
    card.empty.hidden = p.backends.length > 0;
    card.backends.sync(p.backends);
  }

  private createRow(pool: string, b: BackendModel): BackendRow {
    const td = () => h('td');
    const health = h('span', { class: 'badge' });
    const reason = h('small', { class: 'reason' });
    const state = h('span', { class: 'badge' });
    const btn = (action: string, label: string, onClick: () => void, cls = 'btn btn-small') => {
      const b_ = h('button', { class: cls, type: 'button', 'data-action': action }, label);
      b_.addEventListener('click', onClick);
      return b_;
    };
    const patch = (what: string, changes: { state?: string; weight?: number }) =>
      void this.ctx.act(`${what} ${pool}/${b.name}`, () => this.ctx.client.send('PATCH', `/api/v1/pools/${enc(pool)}/backends/${enc(b.name)}`, changes));
    const buttons = {
      drain: btn('drain', 'Drain', () => patch('drain', { state: 'drain' })),
      enable: btn('enable', 'Enable', () => patch('enable', { state: 'active' })),
      disable: btn('disable', 'Disable', () => patch('disable', { state: 'disabled' })),
    };
    const weightBtn = btn('weight', 'Weight…', () => this.weightDialog(pool, b.name));
    const remove = btn('remove', 'Remove', () => this.removeDialog(pool, b.name), 'btn btn-small btn-danger-outline');
    const row: BackendRow = { el: h('tr', { 'data-backend': b.name }), address: td(), health, reason, state, weight: td(), active: td(), rps: td(), errors: td(), buttons };
    row.el.append(
      h('td', { class: 'name' }, b.name),
      row.address,
      h('td', {}, health, reason),
      h('td', {}, state),
      row.weight,
      row.active,
      row.rps,
      row.errors,
      h('td', { class: 'actions' }, buttons.drain, buttons.enable, buttons.disable, weightBtn, remove),
    );
    return row;
  }

  private updateRow(pool: string, row: BackendRow, b: BackendModel): void {
    setText(row.address, b.address + (b.backup ? ' (backup)' : ''));
    setText(row.health, b.health);
    setAttr(row.health, 'class', `badge health-${b.health}`);
    const since = b.healthSince ? ` · ${ago(Date.now() - b.healthSince)}` : '';
    setText(row.reason, b.healthReason ? `${b.healthReason}${since}` : since.replace(' · ', ''));
    setText(row.state, b.state);
    setAttr(row.state, 'class', `badge state-${b.state}`);
    setAttr(row.el, 'data-state', b.state);
    setAttr(row.el, 'data-health', b.health);
    setText(row.weight, String(b.weight));
    row.buttons.drain.hidden = b.state === 'drain';
    row.buttons.enable.hidden = b.state === 'active';
    row.buttons.disable.hidden = b.state === 'disabled';
    const r: BackendRates | undefined = this.rates?.backends.get(backendKey(pool, b.name));
    setText(row.active, r ? String(r.active) : b.active === null ? '–' : String(b.active));
    setText(row.rps, r ? rate(r.requestsPerSec) : '–');
    setText(row.errors, r?.errorRate === null || r === undefined ? '–' : percent(r.errorRate));
    setAttr(row.errors, 'class', r?.errorRate ? 'errors-nonzero' : null);
  }

  private weightDialog(pool: string, backend: string): void {
    const current = this.pools.find((p) => p.name === pool)?.backends.find((b) => b.name === backend)?.weight;
    openDialog({
      title: `Weight of ${pool}/${backend}`,
      fields: [{ name: 'weight', label: 'Weight', type: 'number', value: current === undefined ? '' : String(current), hint: '0..256; 0 takes no new traffic, like drain', required: true }],
      submitLabel: 'Set weight',
      onSubmit: async (v) => {
        await this.ctx.client.send('PATCH', `/api/v1/pools/${enc(pool)}/backends/${enc(backend)}`, { weight: Number(v['weight']) });
        this.ctx.changed(`weight of ${pool}/${backend} set to ${v['weight'] ?? ''}`);
      },
    });
  }

  private removeDialog(pool: string, backend: string): void {
    openDialog({
      title: `Remove ${backend} from ${pool}?`,
      text: 'Established connections finish; the backend gets no new ones.',
      fields: [],
      submitLabel: 'Remove',
      danger: true,
      onSubmit: async () => {
        await this.ctx.client.send('DELETE', `/api/v1/pools/${enc(pool)}/backends/${enc(backend)}`);
        this.ctx.changed(`${pool}/${backend} removed`);
      },
    });
  }

  private addBackendDialog(pool: string): void {
    openDialog({
      title: `Add a backend to ${pool}`,
      fields: [
        { name: 'name', label: 'Name', placeholder: 'web4', required: true },
        { name: 'address', label: 'Address', placeholder: '127.0.0.1:9104', required: true },
        { name: 'weight', label: 'Weight', type: 'number', value: '1' },
        { name: 'state', label: 'State', type: 'select', options: ['active', 'drain', 'disabled'], value: 'active' },
      ],
      submitLabel: 'Add backend',
      onSubmit: async (v) => {
        const body: Record<string, unknown> = { name: v['name'], address: v['address'], state: v['state'] };
        if (v['weight']) body['weight'] = Number(v['weight']);
        await this.ctx.client.send('POST', `/api/v1/pools/${enc(pool)}/backends`, body);
        this.ctx.changed(`${pool}/${v['name'] ?? ''} added`);
      },
    });
  }

  private createPoolDialog(): void {
    openDialog({
      title: 'Create a pool',
      fields: [
        { name: 'name', label: 'Name', placeholder: 'api', required: true },
        { name: 'scheduler', label: 'Scheduler', type: 'select', options: ['round-robin', 'least-conn', 'ip-hash'], value: 'round-robin' },
        { name: 'check', label: 'Health check', type: 'select', options: ['http', 'tcp', 'none'], value: 'http' },
        { name: 'path', label: 'HTTP check path', value: '/health' },
        { name: 'interval', label: 'Check interval', value: '2s' },
        // The API wants the timeout shorter than the interval; without this field a short interval
        // was refused over a field the form did not show.
        { name: 'timeout', label: 'Check timeout', value: '1s', hint: 'shorter than the interval' },
        { name: 'backends', label: 'Backends', type: 'textarea', placeholder: 'name=address[,weight] per line, e.g.\napi1=127.0.0.1:9201,2', hint: 'optional; more can be added later' },
      ],
      submitLabel: 'Create pool',
      onSubmit: async (v) => {
        const body: Record<string, unknown> = { name: v['name'], scheduler: v['scheduler'], backends: parseBackendLines(v['backends'] ?? '') };
        const timing = { interval: v['interval'] || '2s', timeout: v['timeout'] || '1s' };
        if (v['check'] === 'http') body['healthCheck'] = { type: 'http', path: v['path'] || '/', ...timing };
        else if (v['check'] === 'tcp') body['healthCheck'] = { type: 'tcp', ...timing };
        await this.ctx.client.send('POST', '/api/v1/pools', body);
        this.ctx.changed(`pool ${v['name'] ?? ''} created`);
      },
    });
  }
}

/** "web1=127.0.0.1:9101,3" lines; the API validates what they say. */
export function parseBackendLines(text: string): { name: string; address: string; weight?: number }[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [name = '', rest = ''] = line.split('=', 2).map((s) => s.trim());
      const [address = '', weight] = rest.split(',').map((s) => s.trim());
      return weight ? { name, address, weight: Number(weight) } : { name, address };
    });
}
