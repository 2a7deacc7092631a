/// <reference lib="dom" />
// The login form: a session cookie plus a CSRF token for writes, from POST /api/v1/session.
import type { ApiClient } from './api-client.js';
import { h } from './dom.js';
import { errorText } from './notice.js';

export function loginView(client: ApiClient, onLoggedIn: () => void, message?: string): HTMLElement {
  const user = h('input', { name: 'user', id: 'login-user', autocomplete: 'username', required: true, value: 'admin' });
  const password = h('input', { name: 'password', id: 'login-password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: !message }, message ?? '');
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Log in');
  const form = h(
    'form',
    { class: 'login card', id: 'login' },
    h('h1', {}, 'Ballast'),
    h('p', { class: 'muted' }, 'Load balancer control panel'),
    h('div', { class: 'field' }, h('label', { for: 'login-user' }, 'User'), user),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
    error,
    submit,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    error.hidden = true;
    client.login(user.value.trim(), password.value).then(onLoggedIn, (err: unknown) => {
      submit.disabled = false;
      error.textContent = errorText(err, 'Login failed');
      error.hidden = false;
      password.select();
    });
  });
  queueMicrotask(() => (user.value ? password : user).focus());
  return h('main', { class: 'login-page' }, form);
}
