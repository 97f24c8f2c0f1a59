// The Roles page: the list with paging, the total and each role's type,
// Create role, and each role's page at /roles/{id}: edit, its API resource
// scopes (assign from any resource's scopes, remove) and delete after a
// dialog.
import { api, failer } from '../api.js';
import { el, field, pathLink, pickLimit } from '../dom.js';
import { pagedList, createToggle, listPage, assignedCard, detailPage, editCard, deleteCard } from '../list.js';

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderRole(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  const name = field('new-role-name', 'Name', { name: 'name', autocomplete: 'off', required: true });
  const desc = field('new-role-description', 'Description', { name: 'description', autocomplete: 'off', required: true });
  const type = field('new-role-type', 'Type', { name: 'type' }, 'select');
  type.input.append(el('option', { value: 'User' }, 'User'), el('option', { value: 'MachineToMachine' }, 'MachineToMachine'));
  const createError = el('p', { class: 'error', role: 'alert' });
  const create = el('form', { class: 'card create-role', 'aria-label': 'Create role' },
    el('h2', {}, 'Create role'),
    el('div', { class: 'grid' }, ...[name, desc, type].map((f) => el('div', {}, f.label, f.input))),
    el('button', { type: 'submit' }, 'Create'), createError);
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createError.textContent = '';
    try {
      const { data } = await api('POST', '/api/roles',
        { name: name.input.value.trim(), description: desc.input.value.trim(), type: type.input.value });
      go(`/roles/${encodeURIComponent(data.id)}`);
    } catch (e) {
      fail(createError, e, 'create the role');
    }
  });
  const list = pagedList({
    path: '/api/roles', caption: 'Roles', columns: ['Name', 'Type', 'Description', 'ID'], noun: ['role', 'roles'],
    empty: 'No roles.', what: 'list roles', onUnauthorized,
    row: (r) => [el('td', {}, pathLink(go, `/roles/${encodeURIComponent(r.id)}`, r.name)),
      el('td', {}, r.type), el('td', {}, r.description || ''), el('td', { class: 'mono' }, r.id)],
  });
  listPage(main, title, createToggle('Create role', create), create, '', list);
  list.load();
}

function renderRole(main, { onUnauthorized, go }, id) {
  const path = `/api/roles/${encodeURIComponent(id)}`;
  const page = detailPage(main, {
    go, onUnauthorized, path, back: '/roles', backText: '← All roles', what: 'role', section: 'Roles',
    title: (r) => r.name, status: (r) => `${r.type} · ID ${r.id}`,
    cards: (role) => [
      editCard({ key: 'role', path, what: 'role', onUnauthorized,
        fields: [['name', 'Name', role.name], ['description', 'Description', role.description || '']],
        body: (v) => v, saved: (r) => { page.heading.textContent = r.name; } }),
      scopesCard(),
      deleteCard({ key: 'role', path, label: 'Delete role', what: 'role', note: 'Deleting a role cannot be undone.', go, back: '/roles',
        onUnauthorized, question: () => `Delete the role ${role.name}? This cannot be undone: users and applications lose it and its scopes.` }),
    ],
  });

  // The role's scopes; any API resource's scopes it lacks are offered.
  function scopesCard() {
    const card = assignedCard({
      key: 'role-scopes', title: 'Scopes', caption: 'Scopes', columns: ['Scope', 'API resource'], tableAttrs: { class: 'role-scopes' },
      empty: 'No scopes.', noun: 'scope', onUnauthorized, done: (text) => { page.status.textContent = text; },
      list: async () => (await api('GET', `${path}/scopes?page=1&page_size=100`)).data,
      cells: (s) => [el('td', {}, s.name), el('td', { class: 'mono' }, s.resource?.indicator || s.resourceId)],
      name: (s) => s.name,
      remove: (s) => api('DELETE', `${path}/scopes/${encodeURIComponent(s.id)}`),
      pick: { id: 'role-scope-pick', label: 'API resource scope', noun: 'scopes', search: searchScopes },
      assignLabel: 'Assign scope',
      assign: (scopeId) => api('POST', `${path}/scopes`, { scopeIds: [scopeId] }),
    });
    card.load();
    return card.node;
  }
}

// searchScopes finds the scopes a role may be given, across API resources,
// without reading them all: the first 100 resources, then each one's first
// 100 scopes that match term (the API searches scopes per resource), less
// those the role has; the first 100 of these are offered.
async function searchScopes(term, assigned) {
  const { data: resources, headers } = await api('GET', `/api/resources?page=1&page_size=${pickLimit}`);
  const q = new URLSearchParams({ page: '1', page_size: String(pickLimit) });
  if (term) q.set('search', `%${term}%`);
  const found = await Promise.all(resources.map((r) =>
    api('GET', `/api/resources/${encodeURIComponent(r.id)}/scopes?${q}`).then(({ data, headers: h }) =>
      ({ r, scopes: data, total: Number(h.get('Total-Number') || data.length) }))));
  const mine = new Set(assigned.map((s) => s.id));
  const items = [];
  let total = 0;
  for (const { r, scopes, total: n } of found) {
    const free = scopes.filter((s) => !mine.has(s.id));
    total += n - (scopes.length - free.length);
    items.push(...free.map((s) => [s.id, `${r.indicator} · ${s.name}`]));
  }
  // Resources past the first 100 are not searched: say there are more.
  if (Number(headers.get('Total-Number') || 0) > resources.length) total = Math.max(total, items.length + 1);
  return { items: items.slice(0, pickLimit), total };
}
