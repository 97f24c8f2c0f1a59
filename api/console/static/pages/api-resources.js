// The API resources page: the list with the total, Create API resource
// (name, indicator, token TTL), and each resource's page at
// /api-resources/{id}: edit the name and token TTL, its scopes (create,
// edit the description, delete after a dialog) and delete the resource
// after a dialog. The Management API resource refuses deletion; the page
// shows the API's refusal in place.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink } from '../dom.js';
import { pagedList, createToggle, listPage, detailPage, editCard, deleteCard } from '../list.js';

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
  const { heading, status } = detailPage(main, {
    go, onUnauthorized, path, back: '/api-resources', backText: '← All API resources', what: 'API resource', section: 'API resources',
    title: (r) => r.name, status: (r) => `${r.indicator} · ID ${r.id}`,
    cards: (res) => [
      editCard({ key: 'resource', path, what: 'API resource', onUnauthorized, help: 'The indicator never changes.',
        fields: [['name', 'Name', res.name], ['ttl', 'Token TTL (seconds)', res.accessTokenTtl, { name: 'accessTokenTtl', type: 'number', min: 1 }]],
        body: (v) => ({ name: v.name, accessTokenTtl: Number(v.ttl) }), saved: (r) => { heading.textContent = r.name; } }),
      scopesCard(),
      deleteCard({ key: 'resource', path, label: 'Delete API resource', what: 'API resource', errorId: 'resource-delete-error',
        note: 'Deleting an API resource cannot be undone.', go, back: '/api-resources', onUnauthorized,
        question: () => `Delete the API resource ${res.name}? This cannot be undone: its scopes go with it.` }),
    ],
  });

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
}
