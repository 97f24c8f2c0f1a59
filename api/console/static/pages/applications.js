// The Applications page: the list with paging and the total, Create
// application, and each application's page at /applications/{id}: edit the
// name and description, its secrets (a new one's value is shown once and
// kept only in this render's memory), its machine-to-machine roles, and
// delete after a "cannot be undone" dialog.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink, secretPanel, when } from '../dom.js';
import { pagedList, createToggle, listPage, assignedCard, listed, detailPage, editCard, deleteCard } from '../list.js';
const types = ['Traditional', 'MachineToMachine', 'SPA', 'Native'];

// created is the secret of the application just created, shown once by its
// page and then forgotten.
let created = null;

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderApp(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  const name = field('new-app-name', 'Name', { name: 'name', autocomplete: 'off', required: true });
  const type = field('new-app-type', 'Type', { name: 'type' }, 'select');
  type.input.append(...types.map((t) => el('option', { value: t }, t)));
  const desc = field('new-app-description', 'Description', { name: 'description', autocomplete: 'off' });
  const createError = el('p', { class: 'error', role: 'alert' });
  const create = el('form', { class: 'card create-app', 'aria-label': 'Create application' },
    el('h2', {}, 'Create application'),
    el('div', { class: 'grid' }, ...[name, type, desc].map((f) => el('div', {}, f.label, f.input))),
    el('button', { type: 'submit' }, 'Create'), createError);
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createError.textContent = '';
    const b = { name: name.input.value.trim(), type: type.input.value };
    if (desc.input.value.trim()) b.description = desc.input.value.trim();
    try {
      const { data } = await api('POST', '/api/applications', b);
      created = data.secret ? { id: data.id, name: 'Default secret', value: data.secret } : null;
      go(`/applications/${encodeURIComponent(data.id)}`);
    } catch (e) {
      fail(createError, e, 'create the application');
    }
  });
  const list = pagedList({
    path: '/api/applications', caption: 'Applications', columns: ['Name', 'Type', 'Description', 'ID'],
    noun: ['application', 'applications'], empty: 'No applications.', what: 'list applications', onUnauthorized,
    row: (a) => [el('td', {}, pathLink(go, `/applications/${encodeURIComponent(a.id)}`, a.name || a.id)),
      el('td', {}, a.type), el('td', {}, a.description || ''), el('td', { class: 'mono' }, a.id)],
  });
  listPage(main, title, createToggle('Create application', create), create, '', list);
  list.load();
}

function renderApp(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/api/applications/${encodeURIComponent(id)}`;
  const shown = created && created.id === id ? secretPanel(`Secret ${created.name}`, created.value, 'new-app-secret') : '';
  created = null;
  const { heading, status, loadError } = detailPage(main, {
    go, onUnauthorized, path, back: '/applications', backText: '← All applications', what: 'application', section: 'Applications',
    title: (a) => a.name, status: (a) => `${a.type} · ID ${a.id}`, after: shown,
    cards: (app) => [
      editCard({ key: 'app', path, what: 'application', onUnauthorized,
        fields: [['name', 'Name', app.name], ['description', 'Description', app.description || '']],
        body: (v) => ({ name: v.name, description: v.description || null }), saved: (a) => { heading.textContent = a.name; } }),
      (app.type === 'Traditional' || app.type === 'MachineToMachine') && secretsCard(),
      app.type === 'MachineToMachine' && rolesCard(),
      deleteCard({ key: 'app', path, label: 'Delete application', what: 'application', note: 'Deleting an application cannot be undone.',
        go, back: '/applications', onUnauthorized,
        question: () => `Delete the application ${app.name}? This cannot be undone: its secrets, roles and tokens go with it.` }),
    ].filter(Boolean),
  });

  function secretsCard() {
    const body = el('tbody');
    const msg = el('p', { class: 'error', role: 'alert' });
    const name = field('app-secret-name', 'Secret name', { name: 'secretName', autocomplete: 'off', required: true });
    const form = el('form', { class: 'add' }, name.label, name.input, el('button', { type: 'submit' }, 'Create secret'));
    const card = el('section', { class: 'card', 'aria-labelledby': 'app-secrets-title' },
      el('h2', { id: 'app-secrets-title' }, 'Secrets'),
      el('div', { class: 'table-wrap' }, el('table', { class: 'app-secrets' }, el('caption', { class: 'visually-hidden' }, 'Secrets'),
        el('thead', {}, el('tr', {}, ...['Name', 'Created', 'Expires', ''].map((h) => el('th', { scope: 'col' }, h)))), body)),
      form, msg);
    async function load() {
      try {
        const { data } = await api('GET', `${path}/secrets`);
        body.replaceChildren(...data.map((s) => {
          const del = el('button', { type: 'button', class: 'secondary' }, 'Delete secret');
          del.addEventListener('click', async () => {
            if (!await confirmDialog(main, `Delete the secret ${s.name}? This cannot be undone: clients using it are refused at once.`,
              'Delete secret')) return;
            msg.textContent = '';
            try {
              await api('DELETE', `${path}/secrets/${encodeURIComponent(s.name)}`);
              status.textContent = `Deleted the secret ${s.name}.`;
              load();
            } catch (e) {
              fail(msg, e, 'delete the secret');
            }
          });
          return el('tr', {}, el('td', {}, s.name), el('td', {}, when(s.createdAt)), el('td', {}, when(s.expiresAt) || 'Never'),
            el('td', {}, del));
        }));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 4 }, 'No secrets.')));
      } catch (e) {
        fail(msg, e, 'list the secrets');
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      try {
        const { data } = await api('POST', `${path}/secrets`, { name: name.input.value.trim() });
        name.input.value = '';
        main.querySelector('.secret-panel')?.remove();
        loadError.after(secretPanel(`Secret ${data.name}`, data.value, 'new-app-secret'));
        main.querySelector('.secret-panel button').focus();
        load();
      } catch (e) {
        fail(msg, e, 'create the secret');
      }
    });
    load();
    return card;
  }

  // The application's machine-to-machine roles; those it lacks are offered.
  function rolesCard() {
    const card = assignedCard({
      key: 'app-roles', title: 'Roles', caption: 'Roles', columns: ['Role', 'Description'], tableAttrs: { class: 'app-roles' },
      empty: 'No roles.', noun: 'role', onUnauthorized, done: (text) => { status.textContent = text; },
      list: async () => (await api('GET', `${path}/roles?page=1&page_size=100`)).data,
      cells: (r) => [el('td', {}, r.name), el('td', {}, r.description || '')],
      name: (r) => r.name,
      remove: (r) => api('DELETE', `${path}/roles/${encodeURIComponent(r.id)}`),
      pick: { id: 'app-role-pick', label: 'Machine-to-machine role', noun: 'roles',
        search: listed('/api/roles', { type: 'MachineToMachine', excludeApplicationId: id }, (r) => [r.id, r.name]) },
      assignLabel: 'Assign role',
      assign: (roleId) => api('POST', `${path}/roles`, { roleIds: [roleId] }),
    });
    card.load();
    return card.node;
  }
}
