/// <reference lib="dom" />
// Recent changes from the audit log: who changed what, from where, through which node's API.
import { KeyedList, h, setText } from './dom.js';

export interface AuditEntry {
  seq: number;
  at: number;
  user: string;
  via: string;
  from: string;
  action: string;
  target: string;
  detail: string;
}

type Json = Record<string, unknown>;

export function auditFromApi(raw: unknown): AuditEntry[] {
  const entries = (raw && typeof raw === 'object' ? (raw as Json)['entries'] : null) ?? [];
  if (!Array.isArray(entries)) return [];
  return entries.map((e: unknown) => {
    const o = (e && typeof e === 'object' ? e : {}) as Json;
    const s = (k: string) => (typeof o[k] === 'string' ? o[k] : '');
    const n = (k: string) => (typeof o[k] === 'number' ? o[k] : 0);
    return { seq: n('seq'), at: n('at'), user: s('user'), via: s('via'), from: s('from'), action: s('action'), target: s('target'), detail: s('detail') };
  });
}

export class AuditSection {
  readonly el: HTMLElement;
  private readonly rows: KeyedList<AuditEntry, { el: HTMLTableRowElement; cells: HTMLElement[] }>;
  private readonly empty = h('p', { class: 'muted empty' }, 'No changes recorded yet.');

  constructor() {
    const tbody = h('tbody');
    this.el = h(
      'section',
      { id: 'audit', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Recent changes')),
      h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ...['When', 'User', 'Action', 'Target', 'Detail'].map((t) => h('th', {}, t)))), tbody),
      this.empty,
    );
    this.rows = new KeyedList(
      tbody,
      (e) => String(e.seq),
      (e) => {
        const cells: HTMLElement[] = [h('td'), h('td'), h('td'), h('td'), h('td', { class: 'muted' })];
        return { el: h('tr', { 'data-seq': e.seq }, ...cells), cells };
      },
      (row, e) => {
        const [when, user, action, target, detail] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement];
        setText(when, new Date(e.at).toLocaleTimeString());
        setText(user, `${e.user}${e.from ? ` (${e.from})` : ''}`);
        setText(action, e.action);
        setText(target, e.target);
        setText(detail, e.detail);
      },
    );
  }

  update(entries: AuditEntry[]): void {
    // Newest first.
    const sorted = [...entries].sort((a, b) => b.seq - a.seq).slice(0, 10);
    this.empty.hidden = sorted.length > 0;
    this.rows.sync(sorted);
  }
}
