// The Cluster page, for instance administrators: GET /system/cluster as a
// table (id, raft address, URL, state, applied index, last contact), the
// leader marked; Add node (id, raft address) and Remove node after a
// dialog. A server started without cluster flags answers 404
// cluster.not_enabled, which the page says plainly.
import { api, APIError, failer } from '../api.js';
import { el, field, confirmDialog } from '../dom.js';

export function render(main, { title, onUnauthorized }) {
  const fail = failer(onUnauthorized);
  const summary = el('p', { class: 'summary', 'aria-live': 'polite', id: 'cluster-summary' });
  const error = el('p', { class: 'error', role: 'alert', id: 'cluster-error' });
  const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'cluster-done' });
  const refresh = el('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const body = el('tbody');
  const table = el('div', { class: 'table-wrap', hidden: true }, el('table', { id: 'cluster-nodes' },
    el('caption', { class: 'visually-hidden' }, 'Cluster nodes'),
    el('thead', {}, el('tr', {}, ...['ID', 'Raft address', 'URL', 'State', 'Applied index', 'Last contact', '']
      .map((h) => el('th', { scope: 'col' }, h)))), body));
  const add = addForm();
  add.hidden = true;
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), refresh), summary, table, done, add, error);

  async function load() {
    error.textContent = '';
    let st;
    try {
      ({ data: st } = await api('GET', '/system/cluster'));
    } catch (e) {
      if (e instanceof APIError && e.code === 'cluster.not_enabled') {
        table.hidden = true;
        add.hidden = true;
        summary.textContent = 'This server does not run in cluster mode: it is a single server, started without '
          + 'cluster flags (--node-id, --raft-addr, --peers), so there are no nodes to show.';
        return;
      }
      return fail(error, e, 'read the cluster\'s status');
    }
    const nodes = st.nodes || [];
    summary.textContent = `${nodes.length} ${nodes.length === 1 ? 'node' : 'nodes'} · leader ${st.leader || 'none'}`;
    body.replaceChildren(...nodes.map((n) => {
      const leader = n.id === st.leader;
      const remove = leader ? '' : el('button', { type: 'button', class: 'secondary' }, 'Remove node');
      if (remove) {
        remove.addEventListener('click', async () => {
          if (!await confirmDialog(main, `Remove the node ${n.id} from the cluster? It stops receiving the log and `
            + 'no longer counts for the quorum; adding it back needs Add node.', 'Remove node')) return;
          error.textContent = '';
          try {
            await api('DELETE', `/system/cluster/nodes/${encodeURIComponent(n.id)}`);
            done.textContent = `Removed the node ${n.id}.`;
            load();
          } catch (e) {
            fail(error, e, 'remove the node');
          }
        });
      }
      return el('tr', { class: leader ? 'leader' : null },
        el('td', { class: 'mono' }, n.id, leader ? el('strong', {}, ' (leader)') : ''),
        el('td', { class: 'mono' }, n.raftAddr || ''), el('td', { class: 'mono' }, n.url || ''), el('td', {}, n.state || ''),
        el('td', {}, String(n.appliedIndex ?? '')), el('td', {}, n.lastContact ? ago(n.lastContact) : 'never'),
        el('td', { class: 'row-actions' }, remove));
    }));
    table.hidden = false;
    add.hidden = false;
  }

  function addForm() {
    const id = field('cluster-node-id', 'Node ID', { name: 'id', autocomplete: 'off', required: true });
    const addr = field('cluster-node-addr', 'Raft address', { name: 'raftAddr', autocomplete: 'off', required: true,
      placeholder: '10.0.0.4:7001' });
    const form = el('form', { class: 'card add-node', 'aria-label': 'Add node' }, el('h2', {}, 'Add node'),
      el('p', { class: 'help' }, 'Start the new node with the cluster\'s TLS files first; it joins as a voter.'),
      el('div', { class: 'grid' }, el('div', {}, id.label, id.input), el('div', {}, addr.label, addr.input)),
      el('button', { type: 'submit' }, 'Add node'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      try {
        await api('POST', '/system/cluster/nodes', { id: id.input.value.trim(), raftAddr: addr.input.value.trim() });
        done.textContent = `Added the node ${id.input.value.trim()}.`;
        id.input.value = '';
        addr.input.value = '';
        load();
      } catch (e) {
        fail(error, e, 'add the node');
      }
    });
    return form;
  }

  refresh.addEventListener('click', load);
  load();
}

// ago says how long ago an epoch-ms time was; a time over two minutes ago
// is shown as it is.
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 1) return 'now';
  if (s < 120) return `${s} s ago`;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
