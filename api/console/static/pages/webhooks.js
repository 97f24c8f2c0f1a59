// The Webhooks page: the list with paging, the total and the last 24
// hours' deliveries, Create webhook, and each webhook's page at
// /webhooks/{id}: edit its name and URL, its events and whether it is
// enabled, its recent delivery attempts, a new signing key (shown once,
// like the key of a webhook just created) and delete after a "cannot be
// undone" dialog.
import { api, failer } from '../api.js';
import { el, field, confirmDialog, pathLink, secretPanel, when } from '../dom.js';
import { pagedList, createToggle, listPage, detailPage, editCard, deleteCard } from '../list.js';

// events are the data events a webhook can hear of: the Management API
// fires them. Logto's sign-in events may be subscribed to through the API
// but never fire here (idbolt has no sign-in flow), so they are not offered.
const events = [
  'User.Created', 'User.Deleted', 'User.Data.Updated', 'User.SuspensionStatus.Updated',
  'Role.Created', 'Role.Deleted', 'Role.Data.Updated', 'Role.Scopes.Updated',
  'Scope.Created', 'Scope.Deleted', 'Scope.Data.Updated',
  'Organization.Created', 'Organization.Deleted', 'Organization.Data.Updated', 'Organization.Membership.Updated',
  'OrganizationRole.Created', 'OrganizationRole.Deleted', 'OrganizationRole.Data.Updated', 'OrganizationRole.Scopes.Updated',
  'OrganizationScope.Created', 'OrganizationScope.Deleted', 'OrganizationScope.Data.Updated',
];

// created is the signing key of the webhook just created, shown once by
// its page and then forgotten.
let created = null;

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderHook(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

// eventBoxes is a fieldset with a checkbox per event, those of chosen
// ticked; checked() returns the ticked ones.
function eventBoxes(key, legend, chosen = []) {
  const boxes = events.map((name, i) => {
    const box = el('input', { type: 'checkbox', id: `${key}-event-${i}`, value: name });
    box.checked = chosen.includes(name);
    return { box, label: el('label', { for: box.id, class: 'check' }, box, ` ${name}`) };
  });
  const node = el('fieldset', { class: `checks ${key}-events` }, el('legend', {}, legend),
    el('div', { class: 'grid' }, ...boxes.map((b) => b.label)));
  return { node, checked: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value) };
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  const name = field('new-hook-name', 'Name', { name: 'name', autocomplete: 'off', required: true });
  const url = field('new-hook-url', 'URL', { name: 'url', type: 'url', autocomplete: 'off', required: true,
    placeholder: 'https://example.com/idbolt-events' });
  const chosen = eventBoxes('new-hook', 'Events', ['User.Created']);
  const createError = el('p', { class: 'error', role: 'alert' });
  const create = el('form', { class: 'card create-hook', 'aria-label': 'Create webhook' },
    el('h2', {}, 'Create webhook'),
    el('div', { class: 'grid' }, ...[name, url].map((f) => el('div', {}, f.label, f.input))),
    chosen.node, el('button', { type: 'submit' }, 'Create'), createError);
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createError.textContent = '';
    try {
      const { data } = await api('POST', '/api/hooks',
        { name: name.input.value.trim(), events: chosen.checked(), config: { url: url.input.value.trim() } });
      created = { id: data.id, key: data.signingKey };
      go(`/webhooks/${encodeURIComponent(data.id)}`);
    } catch (e) {
      fail(createError, e, 'create the webhook');
    }
  });
  const list = pagedList({
    path: '/api/hooks', caption: 'Webhooks', columns: ['Name', 'URL', 'Events', 'Enabled', 'Last 24 h'],
    noun: ['webhook', 'webhooks'], empty: 'No webhooks.', what: 'list webhooks', onUnauthorized,
    params: () => ({ includeExecutionStats: 'true' }), tableAttrs: { class: 'hooks' },
    row: (h) => [el('td', {}, pathLink(go, `/webhooks/${encodeURIComponent(h.id)}`, h.name || h.id)),
      el('td', { class: 'mono' }, h.config.url), el('td', {}, String(h.events.length)), el('td', {}, h.enabled ? 'Yes' : 'No'),
      el('td', {}, h.executionStats ? `${h.executionStats.successCount} of ${h.executionStats.requestCount} delivered` : '')],
  });
  listPage(main, title, createToggle('Create webhook', create), create, '', list);
  list.load();
}

