// The Applications page: the list with paging and the total, Create
// application, and each application's page at /applications/{id}: edit the
// name and description, its secrets (a new one's value is shown once and
// kept only in this render's memory), its machine-to-machine roles, and
// delete after a "cannot be undone" dialog.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink } from '../dom.js';

const pageSize = 20;
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
  let page = 1;
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert' });
  const openCreate = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Create application');

  const name = field('new-app-name', 'Name', { name: 'name', autocomplete: 'off', required: true });
  const type = field('new-app-type', 'Type', { name: 'type' }, 'select');
  type.input.append(...types.map((t) => el('option', { value: t }, t)));
  const desc = field('new-app-description', 'Description', { name: 'description', autocomplete: 'off' });
  const createError = el('p', { class: 'error', role: 'alert' });
  const create = el('form', { class: 'card create-app', 'aria-label': 'Create application', hidden: true },
    el('h2', {}, 'Create application'),
    el('div', { class: 'grid' }, ...[name, type, desc].map((f) => el('div', {}, f.label, f.input))),
    el('button', { type: 'submit' }, 'Create'), createError);
  openCreate.addEventListener('click', () => {
    create.hidden = !create.hidden;
    openCreate.setAttribute('aria-expanded', String(!create.hidden));
    if (!create.hidden) name.input.focus();
  });
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

  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), openCreate), create, summary,
    el('div', { class: 'table-wrap' }, el('table', {}, el('caption', { class: 'visually-hidden' }, 'Applications'),
      el('thead', {}, el('tr', {}, ...['Name', 'Type', 'Description', 'ID'].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    el('div', { class: 'pager' }, prev, next), error);

  async function load() {
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `/api/applications?page=${page}&page_size=${pageSize}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((a) => el('tr', {},
        el('td', {}, pathLink(go, `/applications/${encodeURIComponent(a.id)}`, a.name || a.id)),
        el('td', {}, a.type), el('td', {}, a.description || ''), el('td', { class: 'mono' }, a.id))));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 4 }, 'No applications.')));
      summary.textContent = `${total} ${total === 1 ? 'application' : 'applications'} · page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    } catch (e) {
      fail(error, e, 'list applications');
    }
  }
  prev.addEventListener('click', () => { page--; load(); });
  next.addEventListener('click', () => { page++; load(); });
  load();
}

// secretPanel shows a secret's value once, with a Copy button.
function secretPanel(name, value) {
  const code = el('code', { class: 'secret mono', id: 'new-app-secret' }, value);
  const copied = el('span', { class: 'copied', role: 'status' });
  const copy = el('button', { type: 'button' }, 'Copy');
  const done = el('button', { type: 'button', class: 'secondary' }, 'Done');
  const panel = el('section', { class: 'card secret-panel', 'aria-labelledby': 'app-secret-title' },
    el('h2', { id: 'app-secret-title' }, `Secret ${name}`),
    el('p', { class: 'warning' }, 'This secret will not be shown again. Copy it now and keep it safe.'),
    code, el('div', { class: 'actions' }, copy, done, copied));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      copied.textContent = 'Copied.';
    } catch {
      window.getSelection().selectAllChildren(code);
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
  done.addEventListener('click', () => panel.remove());
  return panel;
}

function when(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '';
}

function renderApp(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/api/applications/${encodeURIComponent(id)}`;
  const heading = el('h1', { tabindex: '-1' }, 'Application');
  const status = el('p', { class: 'summary', 'aria-live': 'polite' });
  const loadError = el('p', { class: 'error', role: 'alert' });
  const shown = created && created.id === id ? secretPanel(created.name, created.value) : '';
  created = null;
  main.replaceChildren(pathLink(go, '/applications', '← All applications', 'back'), heading, status, loadError, shown);

  (async () => {
    let app;
    try {
      ({ data: app } = await api('GET', path));
    } catch (e) {
      return fail(loadError, e, 'load the application');
    }
    heading.textContent = app.name;
    document.title = `${app.name} · Applications · idbolt console`;
    status.textContent = `${app.type} · ID ${app.id}`;
    const cards = [editCard(app)];
    if (app.type === 'Traditional' || app.type === 'MachineToMachine') cards.push(secretsCard());
    if (app.type === 'MachineToMachine') cards.push(rolesCard());
    cards.push(deleteCard(app));
    main.append(el('div', { class: 'user-cards' }, ...cards));
    heading.focus();
  })();

  function editCard(app) {
    const name = field('app-name', 'Name', { name: 'name', autocomplete: 'off', value: app.name });
    const desc = field('app-description', 'Description', { name: 'description', autocomplete: 'off', value: app.description || '' });
    const msg = el('p', { class: 'error', role: 'alert' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'app-saved' });
    const form = el('form', { class: 'card', 'aria-labelledby': 'app-edit-title' }, el('h2', { id: 'app-edit-title' }, 'Details'),
      name.label, name.input, desc.label, desc.input, el('button', { type: 'submit' }, 'Save'), done, msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      try {
        const { data } = await api('PATCH', path, { name: name.input.value.trim(), description: desc.input.value.trim() || null });
        heading.textContent = data.name;
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, 'save the application');
      }
    });
    return form;
  }

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
        loadError.after(secretPanel(data.name, data.value));
        main.querySelector('.secret-panel button').focus();
        load();
      } catch (e) {
        fail(msg, e, 'create the secret');
      }
    });
    load();
    return card;
  }

  function rolesCard() {
    const body = el('tbody');
    const msg = el('p', { class: 'error', role: 'alert' });
    const pick = field('app-role-pick', 'Machine-to-machine role', { name: 'roleId' }, 'select');
    const form = el('form', { class: 'add' }, pick.label, pick.input, el('button', { type: 'submit' }, 'Assign role'));
    const card = el('section', { class: 'card', 'aria-labelledby': 'app-roles-title' }, el('h2', { id: 'app-roles-title' }, 'Roles'),
      el('div', { class: 'table-wrap' }, el('table', { class: 'app-roles' }, el('caption', { class: 'visually-hidden' }, 'Roles'),
        el('thead', {}, el('tr', {}, ...['Role', 'Description', ''].map((h) => el('th', { scope: 'col' }, h)))), body)),
      form, msg);
    async function load() {
      try {
        const [{ data: mine }, { data: all }] = await Promise.all([
          api('GET', `${path}/roles?page=1&page_size=100`),
          api('GET', '/api/roles?type=MachineToMachine&page=1&page_size=100')]);
        body.replaceChildren(...mine.map((r) => {
          const remove = el('button', { type: 'button', class: 'secondary' }, 'Remove');
          remove.addEventListener('click', async () => {
            msg.textContent = '';
            try {
              await api('DELETE', `${path}/roles/${encodeURIComponent(r.id)}`);
              status.textContent = `Removed the role ${r.name}.`;
              load();
            } catch (e) {
              fail(msg, e, 'remove the role');
            }
          });
          return el('tr', {}, el('td', {}, r.name), el('td', {}, r.description || ''), el('td', {}, remove));
        }));
        if (mine.length === 0) body.append(el('tr', {}, el('td', { colspan: 3 }, 'No roles.')));
        const free = all.filter((r) => !mine.some((m) => m.id === r.id));
        pick.input.replaceChildren(...free.map((r) => el('option', { value: r.id }, r.name)));
        form.querySelector('button').disabled = free.length === 0;
      } catch (e) {
        fail(msg, e, 'list the roles');
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      if (!pick.input.value) return;
      try {
        await api('POST', `${path}/roles`, { roleIds: [pick.input.value] });
        status.textContent = 'Role assigned.';
        load();
      } catch (e) {
        fail(msg, e, 'assign the role');
      }
    });
    load();
    return card;
  }

  function deleteCard(app) {
    const msg = el('p', { class: 'error', role: 'alert' });
    const del = el('button', { type: 'button', class: 'danger' }, 'Delete application');
    del.addEventListener('click', async () => {
      if (!await confirmDialog(main, `Delete the application ${app.name}? This cannot be undone: its secrets, roles and tokens go with it.`,
        'Delete application')) return;
      try {
        await api('DELETE', path);
        go('/applications');
      } catch (e) {
        fail(msg, e, 'delete the application');
      }
    });
    return el('section', { class: 'card', 'aria-labelledby': 'app-delete-title' }, el('h2', { id: 'app-delete-title' }, 'Delete'),
      el('p', {}, 'Deleting an application cannot be undone.'), del, msg);
  }
}
