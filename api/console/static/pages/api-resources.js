// The API resources page: the list with the total, Create API resource
// (name, indicator, token TTL), and each resource's page at
// /api-resources/{id}: edit the name and token TTL, its scopes (create,
// edit the description, delete after a dialog) and delete the resource
// after a dialog. The Management API resource refuses deletion; the page
// shows the API's refusal in place.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink } from '../dom.js';
import { pagedList, createToggle, listPage } from '../list.js';

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderResource(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  const name = field('new-resource-name', 'Name', { name: 'name', autocomplete: 'off', required: true });
  const indicator = field('new-resource-indicator', 'Indicator (URI)', { name: 'indicator', autocomplete: 'off', required: true,
    placeholder: 'https://api.example.com' });
  const ttl = field('new-resource-ttl', 'Token TTL (seconds)', { name: 'accessTokenTtl', type: 'number', min: 1, value: 3600 });
  const createError = el('p', { class: 'error', role: 'alert' });
  const create = el('form', { class: 'card create-resource', 'aria-label': 'Create API resource' },
    el('h2', {}, 'Create API resource'),
    el('div', { class: 'grid' }, ...[name, indicator, ttl].map((f) => el('div', {}, f.label, f.input))),
    el('button', { type: 'submit' }, 'Create'), createError);
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createError.textContent = '';
    const b = { name: name.input.value.trim(), indicator: indicator.input.value.trim() };
    if (ttl.input.value) b.accessTokenTtl = Number(ttl.input.value);
    try {
      const { data } = await api('POST', '/api/resources', b);
      go(`/api-resources/${encodeURIComponent(data.id)}`);
    } catch (e) {
      fail(createError, e, 'create the API resource');
    }
  });
  const list = pagedList({
    path: '/api/resources', caption: 'API resources', columns: ['Name', 'Indicator', 'Token TTL', 'ID'],
    noun: ['API resource', 'API resources'], empty: 'No API resources.', what: 'list API resources', onUnauthorized,
    row: (r) => [el('td', {}, pathLink(go, `/api-resources/${encodeURIComponent(r.id)}`, r.name)),
      el('td', { class: 'mono' }, r.indicator), el('td', {}, `${r.accessTokenTtl} s`), el('td', { class: 'mono' }, r.id)],
  });
  listPage(main, title, createToggle('Create API resource', create), create, '', list);
  list.load();
}

