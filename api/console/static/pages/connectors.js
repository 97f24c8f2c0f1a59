// The Connectors page: the tenant's email and SMS connectors, Create
// connector from a factory's form (GET /api/connector-factories), and each
// connector's page at /connectors/{id}: its config in the same form, Send
// test message with the config as edited (saved or not), and delete after
// a dialog. Confidential values come back masked as ******: a field left
// so keeps the stored value, since the API reads the mask that way; the
// page never sees a secret it did not type.
import { api, failer } from '../api.js';
import { el, field, pathLink } from '../dom.js';
import { createToggle, detailPage, deleteCard } from '../list.js';

export function render(main, ctx) {
  const id = ctx.subpath.slice(1);
  return id ? renderConnector(main, ctx, decodeURIComponent(id)) : renderList(main, ctx);
}

/** displayName is a connector's or factory's English name. */
const displayName = (c) => c.metadata?.name?.en || c.name?.en || c.connectorId || c.id;

/**
 * configForm returns the inputs of a factory's form items, each with its
 * label and description, filled from values (a connector's config, or the
 * items' defaults), and read(), the config they hold: empty optional items
 * are left out, numbers are numbers.
 */
function configForm(prefix, items, values = {}) {
  const inputs = items.map((it) => {
    const id = `${prefix}-${it.key}`;
    const value = values[it.key] ?? it.defaultValue ?? '';
    const attrs = { name: it.key, autocomplete: 'off', required: it.required || null };
    let f;
    if (it.type === 'Select') {
      f = field(id, it.label, attrs, 'select');
      for (const s of it.selectItems ?? []) f.input.append(el('option', { value: s.value, selected: s.value === value || null }, s.title));
    } else if (it.type === 'MultilineText') {
      f = field(id, it.label, { ...attrs, rows: 4 }, 'textarea');
      f.input.value = String(value);
    } else {
      const type = it.type === 'Number' ? 'number' : it.isConfidential ? 'password' : 'text';
      f = field(id, it.label, { ...attrs, type, value: String(value) });
    }
    const help = it.description ? el('p', { class: 'help' }, it.description) : null;
    return { it, ...f, node: el('div', {}, f.label, f.input, help) };
  });
  const read = () => {
    const config = {};
    for (const { it, input } of inputs) {
      const v = input.value.trim();
      if (v === '' && !it.required) continue;
      config[it.key] = it.type === 'Number' ? Number(v) : v;
    }
    return config;
  };
  return { nodes: inputs.map((f) => f.node), read };
}

function renderList(main, { title, onUnauthorized, go }) {
  const fail = failer(onUnauthorized);
  const body = el('tbody');
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const error = el('p', { class: 'error', role: 'alert', id: 'connectors-error' });
  const table = el('div', { class: 'table-wrap' }, el('table', { id: 'connectors' },
    el('caption', { class: 'visually-hidden' }, 'Connectors'),
    el('thead', {}, el('tr', {}, ...['Name', 'Factory', 'Type', 'ID'].map((h) => el('th', { scope: 'col' }, h)))), body));

  const factory = field('new-connector-factory', 'Factory', { name: 'factory' }, 'select');
  const fields = el('div', { class: 'grid' });
  const createError = el('p', { class: 'error', role: 'alert', id: 'new-connector-error' });
  const create = el('form', { class: 'card create-connector', 'aria-label': 'Create connector' },
    el('h2', {}, 'Create connector'),
    el('p', { class: 'help' }, 'A tenant has one email and one SMS connector: a new one replaces the one of its type.'),
    factory.label, factory.input, fields, el('button', { type: 'submit' }, 'Create'), createError);
  let factories = [];
  let form = null;
  const showForm = () => {
    const f = factories.find((x) => x.id === factory.input.value);
    form = f ? configForm('new-connector', f.formItems ?? []) : null;
    fields.replaceChildren(...(form ? form.nodes : []));
  };
  factory.input.addEventListener('change', showForm);
  create.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    createError.textContent = '';
    try {
      const { data } = await api('POST', '/api/connectors', { connectorId: factory.input.value, config: form ? form.read() : {} });
      go(`/connectors/${encodeURIComponent(data.id)}`);
    } catch (e) {
      fail(createError, e, 'create the connector');
    }
  });

  async function load() {
    error.textContent = '';
    try {
      const [{ data: list }, { data: fs }] = await Promise.all([api('GET', '/api/connectors'), api('GET', '/api/connector-factories')]);
      factories = fs;
      if (factory.input.options.length === 0) {
        factory.input.append(...fs.map((f) => el('option', { value: f.id }, `${f.name?.en ?? f.id} (${f.type})`)));
        showForm();
      }
      body.replaceChildren(...list.map((c) => el('tr', {},
        el('td', {}, pathLink(go, `/connectors/${encodeURIComponent(c.id)}`, displayName(c))),
        el('td', { class: 'mono' }, c.connectorId), el('td', {}, c.type), el('td', { class: 'mono' }, c.id))));
      if (list.length === 0) body.append(el('tr', {}, el('td', { colspan: 4 }, 'No connectors.')));
      summary.textContent = `${list.length} ${list.length === 1 ? 'connector' : 'connectors'}`;
    } catch (e) {
      fail(error, e, 'list the connectors');
    }
  }
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), createToggle('Create connector', create)), create,
    summary, table, error);
  load();
}

