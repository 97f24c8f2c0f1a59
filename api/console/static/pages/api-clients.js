// The API clients page (Flip's flow): list with paging and the total,
// create with a fixed client id, roles and names; the new secret is shown
// once and lives only in this render's memory, so navigating away or
// reloading never shows it again. A client's detail edits it, disables,
// enables, gives it a new secret (shown once, as at creation) and deletes
// it (after a confirmation dialog), and manages its service user's keys:
// generate (the key file is downloaded once and not kept), upload a public
// key, delete.
import { api, APIError } from '../api.js';
import { el, picker, confirmDialog, secretPanel, when } from '../dom.js';
import { listed, pagedList } from '../list.js';

let seq = 0;

// field returns a labelled input (or textarea, select) and the input.
function field(label, tag, attrs = {}, ...children) {
  const id = `ac${++seq}`;
  const input = el(tag, { id, ...attrs }, ...children);
  return [el('div', { class: 'field' }, el('label', { for: id }, label), input), input];
}

// download offers text as a file named name, once; nothing keeps it.
function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = el('a', { href: url, download: name, class: 'visually-hidden' }, name);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function render(main, { title, onUnauthorized }) {
  const error = el('p', { class: 'error', role: 'alert' });
  let roles = null; // the tenant's machine-to-machine roles, once loaded

  // fail shows what went wrong, or signs out on a dead session.
  function fail(what, e) {
    if (e instanceof APIError && e.status === 401) return onUnauthorized();
    error.textContent = e instanceof APIError && e.status === 403
      ? `Your roles do not allow this: ${what}.`
      : `Could not ${what}: ${e.message}`;
  }

  async function loadRoles() {
    if (roles) return roles;
    const { data } = await api('GET', '/api/roles?type=MachineToMachine&page=1&page_size=100');
    roles = data.sort((a, b) => a.name.localeCompare(b.name));
    return roles;
  }

  // searchRoles finds machine-to-machine roles (the first 100 that match),
  // by name.
  const searchM2M = listed('/api/roles', { type: 'MachineToMachine' }, (r) => [r.id, r.name]);
  async function searchRoles(term) {
    const found = await searchM2M(term);
    found.items.sort((a, b) => a[1].localeCompare(b[1]));
    return found;
  }

  // rolePicker is a fieldset of checkboxes of machine-to-machine roles, the
  // selected ones checked; it resolves once the choices are on it.
  async function rolePicker(selected) {
    const p = picker({ id: `ac${++seq}`, label: 'Roles', noun: 'machine-to-machine roles', multiple: true, checks: 'roles',
      compact: true, chosen: selected.map((id) => [id, roleNames([id])]), search: searchRoles });
    await p.load();
    return [p.node, () => p.value()];
  }

  function roleNames(ids) {
    return ids.map((id) => (roles || []).find((r) => r.id === id)?.name || id).join(', ');
  }

  // showList renders the list (from page state.page, searched for
  // state.term) under New API client; secret, when set, is the panel with
  // a just-created client's secret.
  async function showList(state = { page: 1, term: '' }, secret = null) {
    error.textContent = '';
    let term = state.term;
    const q = el('input', { id: 'client-search', type: 'search', name: 'search', autocomplete: 'off', value: term });
    const search = el('form', { class: 'search client-search', role: 'search' },
      el('label', { for: 'client-search' }, 'Search API clients'), q,
      el('button', { type: 'submit' }, 'Search'));
    const list = pagedList({
      path: '/api/api-clients', caption: 'API clients', columns: ['Client ID', 'Name', 'Description', 'Roles', 'Status', ''],
      tableAttrs: { class: 'clients' }, noun: ['API client', 'API clients'], empty: 'No API clients.', what: 'list API clients', onUnauthorized,
      params: () => ({ search: term ? `%${term}%` : '' }),
      row: (c) => {
        const open = el('button', { type: 'button', class: 'secondary' }, 'Open');
        open.addEventListener('click', () => showDetail(c.clientId));
        return [el('td', { class: 'mono' }, c.clientId), el('td', {}, c.name || ''), el('td', {}, c.description || ''),
          el('td', {}, roleNames(c.roleIds)), el('td', {}, c.isDisabled ? 'Disabled' : 'Active'), el('td', {}, open)];
      },
    });
    const create = el('button', { type: 'button' }, 'New API client');
    main.replaceChildren(el('h1', {}, title), secret || '', error, el('div', { class: 'toolbar' }, create), search,
      list.summary, list.table, list.pager, list.error);
    create.addEventListener('click', () => showCreate());
    search.addEventListener('submit', (ev) => {
      ev.preventDefault();
      term = q.value.trim();
      list.load(1);
    });
    await loadRoles().catch(() => []); // the names of the roles in the list
    await list.load(state.page);
  }

  async function showCreate() {
    error.textContent = '';
    let roleField;
    let picked;
    try {
      [roleField, picked] = await rolePicker([]);
    } catch (e) {
      return fail('list roles', e);
    }
    const [idField, id] = field('Client ID', 'input', { name: 'clientId', autocomplete: 'off', required: true,
      pattern: '[a-z0-9._\\-]{3,64}', 'aria-describedby': 'client-id-help' });
    const help = el('p', { class: 'help', id: 'client-id-help' }, '3 to 64 of a-z 0-9 . _ - ; never changes.');
    const [firstField, first] = field('First name', 'input', { name: 'firstName', autocomplete: 'off' });
    const [lastField, last] = field('Last name', 'input', { name: 'lastName', autocomplete: 'off' });
    const [descField, desc] = field('Description', 'input', { name: 'description', autocomplete: 'off' });
    const submit = el('button', { type: 'submit' }, 'Create API client');
    const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const form = el('form', { class: 'card edit', novalidate: true }, el('h2', {}, 'New API client'),
      idField, help, firstField, lastField, descField, roleField, el('div', { class: 'actions' }, submit, cancel));
    main.replaceChildren(el('h1', {}, title), error, form);
    id.focus();
    cancel.addEventListener('click', () => showList());
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      submit.disabled = true;
      try {
        const body = { clientId: id.value.trim(), roleIds: picked(), firstName: first.value.trim(), lastName: last.value.trim() };
        if (desc.value.trim()) body.description = desc.value.trim();
        const { data } = await api('POST', '/api/api-clients', body);
        await showList(undefined, secretPanel(`Client secret of ${data.clientId}`, data.clientSecret, 'new-secret'));
        main.querySelector('.secret-panel button').focus();
      } catch (e) {
        fail('create the API client', e);
      } finally {
        submit.disabled = false;
      }
    });
  }

  async function showDetail(clientId) {
    error.textContent = '';
    let c;
    let roleField;
    let picked;
    try {
      await loadRoles();
      ({ data: c } = await api('GET', `/api/api-clients/${encodeURIComponent(clientId)}`));
      [roleField, picked] = await rolePicker(c.roleIds);
    } catch (e) {
      return fail(`open ${clientId}`, e);
    }
    const path = `/api/api-clients/${encodeURIComponent(c.clientId)}`;
    const back = el('button', { type: 'button', class: 'secondary' }, 'Back to API clients');
    back.addEventListener('click', () => showList());
    const status = el('p', { class: 'summary', role: 'status' });

    // Edit.
    const [firstField, first] = field('First name', 'input', { name: 'firstName', autocomplete: 'off', value: c.firstName });
    const [lastField, last] = field('Last name', 'input', { name: 'lastName', autocomplete: 'off', value: c.lastName });
    const [descField, desc] = field('Description', 'input', { name: 'description', autocomplete: 'off', value: c.description || '' });
    const save = el('button', { type: 'submit' }, 'Save changes');
    const edit = el('form', { class: 'card edit', novalidate: true }, el('h2', {}, 'Details'),
      firstField, lastField, descField, roleField, el('div', { class: 'actions' }, save));
    edit.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        const d = desc.value.trim();
        await api('PATCH', path, { firstName: first.value.trim(), lastName: last.value.trim(),
          description: d || null, roleIds: picked() });
        status.textContent = 'Saved.';
      } catch (e) {
        fail('save the API client', e);
      }
    });

    // Disable, enable, delete.
    const state = el('p', { class: 'state' });
    const toggle = el('button', { type: 'button', class: 'secondary' });
    const del = el('button', { type: 'button', class: 'danger' }, 'Delete');
    const showState = () => {
      state.textContent = c.isDisabled ? 'Disabled: its tokens are refused and it gets no new ones.' : 'Active.';
      toggle.textContent = c.isDisabled ? 'Enable' : 'Disable';
    };
    showState();
    toggle.addEventListener('click', async () => {
      error.textContent = '';
      try {
        ({ data: c } = await api('POST', `${path}/${c.isDisabled ? 'enable' : 'disable'}`));
        showState();
        status.textContent = c.isDisabled ? 'Disabled.' : 'Enabled.';
      } catch (e) {
        fail('change the API client', e);
      }
    });
    del.addEventListener('click', async () => {
      if (!await confirmDialog(main, `Delete the API client ${c.clientId}? This cannot be undone: its secrets, keys, ` +
        'roles and tokens go with it.', 'Delete API client')) return;
      try {
        await api('DELETE', path);
        await showList();
        main.querySelector('.summary').before(el('p', { class: 'notice', role: 'status' }, `Deleted ${c.clientId}.`));
      } catch (e) {
        fail('delete the API client', e);
      }
    });
    const rotate = el('button', { type: 'button', class: 'secondary' }, 'New secret');
    const access = el('section', { class: 'card' }, el('h2', {}, 'Access'), state,
      el('div', { class: 'actions' }, toggle, rotate, del));
    rotate.addEventListener('click', async () => {
      if (!await confirmDialog(main, `Make a new secret for ${c.clientId}? The current secret stops working at once.`,
        'Make new secret')) return;
      error.textContent = '';
      try {
        const { data } = await api('POST', `${path}/secret`, {});
        main.querySelector('.secret-panel')?.remove();
        main.querySelector('.detail').before(secretPanel(`Client secret of ${c.clientId}`, data.clientSecret, 'new-secret'));
        main.querySelector('.secret-panel button').focus();
      } catch (e) {
        fail('make a new secret', e);
      }
    });

    // Keys of the service user.
    const keysBody = el('tbody');
    const keysTable = el('table', { class: 'keys' }, el('caption', { class: 'visually-hidden' }, 'Keys'),
      el('thead', {}, el('tr', {}, ...['Key ID', 'Algorithm', 'Type', 'Created', 'Expires', ''].map((h) => el('th', { scope: 'col' }, h)))),
      keysBody);
    const [algField, alg] = field('Algorithm', 'select', { name: 'algorithm' },
      el('option', { value: 'ES256' }, 'ES256 (P-256)'), el('option', { value: 'RS256' }, 'RS256 (RSA 2048)'));
    const generate = el('button', { type: 'button' }, 'Generate key');
    const [pemField, pem] = field('Public key (PEM)', 'textarea', { name: 'publicKey', rows: 6, spellcheck: 'false',
      placeholder: '-----BEGIN PUBLIC KEY-----' });
    const upload = el('button', { type: 'submit' }, 'Upload key');
    const uploadForm = el('form', { class: 'upload', novalidate: true }, pemField, upload);
    const keys = el('section', { class: 'card' }, el('h2', {}, 'Keys'),
      el('p', { class: 'help' }, `For the JWT bearer grant: the service user ${c.username} signs an assertion with the private key.`),
      el('div', { class: 'table-wrap' }, keysTable),
      el('div', { class: 'generate' }, algField, generate), uploadForm);

    const keysPath = `/api/users/${encodeURIComponent(c.userId)}/keys`;
    async function loadKeys() {
      try {
        const { data } = await api('GET', keysPath);
        keysBody.replaceChildren(...data.map((k) => {
          const remove = el('button', { type: 'button', class: 'secondary' }, 'Delete key');
          remove.addEventListener('click', async () => {
            if (!await confirmDialog(main, `Delete the key ${k.keyId}? This cannot be undone: assertions signed with it ` +
              'stop working.', 'Delete key')) return;
            try {
              await api('DELETE', `${keysPath}/${encodeURIComponent(k.keyId)}`);
              status.textContent = `Deleted key ${k.keyId}.`;
              loadKeys();
            } catch (e) {
              fail('delete the key', e);
            }
          });
          return el('tr', {}, el('td', { class: 'mono' }, k.keyId), el('td', {}, k.algorithm), el('td', {}, k.type),
            el('td', {}, when(k.createdAt)), el('td', {}, when(k.expiresAt) || 'Never'), el('td', {}, remove));
        }));
        if (data.length === 0) keysBody.append(el('tr', {}, el('td', { colspan: 6 }, 'No keys.')));
      } catch (e) {
        fail('list the keys', e);
      }
    }
    generate.addEventListener('click', async () => {
      error.textContent = '';
      generate.disabled = true;
      try {
        const { data } = await api('POST', keysPath, { type: 'json', algorithm: alg.value });
        // The private key is in this answer only: hand it to the user as a
        // file (ZITADEL's key file shape) and keep no copy.
        download(`${c.clientId}-${data.keyId}.json`, JSON.stringify(data, null, 2));
        status.textContent = `Key ${data.keyId} generated; its key file was downloaded and will not be offered again.`;
        loadKeys();
      } catch (e) {
        fail('generate a key', e);
      } finally {
        generate.disabled = false;
      }
    });
    uploadForm.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        const { data } = await api('POST', keysPath, { publicKey: pem.value.trim() });
        pem.value = '';
        status.textContent = `Key ${data.keyId} uploaded.`;
        loadKeys();
      } catch (e) {
        fail('upload the key', e);
      }
    });

    main.replaceChildren(el('h1', {}, `${title}: ${c.clientId}`), el('div', { class: 'toolbar' }, back), error, status,
      el('p', { class: 'help' }, `Service user ${c.username} · user id `, el('span', { class: 'mono' }, c.userId)),
      el('div', { class: 'detail' }, edit, access, keys));
    loadKeys();
  }

  showList();
}
