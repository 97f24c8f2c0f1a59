// The Users page: search (contains or exact), paging with the total
// (Total-Number), Create user, and each user's detail at /users/{id}
// (user.js).
import { api, APIError, explain } from '../api.js';
import { el, field, pathLink } from '../dom.js';
import { pagedList, createToggle, listPage } from '../list.js';

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
  const state = { term: '', exact: false };
  const q = el('input', { id: 'user-search', type: 'search', name: 'search', autocomplete: 'off' });
  const mode = el('select', { id: 'user-mode', name: 'mode' },
    el('option', { value: 'like' }, 'Contains'), el('option', { value: 'exact' }, 'Exact'));
  const form = el('form', { class: 'search', role: 'search' },
    el('label', { for: 'user-search' }, 'Search users'), q,
    el('label', { for: 'user-mode' }, 'Match'), mode,
    el('button', { type: 'submit' }, 'Search'));
  const list = pagedList({
    path: '/api/users', caption: 'Users', columns: ['Username', 'Name', 'Email', 'Phone', 'Status', 'ID'],
    noun: ['user', 'users'], empty: 'No users match.', what: 'list users', onUnauthorized,
    params: () => (state.term ? { search: state.exact ? state.term : `%${state.term}%`, mode: state.exact ? 'exact' : '' } : {}),
    // A user's row links to its detail; the link is followed in the page.
    row: (u) => [el('td', {}, pathLink(go, `/users/${encodeURIComponent(u.id)}`, u.username || '(no username)')),
      el('td', {}, u.name || ''), el('td', {}, u.primaryEmail || ''), el('td', {}, u.primaryPhone || ''),
      el('td', {}, u.isSuspended ? 'Suspended' : 'Active'), el('td', { class: 'mono' }, u.id)],
  });
  const create = createForm(go, onUnauthorized);
  listPage(main, title, createToggle('Create user', create), create, form, list);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.term = q.value.trim();
    state.exact = mode.value === 'exact';
    list.load(1);
  });
  list.load();
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
