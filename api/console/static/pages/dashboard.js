// The Dashboard page: the tenant's user counts as Logto's console shows
// them, from GET /api/dashboard/users/total, /users/new and /users/active
// (total users; new today and in the last 7 days; daily, weekly and
// monthly active users, each with its change, and the last 30 days' daily
// counts). Active means a user who verified a password or got a token in
// the window: idbolt has no sign-in (README, Active users).
import { api, failer } from '../api.js';
import { el } from '../dom.js';

export function render(main, { title, onUnauthorized }) {
  const fail = failer(onUnauthorized);
  const error = el('p', { class: 'error', role: 'alert', id: 'dashboard-error' });
  const refresh = el('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const counts = el('div', { class: 'grid', id: 'dashboard-counts' });
  const curve = el('tbody');
  const days = el('div', { class: 'table-wrap', hidden: true }, el('table', { id: 'dashboard-days' },
    el('caption', {}, 'Daily active users, last 30 days (UTC)'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Day'), el('th', { scope: 'col' }, 'Active users'))),
    curve));
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), refresh),
    el('p', { class: 'help' }, 'Active users are those who verified a password or were issued a token '
      + '(token exchange, JWT bearer) in the period.'),
    counts, days, error);

  async function load() {
    error.textContent = '';
    let total, fresh, active;
    try {
      [{ data: total }, { data: fresh }, { data: active }] = await Promise.all([
        api('GET', '/api/dashboard/users/total'),
        api('GET', '/api/dashboard/users/new'),
        api('GET', '/api/dashboard/users/active'),
      ]);
    } catch (e) {
      return fail(error, e, 'read the user counts');
    }
    counts.replaceChildren(
      card('dashboard-total', 'Total users', total.totalUserCount),
      card('dashboard-new-today', 'New users today', fresh.today.count, fresh.today.delta),
      card('dashboard-new-7d', 'New users, last 7 days', fresh.last7Days.count, fresh.last7Days.delta),
      card('dashboard-dau', 'Daily active users', active.dau.count, active.dau.delta),
      card('dashboard-wau', 'Weekly active users', active.wau.count, active.wau.delta),
      card('dashboard-mau', 'Monthly active users', active.mau.count, active.mau.delta));
    curve.replaceChildren(...[...active.dauCurve].reverse().map((d) =>
      el('tr', {}, el('td', { class: 'mono' }, d.date), el('td', {}, String(d.count)))));
    days.hidden = false;
  }

  refresh.addEventListener('click', load);
  load();
}

// card shows one count and, when given, its change from the period before.
function card(id, label, count, delta) {
  const change = delta === undefined ? '' : el('p', { class: 'help' },
    `${delta > 0 ? '+' : ''}${delta} from the period before`);
  return el('section', { class: 'card', id, 'aria-label': label },
    el('h2', {}, label), el('p', { class: 'count' }, String(count)), change);
}