function renderHook(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/api/hooks/${encodeURIComponent(id)}`;
  const shown = created && created.id === id ? secretPanel('Signing key', created.key, 'new-hook-key') : '';
  created = null;
  const describe = (h) =>
    `${h.enabled ? 'Enabled' : 'Disabled'} · ${h.events.length} event${h.events.length === 1 ? '' : 's'} · ID ${h.id}`;
  const { heading, status, loadError } = detailPage(main, {
    go, onUnauthorized, path, back: '/webhooks', backText: '← All webhooks', what: 'webhook', section: 'Webhooks',
    title: (h) => h.name || h.id, status: describe, after: shown,
    cards: (hook) => [
      editCard({ key: 'hook', path, what: 'webhook', onUnauthorized,
        fields: [['name', 'Name', hook.name], ['url', 'URL', hook.config.url, { type: 'url' }]],
        body: (v) => ({ name: v.name, config: { ...hook.config, url: v.url } }),
        saved: (h) => { hook = h; heading.textContent = h.name || h.id; } }),
      eventsCard(hook),
      logsCard(),
      keyCard(),
      deleteCard({ key: 'hook', path, label: 'Delete webhook', what: 'webhook',
        note: 'Deleting a webhook cannot be undone. Events not yet delivered to it are dropped.', go, back: '/webhooks', onUnauthorized,
        question: () => `Delete the webhook ${hook.name || hook.id}? This cannot be undone: events not yet delivered to it are dropped.` }),
    ],
  });

  // The events it hears of, and Enable or Disable.
  function eventsCard(hook) {
    const chosen = eventBoxes('hook', 'Events', hook.events);
    const msg = el('p', { class: 'error', role: 'alert' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'hook-events-saved' });
    const toggle = el('button', { type: 'button', class: 'secondary' });
    const label = () => { toggle.textContent = hook.enabled ? 'Disable webhook' : 'Enable webhook'; };
    label();
    const form = el('form', { class: 'card', 'aria-labelledby': 'hook-events-title' }, el('h2', { id: 'hook-events-title' }, 'Events'),
      el('p', { class: 'help' }, 'Each event is posted, signed, in commit order; a failed delivery is retried for 24 hours. ' +
        'A disabled webhook hears nothing, and when enabled again hears of changes from then on.'),
      chosen.node, el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save events'), toggle), done, msg);
    const patch = async (body, what, text) => {
      msg.textContent = '';
      done.textContent = '';
      try {
        ({ data: hook } = await api('PATCH', path, body));
        status.textContent = describe(hook);
        label();
        done.textContent = text;
      } catch (e) {
        fail(msg, e, what);
      }
    };
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      patch({ events: chosen.checked() }, 'save the events', 'Saved.');
    });
    toggle.addEventListener('click', () => patch({ enabled: !hook.enabled }, 'switch the webhook',
      hook.enabled ? 'Disabled.' : 'Enabled.'));
    return form;
  }

  // The delivery attempts of the last 24 hours, newest first.
  function logsCard() {
    const list = pagedList({
      path: `${path}/recent-logs`, caption: 'Recent deliveries', columns: ['Time', 'Event', 'Result', 'Answer'],
      noun: ['attempt', 'attempts'], empty: 'No delivery attempts in the last 24 hours.', what: 'list the deliveries',
      onUnauthorized, tableAttrs: { class: 'hook-logs' },
      row: (l) => [el('td', {}, when(l.createdAt)), el('td', {}, l.key.replace(/^TriggerHook\./, '')),
        el('td', {}, l.payload.result || ''),
        el('td', {}, l.payload.params?.responseStatus || l.payload.error?.message || '')],
    });
    const refresh = el('button', { type: 'button', class: 'secondary' }, 'Refresh');
    refresh.addEventListener('click', () => list.load(1));
    list.load();
    return el('section', { class: 'card', 'aria-labelledby': 'hook-logs-title' }, el('h2', { id: 'hook-logs-title' }, 'Recent deliveries'),
      list.summary, list.table, el('div', { class: 'actions' }, list.pager, refresh), list.error);
  }

  // A new signing key, shown once; receivers must switch to it.
  function keyCard() {
    const msg = el('p', { class: 'error', role: 'alert' });
    const rotate = el('button', { type: 'button', class: 'danger' }, 'Rotate signing key');
    const card = el('section', { class: 'card', 'aria-labelledby': 'hook-key-title' }, el('h2', { id: 'hook-key-title' }, 'Signing key'),
      el('p', {}, 'Every delivery carries Logto-Signature-Sha-256, the HMAC-SHA256 of its body under this key.'), rotate, msg);
    rotate.addEventListener('click', async () => {
      if (!await confirmDialog(card, 'Give the webhook a new signing key? Deliveries are signed with it at once: ' +
        'receivers checking the old key refuse them until they have the new one.', 'Rotate signing key')) return;
      msg.textContent = '';
      try {
        const { data } = await api('PATCH', `${path}/signing-key`);
        main.querySelector('.secret-panel')?.remove();
        loadError.after(secretPanel('Signing key', data.signingKey, 'new-hook-key'));
        main.querySelector('.secret-panel button').focus();
        status.textContent = 'A new signing key is in use.';
      } catch (e) {
        fail(msg, e, 'rotate the signing key');
      }
    });
    return card;
  }
}
