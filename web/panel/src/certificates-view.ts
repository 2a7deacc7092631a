/// <reference lib="dom" />
// TLS certificates of the cluster: names served, expiry, and a warning 30 days out (read-only here;
// uploads go through `ballast ctl cert add` or the API, which take PEM files).
import { KeyedList, h, setAttr, setText } from './dom.js';

export interface CertificateModel {
  name: string;
  names: string;
  notAfter: string;
  left: string;
  warning: string | null;
  usedBy: string;
}

/** Reads one entry of GET /api/v1/certificates defensively: a missing field shows as "-". */
export function certificateFromApi(raw: unknown): CertificateModel {
  const r = (raw ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '-');
  const list = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.map(String).join(', ') : '-');
  const days = typeof r['expiresInDays'] === 'number' ? Math.floor(r['expiresInDays']) : null;
  return {
    name: str(r['name']),
    names: list(r['names']),
    notAfter: str(r['notAfter']).slice(0, 10),
    left: days === null ? '-' : `${days} days`,
    warning: typeof r['warning'] === 'string' ? r['warning'] : null,
    usedBy: list(r['usedBy']),
  };
}

interface Row {
  el: HTMLTableRowElement;
  cells: HTMLElement[];
}

export class CertificatesSection {
  readonly el: HTMLElement;
  private readonly rows: KeyedList<CertificateModel, Row>;
  private readonly empty = h('p', { class: 'muted empty' }, 'No certificates. Upload one with `ballast ctl cert add NAME --cert chain.pem --key key.pem`.');

  constructor() {
    const tbody = h('tbody');
    this.el = h(
      'section',
      { id: 'certificates', class: 'card' },
      h('header', { class: 'card-head' }, h('h2', {}, 'Certificates')),
      h('table', { class: 'table' }, h('thead', {}, h('tr', {}, ...['Certificate', 'Names', 'Expires', 'Left', 'Listeners'].map((t) => h('th', {}, t)))), tbody),
      this.empty,
    );
    this.rows = new KeyedList(tbody, (c) => c.name, (c) => this.createRow(c), (row, c) => this.updateRow(row, c));
  }

  update(certs: CertificateModel[]): void {
    this.empty.hidden = certs.length > 0;
    this.rows.sync(certs);
  }

  private createRow(c: CertificateModel): Row {
    const cells = [h('td', { class: 'name' }), h('td'), h('td'), h('td'), h('td')];
    return { el: h('tr', { 'data-certificate': c.name }, ...cells), cells };
  }

  private updateRow(row: Row, c: CertificateModel): void {
    const [name, names, notAfter, left, usedBy] = row.cells as [HTMLElement, HTMLElement, HTMLElement, HTMLElement, HTMLElement];
    setText(name, c.name);
    setText(names, c.names);
    setText(notAfter, c.notAfter);
    setText(left, c.warning === null ? c.left : `${c.left} · ${c.warning}`);
    setAttr(left, 'class', c.warning === null ? null : 'warn');
    setAttr(left, 'title', c.warning);
    setText(usedBy, c.usedBy);
  }
}
