// The Organizations page: the list (search, paging with the total), Create
// organization, and each organization's detail at /organizations/{id}
// (organization.js). A manager of one organization is shown only the
// organizations the Management API lets it see.
import { api, APIError, explain } from '../api.js';
import { el, field } from '../dom.js';

const pageSize = 20;

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  if (!id) return renderList(main, ctx);
  return import('./organization.js').then(
    (m) => m.renderOrganization(main, ctx, decodeURIComponent(id)),
    (e) => main.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load the organization's page: ${e.message}`)));
}

function renderList(main, { title, onUnauthorized, go }) {
  const state = { page: 1, term: '' };
  const q = el('input', { id: 'org-search', type: 'search', name: 'q', autocomplete: 'off' });
  const form = el('form', { class: 'search', role: 'search' },
    el('label', { for: 'org-search' }, 'Search organizations'), q, el('button', { type: 'submit' }, 'Search'));
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const table = el('table', { id: 'org-list' },
    el('caption', { class: 'visually-hidden' }, 'Organizations'),
    el('thead', {}, el('tr', {}, ...['Name', 'Description', 'ID'].map((h) => el('th', { scope: 'col' }, h)))),
    body);
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert', id: 'org-list-error' });
  const openCreate = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Create organization');
  const create = createForm(go, onUnauthorized);
  create.hidden = true;
  openCreate.addEventListener('click', () => {
    create.hidden = !create.hidden;
    openCreate.setAttribute('aria-expanded', String(!create.hidden));
    if (!create.hidden) create.querySelector('input').focus();
  });
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), openCreate), create, form, summary,
    el('div', { class: 'table-wrap' }, table), el('div', { class: 'pager' }, prev, next), error);

  body.addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(a.getAttribute('href').slice('/console'.length));
  });

  async function load() {
    const params = new URLSearchParams({ page: String(state.page), page_size: String(pageSize) });
    if (state.term) params.set('q', state.term);
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `/api/organizations?${params}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((o) => el('tr', {},
        el('td', {}, el('a', { href: `/console/organizations/${encodeURIComponent(o.id)}` }, o.name)),
        el('td', {}, o.description || ''), el('td', { class: 'mono' }, o.id))));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 3 }, 'No organizations match.')));
      summary.textContent = `${total} ${total === 1 ? 'organization' : 'organizations'} · page ${state.page} of ${pages}`;
      prev.disabled = state.page <= 1;
      next.disabled = state.page >= pages;
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return onUnauthorized();
      error.textContent = explain(e, 'list the organizations');
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.term = q.value.trim();
    state.page = 1;
    load();
  });
  prev.addEventListener('click', () => { state.page--; load(); });
  next.addEventListener('click', () => { state.page++; load(); });
  load();
}

// createForm is the Create organization form; on success the new
// organization's page opens.
function createForm(go, onUnauthorized) {
  const name = field('new-org-name', 'Name', { name: 'name', required: true, autocomplete: 'off' });
  const description = field('new-org-description', 'Description', { name: 'description', autocomplete: 'off' });
  const error = el('p', { class: 'error', role: 'alert', id: 'create-org-error' });
  const form = el('form', { class: 'card', 'aria-label': 'Create organization' },
    el('h2', {}, 'Create organization'),
    el('div', { class: 'grid' }, el('div', {}, name.label, name.input), el('div', {}, description.label, description.input)),
    el('button', { type: 'submit' }, 'Create'), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const body = { name: name.input.value.trim() };
    if (description.input.value.trim()) body.description = description.input.value.trim();
    try {
      const { data } = await api('POST', '/api/organizations', body);
      go(`/organizations/${encodeURIComponent(data.id)}`);
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return onUnauthorized();
      error.textContent = explain(e, 'create the organization');
    }
  });
  return form;
}
