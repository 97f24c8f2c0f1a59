// One user, at /users/{id}: profile and custom data, suspend or reinstate,
// a new password, the user's roles, its organizations, and delete. Each
// part calls its own Management API route, so a session whose roles allow
// only some of them sees the others' refusals in place.
import { api, failer } from '../api.js';
import { el, field, pathLink } from '../dom.js';
import { assignedCard, listed, keptDeleteCard } from '../list.js';

const profileFields = [
  ['username', 'Username', {}],
  ['primaryEmail', 'Primary email', { type: 'email' }],
  ['primaryPhone', 'Primary phone', { type: 'tel' }],
  ['name', 'Name', {}],
];

export function renderUser(main, { onUnauthorized, go }, id) {
  const path = `/api/users/${encodeURIComponent(id)}`;
  const back = pathLink(go, '/users', '← All users', 'back');
  const heading = el('h1', { tabindex: '-1' }, 'User');
  const status = el('p', { class: 'summary', id: 'user-status', 'aria-live': 'polite' });
  const loadError = el('p', { class: 'error', role: 'alert', id: 'user-error' });
  main.replaceChildren(back, heading, status, loadError);

  const fail = failer(onUnauthorized);

  let user = null;
  const profile = profileCard();
  const suspend = suspendCard();
  const password = passwordCard();
  const roles = rolesCard();
  const orgs = orgsCard();
  const danger = deleteCard();

  function show(u) {
    user = u;
    const label = u.name || u.username || u.primaryEmail || u.id;
    heading.textContent = label;
    document.title = `${label} · Users · idbolt console`;
    status.textContent = `${u.isSuspended ? 'Suspended' : 'Active'} · ID ${u.id}`;
    profile.fill(u);
    suspend.fill(u);
  }

  (async () => {
    try {
      const { data } = await api('GET', path);
      show(data);
      main.append(el('div', { class: 'user-cards' }, profile.node, suspend.node, password.node, roles.node, orgs.node, danger.node));
      // A screen reader and the keyboard start at the user, not at the
      // link that was followed and is gone.
      heading.focus();
      roles.load();
      orgs.load();
    } catch (e) {
      fail(loadError, e, 'load the user');
    }
  })();

  function profileCard() {
    const inputs = profileFields.map(([name, label, attrs]) =>
      ({ name, ...field(`user-${name}`, label, { name, autocomplete: 'off', ...attrs }) }));
    const custom = field('user-custom-data', 'Custom data (JSON object)', { name: 'customData', rows: 6, spellcheck: 'false', class: 'mono' }, 'textarea');
    const msg = el('p', { class: 'error', role: 'alert', id: 'profile-error' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'profile-saved' });
    const form = el('form', { class: 'card', 'aria-labelledby': 'profile-title' },
      el('h2', { id: 'profile-title' }, 'Profile'),
      el('div', { class: 'grid' }, ...inputs.map((f) => el('div', {}, f.label, f.input))),
      custom.label, custom.input,
      el('button', { type: 'submit' }, 'Save profile'), done, msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      let customData;
      try {
        customData = JSON.parse(custom.input.value.trim() || '{}');
      } catch (e) {
        msg.textContent = `Custom data is not valid JSON: ${e.message}. Nothing was saved.`;
        custom.input.setAttribute('aria-invalid', 'true');
        custom.input.focus();
        return;
      }
      if (customData === null || typeof customData !== 'object' || Array.isArray(customData)) {
        msg.textContent = 'Custom data must be a JSON object, like {"plan": "pro"}. Nothing was saved.';
        custom.input.setAttribute('aria-invalid', 'true');
        custom.input.focus();
        return;
      }
      custom.input.removeAttribute('aria-invalid');
      const body = { customData };
      // An emptied field clears it (null), as the Management API expects.
      for (const f of inputs) body[f.name] = f.input.value.trim() || null;
      try {
        const { data } = await api('PATCH', path, body);
        show(data);
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, 'save the profile');
      }
    });
    return {
      node: form,
      fill(u) {
        for (const f of inputs) f.input.value = u[f.name] || '';
        custom.input.value = JSON.stringify(u.customData || {}, null, 2);
      },
    };
  }

  function suspendCard() {
    const button = el('button', { type: 'button', class: 'secondary' }, 'Suspend');
    const text = el('p', {});
    const msg = el('p', { class: 'error', role: 'alert', id: 'suspend-error' });
    button.addEventListener('click', async () => {
      msg.textContent = '';
      const want = !user.isSuspended;
      try {
        const { data } = await api('PATCH', `${path}/is-suspended`, { isSuspended: want });
        show(data);
      } catch (e) {
        fail(msg, e, want ? 'suspend the user' : 'reinstate the user');
      }
    });
    return {
      node: el('section', { class: 'card', 'aria-labelledby': 'suspend-title' },
        el('h2', { id: 'suspend-title' }, 'Sign-in'), text, button, msg),
      fill(u) {
        button.textContent = u.isSuspended ? 'Reinstate' : 'Suspend';
        text.textContent = u.isSuspended
          ? 'Suspended: this user cannot sign in and its sessions have ended.'
          : 'Active: this user can sign in.';
      },
    };
  }

  function passwordCard() {
    const pw = field('user-new-password', 'New password', { name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true });
    const msg = el('p', { class: 'error', role: 'alert', id: 'password-error' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'password-saved' });
    const form = el('form', { class: 'card', 'aria-labelledby': 'password-title' },
      el('h2', { id: 'password-title' }, 'Reset password'),
      el('p', {}, 'Set a new password and tell it to the user: it is not shown again.'),
      pw.label, pw.input, el('button', { type: 'submit' }, 'Set password'), done, msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      try {
        const { data } = await api('PATCH', `${path}/password`, { password: pw.input.value });
        pw.input.value = '';
        show(data);
        done.textContent = 'Password changed.';
      } catch (e) {
        fail(msg, e, 'set the password');
      }
    });
    return { node: form };
  }

  // The user's roles; the tenant's User roles it lacks are offered.
  function rolesCard() {
    return assignedCard({
      key: 'roles', title: 'Roles', caption: 'Roles of this user', columns: ['Role', 'Description'],
      tableAttrs: { id: 'user-roles' }, empty: 'No roles.', errorId: 'roles-error', noun: 'role', onUnauthorized,
      list: async () => (await api('GET', `${path}/roles?page_size=100`)).data,
      cells: (r) => [el('td', {}, r.name), el('td', {}, r.description || '')],
      name: (r) => r.name,
      remove: (r) => api('DELETE', `${path}/roles/${encodeURIComponent(r.id)}`),
      pick: { id: 'user-role-pick', label: 'Role to assign', noun: 'roles',
        search: listed('/api/roles', { type: 'User', excludeUserId: id }, (r) => [r.id, r.name]) },
      assignLabel: 'Assign role',
      assign: (roleId) => api('POST', `${path}/roles`, { roleIds: [roleId] }),
    });
  }

  function orgsCard() {
    const body = el('tbody');
    const msg = el('p', { class: 'error', role: 'alert', id: 'orgs-error' });
    const node = el('section', { class: 'card', 'aria-labelledby': 'orgs-title' },
      el('h2', { id: 'orgs-title' }, 'Organizations'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'user-orgs' },
        el('caption', { class: 'visually-hidden' }, 'Organizations of this user'),
        el('thead', {}, el('tr', {}, ...['Organization', 'Organization roles', 'ID'].map((h) => el('th', { scope: 'col' }, h)))),
        body)),
      msg);
    async function load() {
      msg.textContent = '';
      try {
        const { data } = await api('GET', `${path}/organizations`);
        body.replaceChildren(...data.map((o) => el('tr', {},
          el('td', {}, o.name), el('td', {}, (o.organizationRoles || []).map((r) => r.name).join(', ') || '—'),
          el('td', { class: 'mono' }, o.id))));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 3 }, 'Not a member of any organization.')));
      } catch (e) {
        fail(msg, e, 'list the organizations');
      }
    }
    return { node, load };
  }

  function deleteCard() {
    return {
      node: keptDeleteCard({ prefix: '', path, label: 'Delete user', what: 'user', note: 'Deleting a user cannot be undone.',
        dialogTitle: 'Delete this user?', go, back: '/users', onUnauthorized,
        question: () => `Delete user ${user.username || user.primaryEmail || user.id}? This cannot be undone: the user, its roles and memberships are removed.` }),
    };
  }
}