function renderConnector(main, { onUnauthorized, go }, id) {
  const fail = failer(onUnauthorized);
  const path = `/api/connectors/${encodeURIComponent(id)}`;
  const { heading, status } = detailPage(main, {
    go, onUnauthorized, path, back: '/connectors', backText: '← All connectors', what: 'connector', section: 'Connectors',
    title: displayName, status: (c) => `${c.connectorId} · ${c.type} · ID ${c.id}`,
    cards: (c) => {
      const form = configForm('connector', c.formItems ?? [], c.config);
      return [
        configCard(c, form),
        testCard(c, form),
        deleteCard({ key: 'connector', path, label: 'Delete connector', what: 'connector', errorId: 'connector-delete-error',
          note: 'Without its connector, the tenant sends no emails or text messages of that type.', go, back: '/connectors', onUnauthorized,
          question: () => `Delete the connector ${displayName(c)}? This cannot be undone: its secrets go with it.` }),
      ];
    },
  });

  function configCard(c, form) {
    const name = field('connector-name', 'Name', { name: 'name', autocomplete: 'off', value: c.metadata?.name?.en ?? '' });
    const msg = el('p', { class: 'error', role: 'alert', id: 'connector-save-error' });
    const done = el('p', { class: 'ok', 'aria-live': 'polite', id: 'connector-saved' });
    const card = el('form', { class: 'card', 'aria-labelledby': 'connector-config-title' },
      el('h2', { id: 'connector-config-title' }, 'Config'),
      el('p', { class: 'help' }, 'Secrets show as ******; leave them so to keep them, or type a new value.'),
      name.label, name.input, ...form.nodes, el('button', { type: 'submit' }, 'Save'), done, msg);
    card.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      done.textContent = '';
      const b = { config: form.read() };
      const n = name.input.value.trim();
      if (n !== (c.metadata?.name?.en ?? '')) b.metadata = { ...c.metadata, name: { ...(c.metadata?.name ?? {}), en: n } };
      try {
        const { data } = await api('PATCH', path, b);
        c.metadata = data.metadata;
        heading.textContent = displayName(data);
        done.textContent = 'Saved.';
      } catch (e) {
        fail(msg, e, 'save the connector');
      }
    });
    return card;
  }

  function testCard(c, form) {
    const sms = c.type === 'Sms';
    const to = field('connector-test-to', sms ? 'Phone number' : 'Email address',
      { name: sms ? 'phone' : 'email', type: sms ? 'tel' : 'email', autocomplete: 'off', required: true });
    const msg = el('p', { class: 'error', role: 'alert', id: 'connector-test-error' });
    const card = el('form', { class: 'card', 'aria-labelledby': 'connector-test-title' },
      el('h2', { id: 'connector-test-title' }, 'Test'),
      el('p', { class: 'help' }, 'Sends a test message with the config above, saved or not.'),
      to.label, to.input, el('button', { type: 'submit' }, 'Send test message'), msg);
    card.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      try {
        await api('POST', `/api/connectors/${encodeURIComponent(c.connectorId)}/test`,
          { [sms ? 'phone' : 'email']: to.input.value.trim(), config: form.read() });
        status.textContent = `Sent a test message to ${to.input.value.trim()}.`;
      } catch (e) {
        fail(msg, e, 'send the test message');
      }
    });
    return card;
  }
}
