// The Organizations page: the list (search, paging with the total), Create
// organization, and each organization's detail at /organizations/{id}
// (organization.js). A manager of one organization is shown only the
// organizations the Management API lets it see.
import { api, APIError, explain } from '../api.js';
import { el, field, pathLink } from '../dom.js';
import { pagedList, createToggle, listPage } from '../list.js';

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  if (!id) return renderList(main, ctx);
  return import('./organization.js').then(
    (m) => m.renderOrganization(main, ctx, decodeURIComponent(id)),
    (e) => main.replaceChildren(el('p', { class: 'error', role: 'alert' }, `Could not load the organization's page: ${e.message}`)));
}

function renderList(main, { title, onUnauthorized, go }) {
  let term = '';
  const q = el('input', { id: 'org-search', type: 'search', name: 'q', autocomplete: 'off' });
  const form = el('form', { class: 'search', role: 'search' },
    el('label', { for: 'org-search' }, 'Search organizations'), q, el('button', { type: 'submit' }, 'Search'));
  const list = pagedList({
    path: '/api/organizations', caption: 'Organizations', columns: ['Name', 'Description', 'ID'], tableAttrs: { id: 'org-list' },
    errorId: 'org-list-error', noun: ['organization', 'organizations'], empty: 'No organizations match.',
    what: 'list the organizations', onUnauthorized, params: () => ({ q: term }),
    row: (o) => [el('td', {}, pathLink(go, `/organizations/${encodeURIComponent(o.id)}`, o.name)),
      el('td', {}, o.description || ''), el('td', { class: 'mono' }, o.id)],
  });
  const create = createForm(go, onUnauthorized);
  listPage(main, title, createToggle('Create organization', create), create, form, list);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    term = q.value.trim();
    list.load(1);
  });
  list.load();
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