function renderResource(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/api/resources/${encodeURIComponent(id)}`;
  const heading = el('h1', { tabindex: '-1' }, 'API resource');
  const status = el('p', { class: 'summary', 'aria-live': 'polite' });
  const loadError = el('p', { class: 'error', role: 'alert' });
  main.replaceChildren(pathLink(go, '/api-resources', '← All API resources', 'back'), heading, status, loadError);

  (async () => {
    let res;
    try {
      ({ data: res } = await api('GET', path));
    } catch (e) {
      return fail(loadError, e, 'load the API resource');
    }
    heading.textContent = res.name;
    document.title = `${res.name} · API resources · idbolt console`;
    status.textContent = `${res.indicator} · ID ${res.id}`;
    main.append(el('div', { class: 'user-cards' }, editCard(res), scopesCard(), deleteCard(res)));
    heading.focus();
  })();

  function editCard(res) {
    const name = field('resource-name', 'Name', { name: 'name', autocomplete: 'off', value: res.name });
    const ttl = field('resource-ttl', 'Token TTL (seconds)', { name: 'accessTokenTtl', type: 'number', min: 1, value: res.accessTokenTtl });
    const msg = el('p', { class: 'error', role: 'alert' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'resource-saved' });
    const form = el('form', { class: 'card', 'aria-labelledby': 'resource-edit-title' },
      el('h2', { id: 'resource-edit-title' }, 'Details'),
      el('p', { class: 'help' }, 'The indicator never changes.'),
      name.label, name.input, ttl.label, ttl.input, el('button', { type: 'submit' }, 'Save'), done, msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      try {
        const { data } = await api('PATCH', path, { name: name.input.value.trim(), accessTokenTtl: Number(ttl.input.value) });
        heading.textContent = data.name;
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, 'save the API resource');
      }
    });
    return form;
  }

  function scopesCard() {
    const body = el('tbody');
    const msg = el('p', { class: 'error', role: 'alert' });
    const name = field('scope-name', 'Scope name', { name: 'scopeName', autocomplete: 'off', required: true });
    const desc = field('scope-description', 'Scope description', { name: 'scopeDescription', autocomplete: 'off' });
    const form = el('form', { class: 'add' }, el('div', { class: 'grid' }, el('div', {}, name.label, name.input),
      el('div', {}, desc.label, desc.input)), el('button', { type: 'submit' }, 'Create scope'));
    const card = el('section', { class: 'card', 'aria-labelledby': 'resource-scopes-title' },
      el('h2', { id: 'resource-scopes-title' }, 'Scopes'),
      el('div', { class: 'table-wrap' }, el('table', { class: 'resource-scopes' }, el('caption', { class: 'visually-hidden' }, 'Scopes'),
        el('thead', {}, el('tr', {}, ...['Scope', 'Description', ''].map((h) => el('th', { scope: 'col' }, h)))), body)),
      form, msg);
    async function load() {
      try {
        const { data } = await api('GET', `${path}/scopes?page=1&page_size=100`);
        body.replaceChildren(...data.map((s) => {
          const d = field(`scope-desc-${s.id}`, `Description of ${s.name}`, { autocomplete: 'off', value: s.description || '' });
          d.label.className = 'visually-hidden';
          const save = el('button', { type: 'button', class: 'secondary' }, 'Save description');
          const del = el('button', { type: 'button', class: 'secondary' }, 'Delete scope');
          save.addEventListener('click', async () => {
            msg.textContent = '';
            try {
              await api('PATCH', `${path}/scopes/${encodeURIComponent(s.id)}`, { description: d.input.value.trim() || null });
              status.textContent = `Saved the scope ${s.name}.`;
            } catch (e) {
              fail(msg, e, 'save the scope');
            }
          });
          del.addEventListener('click', async () => {
            if (!await confirmDialog(main, `Delete the scope ${s.name}? This cannot be undone: roles lose it and new tokens no longer carry it.`,
              'Delete scope')) return;
            msg.textContent = '';
            try {
              await api('DELETE', `${path}/scopes/${encodeURIComponent(s.id)}`);
              status.textContent = `Deleted the scope ${s.name}.`;
              load();
            } catch (e) {
              fail(msg, e, 'delete the scope');
            }
          });
          return el('tr', {}, el('td', { class: 'mono' }, s.name), el('td', {}, d.label, d.input),
            el('td', { class: 'row-actions' }, save, del));
        }));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 3 }, 'No scopes.')));
      } catch (e) {
        fail(msg, e, 'list the scopes');
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      const b = { name: name.input.value.trim() };
      if (desc.input.value.trim()) b.description = desc.input.value.trim();
      try {
        await api('POST', `${path}/scopes`, b);
        name.input.value = '';
        desc.input.value = '';
        status.textContent = `Created the scope ${b.name}.`;
        load();
      } catch (e) {
        fail(msg, e, 'create the scope');
      }
    });
    load();
    return card;
  }

  function deleteCard(res) {
    const msg = el('p', { class: 'error', role: 'alert', id: 'resource-delete-error' });
    const del = el('button', { type: 'button', class: 'danger' }, 'Delete API resource');
    del.addEventListener('click', async () => {
      if (!await confirmDialog(main, `Delete the API resource ${res.name}? This cannot be undone: its scopes go with it.`,
        'Delete API resource')) return;
      msg.textContent = '';
      try {
        await api('DELETE', path);
        go('/api-resources');
      } catch (e) {
        fail(msg, e, 'delete the API resource');
      }
    });
    return el('section', { class: 'card', 'aria-labelledby': 'resource-delete-title' },
      el('h2', { id: 'resource-delete-title' }, 'Delete'), el('p', {}, 'Deleting an API resource cannot be undone.'), del, msg);
  }
}
