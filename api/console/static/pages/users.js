// The Users page: search (contains or exact), paging with the total
// (Total-Number), Create user, and each user's detail at /users/{id}
// (user.js).
import { api, APIError, explain } from '../api.js';
import { el, field } from '../dom.js';

const pageSize = 20;

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  if (!id) return renderList(main, ctx);
  // The detail's module loads only when a user is opened, so the list (the
  // page every sign-in lands on) paints without waiting for it.
  return import('./user.js').then(
    (m) => m.renderUser(main, ctx, decodeURIComponent(id)),
    (e) => main.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load the user's page: ${e.message}`)));
}

function renderList(main, { title, onUnauthorized, go }) {
  const state = { page: 1, term: '', exact: false };
  const q = el('input', { id: 'user-search', type: 'search', name: 'search', autocomplete: 'off' });
  const mode = el('select', { id: 'user-mode', name: 'mode' },
    el('option', { value: 'like' }, 'Contains'), el('option', { value: 'exact' }, 'Exact'));
  const form = el('form', { class: 'search', role: 'search' },
    el('label', { for: 'user-search' }, 'Search users'), q,
    el('label', { for: 'user-mode' }, 'Match'), mode,
    el('button', { type: 'submit' }, 'Search'));
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const table = el('table', {},
    el('caption', { class: 'visually-hidden' }, 'Users'),
    el('thead', {}, el('tr', {}, ...['Username', 'Name', 'Email', 'Phone', 'Status', 'ID'].map((h) => el('th', { scope: 'col' }, h)))),
    body);
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert' });
  const openCreate = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Create user');
  const create = createForm(go, onUnauthorized);
  create.hidden = true;
  openCreate.addEventListener('click', () => {
    create.hidden = !create.hidden;
    openCreate.setAttribute('aria-expanded', String(!create.hidden));
    if (!create.hidden) create.querySelector('input').focus();
  });
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), openCreate), create, form, summary,
    el('div', { class: 'table-wrap' }, table), el('div', { class: 'pager' }, prev, next), error);

  // A user's row links to its detail; the link is followed in the page.
  body.addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(a.getAttribute('href').slice('/console'.length));
  });
  const link = (u, text) => el('a', { href: `/console/users/${encodeURIComponent(u.id)}` }, text);

  async function load() {
    const params = new URLSearchParams({ page: String(state.page), page_size: String(pageSize) });
    if (state.term) {
      params.set('search', state.exact ? state.term : `%${state.term}%`);
      if (state.exact) params.set('mode', 'exact');
    }
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `/api/users?${params}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((u) => el('tr', {},
        el('td', {}, link(u, u.username || '(no username)')), el('td', {}, u.name || ''), el('td', {}, u.primaryEmail || ''),
        el('td', {}, u.primaryPhone || ''), el('td', {}, u.isSuspended ? 'Suspended' : 'Active'),
        el('td', { class: 'mono' }, u.id))));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 6 }, 'No users match.')));
      summary.textContent = `${total} ${total === 1 ? 'user' : 'users'} · page ${state.page} of ${pages}`;
      prev.disabled = state.page <= 1;
      next.disabled = state.page >= pages;
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return onUnauthorized();
      error.textContent = e instanceof APIError && e.status === 403
        ? 'Your roles do not allow listing users.'
        : `Could not load users: ${e.message}`;
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.term = q.value.trim();
    state.exact = mode.value === 'exact';
    state.page = 1;
    load();
  });
  prev.addEventListener('click', () => { state.page--; load(); });
  next.addEventListener('click', () => { state.page++; load(); });
  load();
}

// createForm is the Create user form: every field optional, as in the
// Management API; on success the new user's page opens.
function createForm(go, onUnauthorized) {
  const fields = [
    ['username', 'Username', { autocomplete: 'off' }],
    ['primaryEmail', 'Primary email', { type: 'email', autocomplete: 'off' }],
    ['primaryPhone', 'Primary phone', { type: 'tel', autocomplete: 'off' }],
    ['name', 'Name', { autocomplete: 'off' }],
    ['password', 'Password (optional)', { type: 'password', autocomplete: 'new-password' }],
  ].map(([name, label, attrs]) => ({ name, ...field(`new-user-${name}`, label, { name, ...attrs }) }));
  const error = el('p', { class: 'error', role: 'alert', id: 'create-user-error' });
  const form = el('form', { class: 'card create-user', 'aria-label': 'Create user' },
    el('h2', {}, 'Create user'),
    el('div', { class: 'grid' }, ...fields.map((f) => el('div', {}, f.label, f.input))),
    el('button', { type: 'submit' }, 'Create'), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const f of fields) {
      const v = f.name === 'password' ? f.input.value : f.input.value.trim();
      if (v) body[f.name] = v;
    }
    error.textContent = '';
    try {
      const { data } = await api('POST', '/api/users', body);
      go(`/users/${encodeURIComponent(data.id)}`);
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return onUnauthorized();
      error.textContent = explain(e, 'create the user');
    }
  });
  return form;
}
