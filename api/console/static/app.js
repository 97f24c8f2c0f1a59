// The console's shell: the client-side router, the sign-in gate and the
// layout. Each page is a module of pages/ exporting render(main, ctx). A
// page owns the paths under its own (e.g. /users/{id}): ctx.subpath is what
// follows the page's path ('' on the page itself, else '/{id}...'), and
// ctx.go(path) moves within the console.
import { session, signOut } from './api.js';
import * as signin from './pages/signin.js';
import * as users from './pages/users.js';
import * as apiClients from './pages/api-clients.js';
import * as applications from './pages/applications.js';
import * as roles from './pages/roles.js';
import * as apiResources from './pages/api-resources.js';
import * as organizations from './pages/organizations.js';
import * as connectors from './pages/connectors.js';
import * as auditLogs from './pages/audit-logs.js';
import * as dashboard from './pages/dashboard.js';
import * as webhooks from './pages/webhooks.js';
import * as signingKeys from './pages/signing-keys.js';
import * as tenants from './pages/tenants.js';
import * as clusterStatus from './pages/cluster.js';
import { el } from './dom.js';

const base = '/console';

// The navigation, in order: path, label, page module, and optionally the
// session's flag a page needs (the server refuses the calls anyway; the
// flag only hides what would be refused).
const pages = [
  ['/users', 'Users', users],
  ['/api-clients', 'API clients', apiClients],
  ['/applications', 'Applications', applications],
  ['/roles', 'Roles', roles],
  ['/api-resources', 'API resources', apiResources],
  ['/organizations', 'Organizations', organizations],
  ['/connectors', 'Connectors', connectors],
  ['/webhooks', 'Webhooks', webhooks],
  ['/audit-logs', 'Audit logs', auditLogs],
  ['/dashboard', 'Dashboard', dashboard],
  ['/signing-keys', 'Signing keys', signingKeys],
  ['/tenants', 'Tenants', tenants, 'instanceAdmin'],
  ['/cluster', 'Cluster', clusterStatus, 'instanceAdmin'],
];

const root = document.getElementById('app');
let current = null; // the session, once signed in

// shown returns the pages the session may open.
function shown() {
  return pages.filter(([, , , needs]) => !needs || (current && current[needs]));
}

// pageOf returns the page entry whose path is here or a parent of here.
function pageOf(here) {
  return shown().find(([p]) => here === p || here.startsWith(p + '/'));
}

function go(path) {
  history.pushState(null, '', base + path);
  route();
}

async function route() {
  if (!current) current = await session();
  if (!current) {
    root.replaceChildren();
    signin.render(root, {
      onSignedIn: (s) => {
        current = s;
        const here = location.pathname.slice(base.length);
        go(pageOf(here) ? here : '/users');
      },
    });
    document.title = 'Sign in · idbolt console';
    return;
  }
  let here = location.pathname.slice(base.length);
  let page = pageOf(here);
  if (!page) {
    history.replaceState(null, '', base + '/users');
    here = '/users';
    page = pages[0];
  }
  layout(page, here.slice(page[0].length));
}

function layout([path, label, module], subpath) {
  const nav = el('nav', { 'aria-label': 'Main' }, el('ul', {}, ...shown().map(([p, l]) =>
    el('li', {}, el('a', { href: base + p, 'aria-current': p === path ? 'page' : null }, l)))));
  nav.addEventListener('click', (ev) => {
    const a = ev.target.closest('a');
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(a.getAttribute('href').slice(base.length));
  });
  const who = current.userId ? `User ${current.userId}` : `Client ${current.clientId}`;
  const out = el('button', { type: 'button', class: 'secondary' }, 'Sign out');
  out.addEventListener('click', async () => {
    try { await signOut(); } catch { /* the session is gone either way */ }
    current = null;
    go('/');
  });
  const main = el('main', { id: 'main', tabindex: '-1' });
  root.replaceChildren(
    el('header', { class: 'top' },
      el('span', { class: 'brand' }, 'idbolt'),
      el('span', { class: 'who' }, `${who} · tenant ${current.tenant}`),
      out),
    nav, main);
  document.title = `${label} · idbolt console`;
  module.render(main, {
    title: label,
    subpath,
    go,
    onUnauthorized: () => { current = null; route(); },
  });
}

window.addEventListener('popstate', route);
route();
