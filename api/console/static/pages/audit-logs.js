// The Audit logs page: entries newest first, paged with the total, filtered
// by what GET /api/logs supports (log key, user id, application id), the
// person who made a write through the console (actorUserId) shown, and
// one entry at /audit-logs/{id} with its payload shown as JSON text. What
// an entry holds came from callers (user agents, client ids), so it is only
// ever set as text.
import { api, APIError, explain } from '../api.js';
import { el } from '../dom.js';

const pageSize = 20;

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
  const state = { page: 1, filter: {} };
  const inputs = filters.map(([name, label]) => ({
    name, label: el('label', { for: `log-${name}` }, label),
    input: el('input', { id: `log-${name}`, name, type: 'search', autocomplete: 'off' }),
  }));
  const form = el('form', { class: 'search', role: 'search', 'aria-label': 'Filter audit logs' },
    ...inputs.flatMap((f) => [f.label, f.input]), el('button', { type: 'submit' }, 'Filter'));
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const table = el('table', { id: 'log-list' },
    el('caption', { class: 'visually-hidden' }, 'Audit log entries, newest first'),
    el('thead', {}, el('tr', {}, ...['Time', 'Key', 'Result', 'User ID', 'Application ID', 'By user'].map((h) => el('th', { scope: 'col' }, h)))),
    body);
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert', id: 'log-list-error' });
  main.replaceChildren(el('h1', {}, title), form, summary,
    el('div', { class: 'table-wrap' }, table), el('div', { class: 'pager' }, prev, next), error);

  body.addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(a.getAttribute('href').slice('/console'.length));
  });

  async function load() {
    const params = new URLSearchParams({ page: String(state.page), page_size: String(pageSize) });
    for (const [k, v] of Object.entries(state.filter)) if (v) params.set(k, v);
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `/api/logs?${params}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((e) => {
        const p = e.payload || {};
        return el('tr', {},
          el('td', {}, el('a', { href: `/console/audit-logs/${encodeURIComponent(e.id)}` }, when(e.createdAt))),
          el('td', { class: 'mono' }, e.key), el('td', {}, p.result || ''),
          el('td', { class: 'mono' }, p.userId || ''), el('td', { class: 'mono' }, p.applicationId || ''),
          el('td', { class: 'mono' }, p.actorUserId || ''));
      }));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 6 }, 'No entries match.')));
      summary.textContent = `${total} ${total === 1 ? 'entry' : 'entries'} · page ${state.page} of ${pages}`;
      prev.disabled = state.page <= 1;
      next.disabled = state.page >= pages;
    } catch (e) {
      if (e instanceof APIError && e.status === 401) return onUnauthorized();
      error.textContent = explain(e, 'list the audit logs');
    }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.filter = Object.fromEntries(inputs.map((f) => [f.name, f.input.value.trim()]));
    state.page = 1;
    load();
  });
  prev.addEventListener('click', () => { state.page--; load(); });
  next.addEventListener('click', () => { state.page++; load(); });
  load();
}

function renderEntry(main, { onUnauthorized, go }, id) {
  const back = el('a', { href: '/console/audit-logs', class: 'back' }, '← All audit logs');
  back.addEventListener('click', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go('/audit-logs');
  });
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
