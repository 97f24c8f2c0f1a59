// The Users page: search (contains or exact), paging with the total
// (Total-Number), a read-only list.
import { api, APIError } from '../api.js';
import { el } from '../dom.js';

const pageSize = 20;

export function render(main, { title, onUnauthorized }) {
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
  main.replaceChildren(el('h1', {}, title), form, summary, el('div', { class: 'table-wrap' }, table),
    el('div', { class: 'pager' }, prev, next), error);

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
        el('td', {}, u.username || ''), el('td', {}, u.name || ''), el('td', {}, u.primaryEmail || ''),
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
