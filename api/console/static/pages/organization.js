// One organization, at /organizations/{id}: its name and description, its
// members with their organization roles, its invitations, its managers,
// and delete. Each part calls its own Management API route, so an
// organization's owner sees what its roles forbid refused in place.
import { api, APIError, failer } from '../api.js';
import { el, field, pathLink, picker } from '../dom.js';
import { listed, keptDeleteCard } from '../list.js';

const weekMillis = 7 * 24 * 60 * 60 * 1000;

export function renderOrganization(main, { onUnauthorized, go }, id) {
  const path = `/api/organizations/${encodeURIComponent(id)}`;
  const back = pathLink(go, '/organizations', '← All organizations', 'back');
  const heading = el('h1', { tabindex: '-1' }, 'Organization');
  const status = el('p', { class: 'summary', id: 'org-status' });
  const loadError = el('p', { class: 'error', role: 'alert', id: 'org-error' });
  main.replaceChildren(back, heading, status, loadError);

  const fail = failer(onUnauthorized);

  let org = null;
  // The organization template's roles, for the pickers (several may be
  // picked): the first 100 are asked for once, whatever the rows.
  const searchAllRoles = listed('/api/organization-roles', {}, (r) => [r.id, r.name], 'q');
  let firstRoles = null;
  const searchRoles = (term) => (term ? searchAllRoles(term) : (firstRoles ??= searchAllRoles('')));
  const rolePicker = (id, label, chosen = []) =>
    picker({ id, label, noun: 'organization roles', multiple: true, compact: true, chosen, search: searchRoles });
  // userPicker offers the tenant's users (as the session may see them),
  // its search box named searchId and searchLabel. pickedUser reads it:
  // text typed and not searched for is resolved (an exact username, else
  // an id), else the user picked.
  const userPicker = (id, searchId, searchLabel) => picker({ id, label: 'Matching users', noun: 'users', searchId, searchLabel,
    search: listed('/api/users', {}, (u) => [u.id, u.username ? `${u.username} · ${u.id}` : u.id]) });
  const pickedUser = async (p) => {
    const typed = p.search.value.trim();
    return typed && typed !== p.term ? resolve(typed) : p.value();
  };
  const loadPicker = (p, msg, what) => p.load().catch((e) => {
    if (e instanceof APIError && e.status === 401) return onUnauthorized();
    msg.textContent = `Could not list ${what}: ${e.message}`;
  });

  const details = detailsCard();
  const members = membersCard();
  const invitations = invitationsCard();
  const managers = managersCard();
  const danger = deleteCard();

  function show(o) {
    org = o;
    heading.textContent = o.name;
    document.title = `${o.name} · Organizations · idbolt console`;
    status.textContent = `ID ${o.id}`;
    details.fill(o);
  }

  (async () => {
    try {
      const { data } = await api('GET', path);
      show(data);
      main.append(el('div', { class: 'user-cards' }, details.node, members.node, invitations.node, managers.node, danger.node));
      heading.focus();
      members.load();
      invitations.load();
      managers.load();
    } catch (e) {
      fail(loadError, e, 'load the organization');
    }
  })();

  function detailsCard() {
    const name = field('org-name', 'Name', { name: 'name', required: true, autocomplete: 'off' });
    const description = field('org-description', 'Description', { name: 'description', autocomplete: 'off' });
    const msg = el('p', { class: 'error', role: 'alert', id: 'details-error' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'details-saved' });
    const form = el('form', { class: 'card', 'aria-labelledby': 'details-title' },
      el('h2', { id: 'details-title' }, 'Details'),
      el('div', { class: 'grid' }, el('div', {}, name.label, name.input), el('div', {}, description.label, description.input)),
      el('button', { type: 'submit' }, 'Save details'), done, msg);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      try {
        const { data } = await api('PATCH', path, { name: name.input.value.trim(), description: description.input.value.trim() || null });
        show(data);
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, 'save the organization');
      }
    });
    return {
      node: form,
      fill(o) {
        name.input.value = o.name;
        description.input.value = o.description || '';
      },
    };
  }

  // resolve turns what was typed into a user id: an exact username match
  // when the session may search users, else the text itself as an id.
  async function resolve(text) {
    try {
      const { data } = await api('GET', `/api/users?search=${encodeURIComponent(text)}&mode=exact&page_size=2`);
      const hit = data.find((u) => u.username === text || u.id === text);
      if (hit) return hit.id;
    } catch (e) {
      if (e instanceof APIError && e.status === 401) throw e;
    }
    return text;
  }

  function membersCard() {
    const body = el('tbody');
    const who = userPicker('member-add-pick', 'member-add', 'User ID or username');
    const role = rolePicker('member-add-role', 'Organization roles');
    const msg = el('p', { class: 'error', role: 'alert', id: 'members-error' });
    const form = el('form', { class: 'inline', 'aria-label': 'Add member' },
      el('div', {}, who.node), el('div', {}, role.node), el('button', { type: 'submit' }, 'Add member'));
    const dialogText = el('p', { id: 'member-remove-text' });
    const confirm = el('button', { type: 'button', class: 'danger' }, 'Remove member');
    const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const dialog = el('dialog', { 'aria-labelledby': 'member-remove-title', 'aria-describedby': 'member-remove-text' },
      el('h2', { id: 'member-remove-title' }, 'Remove this member?'), dialogText, el('div', { class: 'actions' }, confirm, cancel));
    let removing = null;
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', async () => {
      dialog.close();
      try {
        await api('DELETE', `${path}/users/${encodeURIComponent(removing.id)}`);
        load();
      } catch (e) {
        fail(msg, e, 'remove the member');
      }
    });
    const node = el('section', { class: 'card wide', 'aria-labelledby': 'members-title' },
      el('h2', { id: 'members-title' }, 'Members'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'org-members' },
        el('caption', { class: 'visually-hidden' }, 'Members of this organization'),
        el('thead', {}, el('tr', {}, ...['Member', 'Organization roles', 'Change roles', 'Action'].map((h) => el('th', { scope: 'col' }, h)))),
        body)),
      form, msg, dialog);

    // row is a member's row: its roles, a picker of several to set them
    // to, and Remove.
    function row(u) {
      const label = u.username || u.primaryEmail || u.id;
      const current = u.organizationRoles || [];
      const pick = rolePicker(`member-role-${u.id}`, `Organization roles of ${label}`, current.map((r) => [r.id, r.name]));
      pick.node.querySelector(`label[for="${pick.control.id}"]`).className = 'visually-hidden';
      const set = el('button', { type: 'button', class: 'secondary', 'aria-label': `Set the roles of ${label}` }, 'Set role');
      set.addEventListener('click', async () => {
        msg.textContent = '';
        try {
          await api('PUT', `${path}/users/${encodeURIComponent(u.id)}/roles`, { organizationRoleIds: pick.value() });
          load();
        } catch (e) {
          fail(msg, e, `change the roles of ${label}`);
        }
      });
      const remove = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${label}` }, 'Remove');
      remove.addEventListener('click', () => {
        msg.textContent = '';
        removing = u;
        dialogText.textContent = `Remove ${label} from ${org.name}? Its organization roles here are removed too.`;
        dialog.showModal();
        cancel.focus();
      });
      const tr = el('tr', {}, el('td', {}, label), el('td', { class: 'member-roles' }, current.map((r) => r.name).join(', ') || '—'),
        el('td', { class: 'member-pick' }, pick.node, set), el('td', {}, remove));
      return { tr, pick };
    }

    async function load() {
      msg.textContent = '';
      loadPicker(who, msg, 'users');
      loadPicker(role, msg, 'the organization roles');
      try {
        const { data } = await api('GET', `${path}/users?page_size=100`);
        const rows = data.map(row);
        // The rows show once their pickers hold the roles, so what is on
        // screen can be picked at once.
        await Promise.all(rows.map((r) => loadPicker(r.pick, msg, 'the organization roles')));
        body.replaceChildren(...rows.map((r) => r.tr));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 4 }, 'No members.')));
      } catch (e) {
        fail(msg, e, 'list the members');
      }
    }

    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      const text = who.search.value.trim() || 'the user';
      try {
        const userId = await pickedUser(who);
        if (!userId) return;
        await api('POST', `${path}/users`, { userIds: [userId] });
        const roleIds = role.value();
        if (roleIds.length > 0) {
          await api('PUT', `${path}/users/${encodeURIComponent(userId)}/roles`, { organizationRoleIds: roleIds });
        }
        who.search.value = '';
        load();
      } catch (e) {
        fail(msg, e, `add ${text}`);
      }
    });
    return { node, load };
  }

  function invitationsCard() {
    const body = el('tbody');
    const email = field('invite-email', 'Email to invite', { name: 'invitee', type: 'email', autocomplete: 'off', required: true });
    const role = rolePicker('invite-role', 'Organization roles');
    const msg = el('p', { class: 'error', role: 'alert', id: 'invitations-error' });
    const form = el('form', { class: 'inline', 'aria-label': 'Invite' },
      el('div', {}, email.label, email.input), el('div', {}, role.node), el('button', { type: 'submit' }, 'Invite'));
    const node = el('section', { class: 'card wide', 'aria-labelledby': 'invitations-title' },
      el('h2', { id: 'invitations-title' }, 'Invitations'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'org-invitations' },
        el('caption', { class: 'visually-hidden' }, 'Invitations to this organization'),
        el('thead', {}, el('tr', {}, ...['Invitee', 'Organization roles', 'Status', 'Expires', 'Action'].map((h) => el('th', { scope: 'col' }, h)))),
        body)),
      form, msg);
    async function load() {
      msg.textContent = '';
      loadPicker(role, msg, 'the organization roles');
      try {
        const { data } = await api('GET', `/api/organization-invitations?organizationId=${encodeURIComponent(id)}`);
        body.replaceChildren(...data.map((inv) => {
          let action = '';
          if (inv.status === 'Pending') {
            action = el('button', { type: 'button', class: 'secondary', 'aria-label': `Revoke the invitation of ${inv.invitee}` }, 'Revoke');
            action.addEventListener('click', async () => {
              msg.textContent = '';
              try {
                await api('PUT', `/api/organization-invitations/${encodeURIComponent(inv.id)}/status`, { status: 'Revoked' });
                load();
              } catch (e) {
                fail(msg, e, 'revoke the invitation');
              }
            });
          }
          return el('tr', {}, el('td', {}, inv.invitee), el('td', {}, (inv.organizationRoles || []).map((r) => r.name).join(', ') || '—'),
            el('td', {}, inv.status), el('td', {}, new Date(inv.expiresAt).toISOString().slice(0, 16).replace('T', ' ')), el('td', {}, action));
        }));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 5 }, 'No invitations.')));
      } catch (e) {
        fail(msg, e, 'list the invitations');
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      const body = { invitee: email.input.value.trim(), organizationId: id, expiresAt: Date.now() + weekMillis };
      const roleIds = role.value();
      if (roleIds.length > 0) body.organizationRoleIds = roleIds;
      try {
        await api('POST', '/api/organization-invitations', body);
        email.input.value = '';
        load();
      } catch (e) {
        fail(msg, e, 'create the invitation');
      }
    });
    return { node, load };
  }

  function managersCard() {
    const body = el('tbody');
    const who = userPicker('manager-pick', 'manager-user', 'Manager user ID or username');
    const role = field('manager-role', 'Manager role', { name: 'role' }, 'select');
    role.input.append(el('option', { value: 'ORG_OWNER' }, 'ORG_OWNER'), el('option', { value: 'ORG_OWNER_VIEWER' }, 'ORG_OWNER_VIEWER'));
    const msg = el('p', { class: 'error', role: 'alert', id: 'managers-error' });
    const form = el('form', { class: 'inline', 'aria-label': 'Add manager' },
      el('div', {}, who.node), el('div', {}, role.label, role.input), el('button', { type: 'submit' }, 'Add manager'));
    const node = el('section', { class: 'card', 'aria-labelledby': 'managers-title' },
      el('h2', { id: 'managers-title' }, 'Managers'),
      el('div', { class: 'table-wrap' }, el('table', { id: 'org-managers' },
        el('caption', { class: 'visually-hidden' }, 'Managers of this organization'),
        el('thead', {}, el('tr', {}, ...['User ID', 'Roles', 'Action'].map((h) => el('th', { scope: 'col' }, h)))),
        body)),
      form, msg);
    async function load() {
      msg.textContent = '';
      try {
        const { data } = await api('GET', `${path}/managers?page_size=100`);
        loadPicker(who, msg, 'users');
        body.replaceChildren(...data.map((m) => {
          const remove = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove manager ${m.userId}` }, 'Remove');
          remove.addEventListener('click', async () => {
            msg.textContent = '';
            try {
              await api('DELETE', `${path}/managers/${encodeURIComponent(m.userId)}`);
              load();
            } catch (e) {
              fail(msg, e, 'remove the manager');
            }
          });
          return el('tr', {}, el('td', { class: 'mono' }, m.userId), el('td', {}, m.roles.join(', ')), el('td', {}, remove));
        }));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: 3 }, 'No managers.')));
      } catch (e) {
        form.hidden = true;
        fail(msg, e, 'list the managers');
      }
    }
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      try {
        const userId = await pickedUser(who);
        if (!userId) return;
        await api('POST', `${path}/managers`, { userId, roles: [role.input.value] });
        who.search.value = '';
        load();
      } catch (e) {
        fail(msg, e, 'add the manager');
      }
    });
    return { node, load };
  }

  function deleteCard() {
    return {
      node: keptDeleteCard({ prefix: 'org-', path, label: 'Delete organization', what: 'organization',
        note: 'Deleting an organization cannot be undone.', dialogTitle: 'Delete this organization?', go, back: '/organizations',
        onUnauthorized,
        question: () => `Delete organization ${org.name}? This cannot be undone: its memberships, roles and invitations are removed.` }),
    };
  }
}
