/// <reference lib="dom" />
// Element building and keyed in-place row updates: polling every second must not rebuild rows, or
// a click that lands while a row is replaced would be lost and open inputs would lose focus.

type Child = Node | string | number | null | undefined | false;
type AttrValue = string | number | boolean | null | undefined | ((ev: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, AttrValue> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

/** Sets text only when it differs, so polling does not churn the DOM (or the selection). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el: Element, name: string, value: string | null): void {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) {
    el.setAttribute(name, value);
  }
}

/** Children of `parent` kept in step with a list of items by key: created once, updated in place. */
export class KeyedList<T, R extends { el: Element }> {
  private readonly rows = new Map<string, R>();

  constructor(
    private readonly parent: Element,
    private readonly key: (item: T) => string,
    private readonly create: (item: T) => R,
    private readonly update: (row: R, item: T) => void,
  ) {}

  sync(items: readonly T[]): void {
    const seen = new Set<string>();
    let previous: Element | null = null;
    for (const item of items) {
      const k = this.key(item);
      seen.add(k);
      let row = this.rows.get(k);
      if (!row) {
        row = this.create(item);
        this.rows.set(k, row);
      }
      this.update(row, item);
      const wanted: ChildNode | null = previous ? previous.nextSibling : this.parent.firstChild;
      if (wanted !== row.el) this.parent.insertBefore(row.el, wanted);
      previous = row.el;
    }
    for (const [k, row] of this.rows) {
      if (!seen.has(k)) {
        row.el.remove();
        this.rows.delete(k);
      }
    }
  }

  get(key: string): R | undefined {
    return this.rows.get(key);
  }
}
