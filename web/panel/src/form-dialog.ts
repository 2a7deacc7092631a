/// <reference lib="dom" />
// Modal forms for operator actions. The API is the one validator: its 400 comes back here with the
// message, and the field it names is marked in the form.
import { h } from './dom.js';
import { describeError, fieldNote } from './notice.js';

export interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'number' | 'password' | 'select' | 'textarea';
  value?: string;
  options?: readonly string[];
  placeholder?: string;
  hint?: string;
  required?: boolean;
}

export interface DialogSpec {
  title: string;
  /** Shown above the fields (e.g. what a confirmation will do). */
  text?: string;
  fields: FieldSpec[];
  submitLabel: string;
  danger?: boolean;
  /** Resolves when the change is done; a rejection keeps the dialog open with the error. */
  onSubmit(values: Record<string, string>): Promise<void>;
}

/** "backends[0].address", "/weight" or "body.weight" all name the input "address" / "weight". */
function matchField(apiField: string, names: readonly string[]): string | null {
  if (names.includes(apiField)) return apiField;
  const parts = apiField.split(/[./[\]]+/).filter(Boolean);
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    if (p !== undefined && names.includes(p)) return p;
  }
  return null;
}

export function openDialog(spec: DialogSpec): HTMLDialogElement {
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>();
  const rows = spec.fields.map((f) => {
    const id = `f-${f.name}-${Math.random().toString(36).slice(2, 8)}`;
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (f.type === 'select') {
      input = h('select', { id, name: f.name }, ...(f.options ?? []).map((o) => h('option', { value: o, selected: o === f.value }, o)));
    } else if (f.type === 'textarea') {
      input = h('textarea', { id, name: f.name, rows: 3, placeholder: f.placeholder ?? null }, f.value ?? '');
    } else {
      input = h('input', { id, name: f.name, type: f.type ?? 'text', value: f.value ?? null, placeholder: f.placeholder ?? null, required: f.required ?? false, autocomplete: 'off' });
    }
    inputs.set(f.name, input);
    return h('div', { class: 'field', 'data-field': f.name }, h('label', { for: id }, f.label), input, f.hint ? h('small', { class: 'hint' }, f.hint) : null);
  });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: spec.danger ? 'btn btn-danger' : 'btn btn-primary' }, spec.submitLabel);
  const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
  const form = h('form', { method: 'dialog', class: 'dialog-form' }, h('h2', {}, spec.title), spec.text ? h('p', {}, spec.text) : null, ...rows, error, h('div', { class: 'dialog-actions' }, cancel, submit));
  const dialog = h('dialog', { class: 'dialog' }, form);

  const close = () => {
    dialog.close();
    dialog.remove();
  };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', () => dialog.remove());
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const values: Record<string, string> = {};
    for (const [name, input] of inputs) values[name] = input.value.trim();
    for (const row of rows) row.classList.remove('field-invalid');
    error.hidden = true;
    submit.disabled = true;
    spec.onSubmit(values).then(close, (err: unknown) => {
      submit.disabled = false;
      const e = describeError(err);
      const field = e.field ? matchField(e.field, [...inputs.keys()]) : null;
      const note = fieldNote(e.message, e.field);
      error.textContent = `${e.message}${note ? ` (${note})` : ''}`;
      error.hidden = false;
      if (field) {
        rows.find((r) => r.dataset['field'] === field)?.classList.add('field-invalid');
        inputs.get(field)?.focus();
      }
    });
  });
  document.body.append(dialog);
  dialog.showModal();
  (inputs.values().next().value ?? submit).focus();
  return dialog;
}
