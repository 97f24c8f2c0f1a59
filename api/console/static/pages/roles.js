// The Roles page: the list with paging, the total and each role's type,
// Create role, and each role's page at /roles/{id}: edit, its API resource
// scopes (assign from any resource's scopes, remove) and delete after a
// dialog.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink } from '../dom.js';

const pageSize = 20;

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderRole(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  let page = 1;
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert' });
  const openCreate = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Create role');
  const name = field('new-role-name', 'Name', { name: 'name', autocomplete: 'off', required: true });
  const desc = field('new-role-description', 'Description', { name: 'description', autocomplete: 'off', required: true });
  const type = field('new-role-type', 'Type', { name: 'type' }, 'select');
  type.input.append(el('option', { value: 'User' }, 'User'), el('option', { value: 'MachineToMachine' }, 'MachineToMachine'));
  const createError = el('p', { class: 'error', role: 'alert' });
  const create = el('form', { class: 'card create-role', 'aria-label': 'Create role', hidden: true },
    el('h2', {}, 'Create role'),
    el('div', { class: 'grid' }, ...[name, desc, type].map((f) => el('div', {}, f.label, f.input))),
    el('button', { type: 'submit' }, 'Create'), createError);
  openCreate.addEventListener('click', () => {
    create.hidden = !create.hidden;
    openCreate.setAttribute('aria-expanded', String(!create.hidden));
    if (!create.hidden) name.input.focus();
  });
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
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), openCreate), create, summary,
    el('div', { class: 'table-wrap' }, el('table', {}, el('caption', { class: 'visually-hidden' }, 'Roles'),
      el('thead', {}, el('tr', {}, ...['Name', 'Type', 'Description', 'ID'].map((h) => el('th', { scope: 'col' }, h)))), body)),
    el('div', { class: 'pager' }, prev, next), error);

  async function load() {
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `/api/roles?page=${page}&page_size=${pageSize}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((r) => el('tr', {},
        el('td', {}, pathLink(go, `/roles/${encodeURIComponent(r.id)}`, r.name)),
        el('td', {}, r.type), el('td', {}, r.description || ''), el('td', { class: 'mono' }, r.id))));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 4 }, 'No roles.')));
      summary.textContent = `${total} ${total === 1 ? 'role' : 'roles'} · page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    } catch (e) {
      fail(error, e, 'list roles');
    }
  }
  prev.addEventListener('click', () => { page--; load(); });
  next.addEventListener('click', () => { page++; load(); });
  load();
}

function renderRole(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/api/roles/${encodeURIComponent(id)}`;
  const heading = el('h1', { tabindex: '-1' }, 'Role');
  const status = el('p', { class: 'summary', 'aria-live': 'polite' });
  const loadError = el('p', { class: 'error', role: 'alert' });
  main.replaceChildren(pathLink(go, '/roles', '← All roles', 'back'), heading, status, loadError);

  (async () => {
    let role;
    try {
      ({ data: role } = await api('GET', path));
    } catch (e) {
      return fail(loadError, e, 'load the role');
    }
    heading.textContent = role.name;
    document.title = `${role.name} · Roles · idbolt console`;
    status.textContent = `${role.type} · ID ${role.id}`;
    main.append(el('div', { class: 'user-cards' }, editCard(role), scopesCard(), deleteCard(role)));
    heading.focus();
  })();

  function editCard(role) {
    const name = field('role-name', 'Name', { name: 'name', autocomplete: 'off', value: role.name });
    const desc = field('role-description', 'Description', { name: 'description', autocomplete: 'off', value: role.description || '' });
    const msg = el('p', { class: 'error', role: 'alert' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'role-saved' });
    const form = el('form', { class: 'card', 'aria-labelledby': 'role-edit-title' }, el('h2', { id: 'role-edit-title' }, 'Details'),
      name.label, name.input, desc.label, desc.input, el('button', { type: 'submit' }, 'Save'), done, msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      try {
        const { data } = await api('PATCH', path, { name: name.input.value.trim(), description: desc.input.value.trim() });
        heading.textContent = data.name;
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, 'save the role');
      }
    });
    return form;
  }

  function scopesCard() {
    const body = el('tbody');
    const msg = el('p', { class: 'error', role: 'alert' });
    const pick = field('role-scope-pick', 'API resource scope', { name: 'scopeId' }, 'select');
    const form = el('form', { class: 'add' }, pick.label, pick.input, el('button', { type: 'submit' }, 'Assign scope'));
    const card = el('section', { class: 'card', 'aria-labelledby': 'role-scopes-title' }, el('h2', { id: 'role-scopes-title' }, 'Scopes'),
      el('div', { class: 'table-wrap' }, el('table', { class: 'role-scopes' }, el('caption', { class: 'visually-hidden' }, 'Scopes'),
        el('thead', {}, el('tr', {}, ...['Scope', 'API resource', ''].map((h) => el('th', { scope: 'col' }, h)))), body)),
      form, msg);
    async function load() {
      try {
        const [{ data: mine }, { data: resources }] = await Promise.all([
          api('GET', `${path}/scopes?page=1&page_size=100`),
          api('GET', '/api/resources?includeScopes=true')]);
        body.replaceChildren(...mine.map((s) => {
          const remove = el('button', { type: 'button', class: 'secondary' }, 'Remove');
          remove.addEventListener('click', async () => {
            msg.textContent = '';
            try {
              await api('DELETE', `${path}/scopes/${encodeURIComponent(s.id)}`);
              status.textContent = `Removed the scope ${s.name}.`;
              load();
            } catch (e) {
              fail(msg, e, 'remove the scope');
            }
          });
          return el('tr', {}, el('td', {}, s.name), el('td', { class: 'mono' }, s.resource?.indicator || s.resourceId), el('td', {}, remove));
        }));
        if (mine.length === 0) body.append(el('tr', {}, el('td', { colspan: 3 }, 'No scopes.')));
        const options = [];
        for (const r of resources) {
          for (const s of r.scopes || []) {
            if (!mine.some((m) => m.id === s.id)) options.push(el('option', { value: s.id }, `${r.indicator} · ${s.name}`));
          }
        }
        pick.input.replaceChildren(...options);
        form.querySelector('button').disabled = options.length === 0;
      } catch (e) {
        fail(msg, e, 'list the scopes');
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      if (!pick.input.value) return;
      try {
        await api('POST', `${path}/scopes`, { scopeIds: [pick.input.value] });
        status.textContent = 'Scope assigned.';
        load();
      } catch (e) {
        fail(msg, e, 'assign the scope');
      }
    });
    load();
    return card;
  }

  function deleteCard(role) {
    const msg = el('p', { class: 'error', role: 'alert' });
    const del = el('button', { type: 'button', class: 'danger' }, 'Delete role');
    del.addEventListener('click', async () => {
      if (!await confirmDialog(main, `Delete the role ${role.name}? This cannot be undone: users and applications lose it and its scopes.`,
        'Delete role')) return;
      try {
        await api('DELETE', path);
        go('/roles');
      } catch (e) {
        fail(msg, e, 'delete the role');
      }
    });
    return el('section', { class: 'card', 'aria-labelledby': 'role-delete-title' }, el('h2', { id: 'role-delete-title' }, 'Delete'),
      el('p', {}, 'Deleting a role cannot be undone.'), del, msg);
  }
}
