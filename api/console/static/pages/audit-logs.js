// The Audit logs page: entries newest first, paged with the total, filtered
// by what GET /api/logs supports (log key, user id, application id), the
// person who made a write through the console (actorUserId) shown, and
// one entry at /audit-logs/{id} with its payload shown as JSON text. What
// an entry holds came from callers (user agents, client ids), so it is only
// ever set as text.
import { api, APIError, explain } from '../api.js';
import { el, pathLink } from '../dom.js';
import { pagedList } from '../list.js';

const filters = [
  ['logKey', 'Log key'],
  ['userId', 'User ID'],
  ['applicationId', 'Application ID'],
];

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  if (id) return renderEntry(main, ctx, decodeURIComponent(id));
  return renderList(main, ctx);
}

// when formats epoch milliseconds as UTC, to the second.
const when = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';

function renderList(main, { title, onUnauthorized, go }) {
  let filter = {};
  const inputs = filters.map(([name, label]) => ({
    name, label: el('label', { for: `log-${name}` }, label),
    input: el('input', { id: `log-${name}`, name, type: 'search', autocomplete: 'off' }),
  }));
  const form = el('form', { class: 'search', role: 'search', 'aria-label': 'Filter audit logs' },
    ...inputs.flatMap((f) => [f.label, f.input]), el('button', { type: 'submit' }, 'Filter'));
  const list = pagedList({
    path: '/api/logs', caption: 'Audit log entries, newest first', tableAttrs: { id: 'log-list' }, errorId: 'log-list-error',
    columns: ['Time', 'Key', 'Result', 'User ID', 'Application ID', 'By user'], noun: ['entry', 'entries'],
    empty: 'No entries match.', what: 'list the audit logs', onUnauthorized, params: () => filter,
    row: (e) => {
      const p = e.payload || {};
      return [el('td', {}, pathLink(go, `/audit-logs/${encodeURIComponent(e.id)}`, when(e.createdAt))),
        el('td', { class: 'mono' }, e.key), el('td', {}, p.result || ''),
        el('td', { class: 'mono' }, p.userId || ''), el('td', { class: 'mono' }, p.applicationId || ''),
        el('td', { class: 'mono' }, p.actorUserId || '')];
    },
  });
  main.replaceChildren(el('h1', {}, title), form, list.summary, list.table, list.pager, list.error);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filter = Object.fromEntries(inputs.map((f) => [f.name, f.input.value.trim()]));
    list.load(1);
  });
  list.load();
}

function renderEntry(main, { onUnauthorized, go }, id) {
  const back = pathLink(go, '/audit-logs', '← All audit logs', 'back');
  const heading = el('h1', { tabindex: '-1' }, 'Audit log entry');
  const facts = el('dl', { class: 'facts', id: 'log-facts' });
  const payload = el('pre', { class: 'mono payload', id: 'log-payload', tabindex: '0', 'aria-label': 'Payload' });
  const error = el('p', { class: 'error', role: 'alert', id: 'log-error' });
  main.replaceChildren(back, heading, error);
  (async () => {
    try {
      const { data } = await api('GET', `/api/logs/${encodeURIComponent(id)}`);
      heading.textContent = data.key;
      document.title = `${data.key} · Audit logs · idbolt console`;
      facts.replaceChildren(...[['ID', data.id], ['Key', data.key], ['Time', when(data.createdAt)]]
        .flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
      payload.textContent = JSON.stringify(data.payload, null, 2);
      main.append(facts, el('h2', {}, 'Payload'), payload);
      heading.focus();
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return onUnauthorized();
      error.textContent = explain(e, 'load the audit log entry');
    }
  })();
}
