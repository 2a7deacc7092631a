/// <reference lib="dom" />
// Messages to the operator: failed actions with the API's message and field, and confirmations.
import { ApiError } from './api-client.js';
import { h } from './dom.js';

export function describeError(err: unknown): { message: string; field: string | null; code: string | null } {
  if (err instanceof ApiError) return { message: err.message, field: err.field, code: err.code };
  if (err instanceof Error) return { message: err.message, field: null, code: null };
  return { message: String(err), field: null, code: null };
}

/** "field: x", unless the message already starts with the field's name. */
export function fieldNote(message: string, field: string | null): string | null {
  return field && !message.startsWith(field) ? `field: ${field}` : null;
}

/** "what failed: message (field: x, CODE)" in one line. */
export function errorText(err: unknown, what?: string): string {
  const e = describeError(err);
  const extra = [fieldNote(e.message, e.field), e.code].filter(Boolean).join(', ');
  return `${what ? `${what}: ` : ''}${e.message}${extra ? ` (${extra})` : ''}`;
}

export class Notices {
  readonly el = h('div', { class: 'notices', role: 'status', 'aria-live': 'polite' });

  error(err: unknown, what?: string): void {
    this.show('error', errorText(err, what), 12_000);
  }

  info(text: string): void {
    this.show('info', text, 4_000);
  }

  private show(kind: 'error' | 'info', text: string, ms: number): void {
    const close = h('button', { class: 'notice-close', type: 'button', 'aria-label': 'dismiss' }, '×');
    const item = h('div', { class: `notice notice-${kind}`, 'data-kind': kind }, h('span', { class: 'notice-text' }, text), close);
    close.addEventListener('click', () => item.remove());
    this.el.append(item);
    while (this.el.children.length > 5) this.el.firstElementChild?.remove();
    setTimeout(() => item.remove(), ms);
  }
}
