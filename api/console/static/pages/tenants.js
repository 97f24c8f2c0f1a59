// The Tenants page, for instance administrators: the list through the
// system API (/system/tenants, paged with the total), Create tenant (id,
// name; the new tenant's admin credentials are shown once), and each
// tenant's page at /tenants/{id}: its name, rate limit and CORS allowed
// origins (PATCH /system/tenants/{id}), and Delete tenant after a dialog.
// The server refuses these calls to any other session; the navigation only
// hides the page.
import { api, failer } from '../api.js';
import { el, field, pathLink, secretPanel, when } from '../dom.js';
import { pagedList, createToggle, listPage, detailPage, deleteCard } from '../list.js';

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderTenant(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  const id = field('new-tenant-id', 'Tenant ID', { name: 'id', autocomplete: 'off', required: true });
  const name = field('new-tenant-name', 'Name', { name: 'name', autocomplete: 'off' });
  const createError = el('p', { class: 'error', role: 'alert', id: 'create-tenant-error' });
  const create = el('form', { class: 'card create-tenant', 'aria-label': 'Create tenant' },
    el('h2', {}, 'Create tenant'),
    el('p', { class: 'help' }, 'The ID is part of the tenant\'s URLs (/t/{id}/...) and never changes.'),
    el('div', { class: 'grid' }, el('div', {}, id.label, id.input), el('div', {}, name.label, name.input)),
    el('button', { type: 'submit' }, 'Create'), createError);
  const open = createToggle('Create tenant', create);
  const created = el('div');
  const list = pagedList({
    path: '/system/tenants', caption: 'Tenants', columns: ['Name', 'ID', 'Rate limit', 'Created'], noun: ['tenant', 'tenants'],
    empty: 'No tenants.', what: 'list the tenants', onUnauthorized, tableAttrs: { id: 'tenant-list' }, errorId: 'tenant-list-error',
    row: (t) => [el('td', {}, pathLink(go, `/tenants/${encodeURIComponent(t.id)}`, t.name || t.id)),
      el('td', { class: 'mono' }, t.id), el('td', {}, rateText(t.rateLimit)), el('td', {}, when(t.createdAt))],
  });
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createError.textContent = '';
    const b = { id: id.input.value.trim() };
    if (name.input.value.trim()) b.name = name.input.value.trim();
    try {
      const { data } = await api('POST', '/system/tenants', b);
      id.input.value = '';
      name.input.value = '';
      open.click();
      created.replaceChildren(credentialsPanel(go, data));
      list.load(1);
    } catch (e) {
      fail(createError, e, 'create the tenant');
    }
  });
  listPage(main, title, open, create, created, list);
  list.load();
}

// credentialsPanel shows a new tenant's admin credentials once: its client
// id, and the secret in the shared secret panel.
function credentialsPanel(go, tenant) {
  const creds = tenant.credentials || {};
  const panel = secretPanel(`Tenant ${tenant.id} created`, creds.clientSecret || '', 'new-tenant-secret');
  panel.querySelector('h2').after(
    el('p', {}, 'Its admin application signs in to this console (tenant ', el('span', { class: 'mono' }, tenant.id),
      ') and gets the tenant\'s Management API tokens with:'),
    el('p', {}, 'Client ID ', el('code', { class: 'mono', id: 'new-tenant-client-id' }, creds.clientId || '')));
  panel.querySelector('.actions').append(pathLink(go, `/tenants/${encodeURIComponent(tenant.id)}`, `Open ${tenant.id}`));
  return panel;
}

function renderTenant(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/system/tenants/${encodeURIComponent(id)}`;
  const page = detailPage(main, {
    go, onUnauthorized, path, back: '/tenants', backText: '← All tenants', what: 'tenant', section: 'Tenants',
    title: (t) => t.name, status,
    cards: (t) => [nameCard(t), rateCard(t), corsCard(t),
      deleteCard({ key: 'tenant', path, label: 'Delete tenant', what: 'tenant', note: 'Deleting a tenant cannot be undone.',
        go, back: '/tenants', onUnauthorized, errorId: 'tenant-delete-error',
        question: () => `Delete the tenant ${t.id}? This cannot be undone: its users, applications, roles, `
          + 'organizations, keys and audit log are deleted with it, and its tokens stop working.' })],
  });
  page.status.id = 'tenant-status';

  function status(t) {
    return `ID ${t.id} · created ${when(t.createdAt)} · rate limit ${rateText(t.rateLimit)}`;
  }

  function show(t) {
    page.heading.textContent = t.name;
    page.status.textContent = status(t);
  }

  // patchForm is a card whose form sends PATCH body() and says Saved.
  function patchForm(key, heading2, help, fields, body, what) {
    const msg = el('p', { class: 'error', role: 'alert', id: `tenant-${key}-error` });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: `tenant-${key}-saved` });
    const form = el('form', { class: 'card', 'aria-labelledby': `tenant-${key}-title` },
      el('h2', { id: `tenant-${key}-title` }, heading2), el('p', { class: 'help' }, help), ...fields, msg, done);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      try {
        const { data } = await api('PATCH', path, body(ev.submitter));
        show(data);
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, what);
      }
    });
    return form;
  }

  function nameCard(t) {
    const name = field('tenant-name', 'Name', { name: 'name', autocomplete: 'off', value: t.name });
    return patchForm('name', 'Name', 'The ID never changes.', [name.label, name.input, el('button', { type: 'submit' }, 'Save name')],
      () => ({ name: name.input.value.trim() }), 'save the name');
  }

  function rateCard(t) {
    const rl = t.rateLimit || {};
    const requests = field('tenant-rate-requests', 'Requests', { name: 'requests', type: 'number', min: 1, value: rl.requests ?? '' });
    const per = field('tenant-rate-per', 'Per seconds', { name: 'perSeconds', type: 'number', min: 1, value: rl.perSeconds ?? '' });
    const save = el('button', { type: 'submit', value: 'save' }, 'Save rate limit');
    const reset = el('button', { type: 'submit', class: 'secondary', value: 'default', formnovalidate: true }, 'Use the server default');
    return patchForm('rate', 'Rate limit', 'Authenticated Management API requests and tokens issued, together, per period. '
      + 'Without its own limit a tenant has the server\'s (--rate-limit).',
    [el('div', { class: 'grid' }, el('div', {}, requests.label, requests.input), el('div', {}, per.label, per.input)),
      el('div', { class: 'actions' }, save, reset)],
    (submitter) => {
      if (submitter && submitter.value === 'default') {
        requests.input.value = '';
        per.input.value = '';
        return { rateLimit: null };
      }
      return { rateLimit: { requests: Number(requests.input.value), perSeconds: Number(per.input.value) } };
    }, 'save the rate limit');
  }

  function corsCard(t) {
    const origins = field('tenant-cors', 'Allowed origins, one per line', { name: 'corsAllowedOrigins', rows: 4, class: 'mono',
      placeholder: 'https://app.example.com' }, 'textarea');
    origins.input.value = (t.corsAllowedOrigins || []).join('\n');
    return patchForm('cors', 'CORS allowed origins', 'Browser origins that may call this tenant\'s Management API and token '
      + 'endpoint, besides the server\'s own (--cors-origins).',
    [origins.label, origins.input, el('button', { type: 'submit' }, 'Save origins')],
    () => ({ corsAllowedOrigins: origins.input.value.split('\n').map((o) => o.trim()).filter((o) => o) }),
    'save the allowed origins');
  }
}

// rateText describes a tenant's rate limit; null is the server's default.
function rateText(rl) {
  return rl ? `${rl.requests} per ${rl.perSeconds} s` : 'server default';
}
