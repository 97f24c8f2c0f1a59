// The Tenants page, for instance administrators: the list through the
// system API (/system/tenants, paged with the total), Create tenant (id,
// name; the new tenant's admin credentials are shown once), and each
// tenant's page at /tenants/{id}: its name, rate limit and CORS allowed
// origins (PATCH /system/tenants/{id}), and Delete tenant after a dialog.
// The server refuses these calls to any other session; the navigation only
// hides the page.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink } from '../dom.js';

const pageSize = 20;

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderTenant(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  let page = 1;
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert', id: 'tenant-list-error' });
  const openCreate = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Create tenant');
  const id = field('new-tenant-id', 'Tenant ID', { name: 'id', autocomplete: 'off', required: true });
  const name = field('new-tenant-name', 'Name', { name: 'name', autocomplete: 'off' });
  const createError = el('p', { class: 'error', role: 'alert', id: 'create-tenant-error' });
  const create = el('form', { class: 'card create-tenant', 'aria-label': 'Create tenant', hidden: true },
    el('h2', {}, 'Create tenant'),
    el('p', { class: 'help' }, 'The ID is part of the tenant\'s URLs (/t/{id}/...) and never changes.'),
    el('div', { class: 'grid' }, el('div', {}, id.label, id.input), el('div', {}, name.label, name.input)),
    el('button', { type: 'submit' }, 'Create'), createError);
  const created = el('div');
  openCreate.addEventListener('click', () => {
    create.hidden = !create.hidden;
    openCreate.setAttribute('aria-expanded', String(!create.hidden));
    if (!create.hidden) id.input.focus();
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
      create.hidden = true;
      openCreate.setAttribute('aria-expanded', 'false');
      created.replaceChildren(credentialsPanel(go, data));
      page = 1;
      load();
    } catch (e) {
      fail(createError, e, 'create the tenant');
    }
  });
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), openCreate), create, created, summary,
    el('div', { class: 'table-wrap' }, el('table', { id: 'tenant-list' }, el('caption', { class: 'visually-hidden' }, 'Tenants'),
      el('thead', {}, el('tr', {}, ...['Name', 'ID', 'Rate limit', 'Created'].map((h) => el('th', { scope: 'col' }, h)))), body)),
    el('div', { class: 'pager' }, prev, next), error);

  async function load() {
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `/system/tenants?page=${page}&page_size=${pageSize}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((t) => el('tr', {},
        el('td', {}, pathLink(go, `/tenants/${encodeURIComponent(t.id)}`, t.name || t.id)),
        el('td', { class: 'mono' }, t.id), el('td', {}, rateText(t.rateLimit)), el('td', {}, when(t.createdAt)))));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 4 }, 'No tenants.')));
      summary.textContent = `${total} ${total === 1 ? 'tenant' : 'tenants'} · page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    } catch (e) {
      fail(error, e, 'list the tenants');
    }
  }
  prev.addEventListener('click', () => { page--; load(); });
  next.addEventListener('click', () => { page++; load(); });
  load();
}

// credentialsPanel shows a new tenant's admin credentials once.
function credentialsPanel(go, tenant) {
  const creds = tenant.credentials || {};
  const secret = el('code', { class: 'secret mono', id: 'new-tenant-secret' }, creds.clientSecret || '');
  const copied = el('span', { class: 'copied', role: 'status' });
  const copy = el('button', { type: 'button' }, 'Copy secret');
  const done = el('button', { type: 'button', class: 'secondary' }, 'Done');
  const panel = el('section', { class: 'card secret-panel', 'aria-labelledby': 'tenant-secret-title' },
    el('h2', { id: 'tenant-secret-title' }, `Tenant ${tenant.id} created`),
    el('p', {}, 'Its admin application signs in to this console (tenant ', el('span', { class: 'mono' }, tenant.id),
      ') and gets the tenant\'s Management API tokens with:'),
    el('p', {}, 'Client ID ', el('code', { class: 'mono', id: 'new-tenant-client-id' }, creds.clientId || '')),
    el('p', { class: 'warning' }, 'This secret will not be shown again. Copy it now and keep it safe.'),
    secret, el('div', { class: 'actions' }, copy, done, copied,
      pathLink(go, `/tenants/${encodeURIComponent(tenant.id)}`, `Open ${tenant.id}`)));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(creds.clientSecret);
      copied.textContent = 'Copied.';
    } catch {
      window.getSelection().selectAllChildren(secret);
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
  done.addEventListener('click', () => panel.remove());
  return panel;
}

function renderTenant(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/system/tenants/${encodeURIComponent(id)}`;
  const heading = el('h1', { tabindex: '-1' }, 'Tenant');
  const status = el('p', { class: 'summary', 'aria-live': 'polite', id: 'tenant-status' });
  const loadError = el('p', { class: 'error', role: 'alert' });
  main.replaceChildren(pathLink(go, '/tenants', '← All tenants', 'back'), heading, status, loadError);

  (async () => {
    let t;
    try {
      ({ data: t } = await api('GET', path));
    } catch (e) {
      return fail(loadError, e, 'load the tenant');
    }
    show(t);
    document.title = `${t.name} · Tenants · idbolt console`;
    main.append(el('div', { class: 'user-cards' }, nameCard(t), rateCard(t), corsCard(t), deleteCard(t)));
    heading.focus();
  })();

  function show(t) {
    heading.textContent = t.name;
    status.textContent = `ID ${t.id} · created ${when(t.createdAt)} · rate limit ${rateText(t.rateLimit)}`;
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

  function deleteCard(t) {
    const msg = el('p', { class: 'error', role: 'alert', id: 'tenant-delete-error' });
    const del = el('button', { type: 'button', class: 'danger' }, 'Delete tenant');
    del.addEventListener('click', async () => {
      if (!await confirmDialog(main, `Delete the tenant ${t.id}? This cannot be undone: its users, applications, roles, `
        + 'organizations, keys and audit log are deleted with it, and its tokens stop working.', 'Delete tenant')) return;
      msg.textContent = '';
      try {
        await api('DELETE', path);
        go('/tenants');
      } catch (e) {
        fail(msg, e, 'delete the tenant');
      }
    });
    return el('section', { class: 'card', 'aria-labelledby': 'tenant-delete-title' },
      el('h2', { id: 'tenant-delete-title' }, 'Delete'), el('p', {}, 'Deleting a tenant cannot be undone.'), del, msg);
  }
}

// rateText describes a tenant's rate limit; null is the server's default.
function rateText(rl) {
  return rl ? `${rl.requests} per ${rl.perSeconds} s` : 'server default';
}

// when shows an epoch-ms time in UTC.
function when(ms) {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
