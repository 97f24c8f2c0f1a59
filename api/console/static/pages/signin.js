// The sign-in page: an application's client id and secret, or a manager's
// username and password.
import { signIn, APIError } from '../api.js';
import { el } from '../dom.js';

let seq = 0;

function field(label, attrs) {
  const id = `f${++seq}`;
  return [el('label', { for: id }, label), el('input', { id, ...attrs })];
}

export function render(root, { onSignedIn }) {
  const status = el('p', { class: 'error', role: 'alert' });
  const form = (legend, fields, toBody) => {
    const inputs = fields.map(([label, attrs]) => field(label, attrs));
    const button = el('button', { type: 'submit' }, 'Sign in');
    const f = el('form', { class: 'card', novalidate: true },
      el('h2', {}, legend), ...inputs.flat(), button);
    f.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      status.textContent = '';
      button.disabled = true;
      try {
        onSignedIn(await signIn(toBody(inputs.map(([, input]) => input.value))));
      } catch (e) {
        status.textContent = e instanceof APIError && e.status === 429
          ? 'Too many failed attempts from this address. Try again later.'
          : e instanceof APIError && e.status === 401
            ? 'Sign-in refused: wrong credentials, or no permission to manage this tenant.'
            : `Sign-in failed: ${e.message}`;
      } finally {
        button.disabled = false;
      }
    });
    return f;
  };
  const tenantField = field('Tenant', { name: 'tenant', value: 'default', autocomplete: 'off' });
  const tenant = () => tenantField[1].value.trim() || 'default';
  root.append(el('main', { id: 'main', class: 'signin' },
    el('h1', {}, 'idbolt console'),
    el('div', { class: 'tenant' }, ...tenantField),
    el('div', { class: 'forms' },
      form('Application', [
        ['Client ID', { name: 'clientId', autocomplete: 'username', required: true }],
        ['Client secret', { name: 'clientSecret', type: 'password', autocomplete: 'current-password', required: true }],
      ], ([clientId, clientSecret]) => ({ tenant: tenant(), clientId, clientSecret })),
      form('Manager', [
        ['Username', { name: 'username', autocomplete: 'username', required: true }],
        ['Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }],
      ], ([username, password]) => ({ tenant: tenant(), username, password }))),
    status));
  root.querySelector('input[name=clientId]').focus();
}
