// The shapes several pages share: a paged list of a Management API
// collection with its total and a Create form behind a button; one item's
// page, with a card to edit it, cards of what is assigned to it (a user's
// roles, a role's scopes) with Remove and a picker to assign more, and a
// card to delete it. Pages give them words and columns; the requests,
// paging and error handling are written once, here.
import { api, failer } from './api.js';
import { el, field, picker, pickLimit, pathLink, confirmDialog } from './dom.js';

/** pageSize is the rows of a page of a list. */
export const pageSize = 20;

/**
 * listed returns search(term) for a picker (dom.js) over the Management
 * API list at path, with query (e.g. {type: 'User'}): the first 100 that
 * match term, by Logto's contains search (search=%term%) or, when param
 * names another parameter, by that one (e.g. q). option(item) gives
 * [value, text].
 */
export function listed(path, query, option, param = 'search') {
  return async (term) => {
    const q = new URLSearchParams({ ...query, page: '1', page_size: String(pickLimit) });
    if (term) q.set(param, param === 'search' ? `%${term}%` : term);
    const { data, headers } = await api('GET', `${path}?${q}`);
    return { items: data.map(option), total: Number(headers.get('Total-Number') || data.length) };
  };
}

/**
 * createToggle returns the button that shows and hides form (hidden at
 * first), focusing its first input when it opens.
 */
export function createToggle(label, form) {
  const open = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, label);
  form.hidden = true;
  open.addEventListener('click', () => {
    form.hidden = !form.hidden;
    open.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) form.querySelector('input').focus();
  });
  return open;
}

/**
 * pagedList is one page of the list at path, with the total and Previous
 * and Next:
 *   columns, caption: the table's head and (hidden) caption; row(item):
 *     the cells of an item's row;
 *   noun: [one, many], for the summary "12 users · page 1 of 1";
 *   empty: the row shown when nothing matches; what: for the error
 *     ("list users");
 *   params(): the query's other parameters (a search), read at each load;
 *   tableAttrs (an id or class), errorId: what the page's links and tests
 *     find them by.
 * It returns the parts to lay out (summary, table, pager, error) and
 * load(page), which shows that page (the current one when omitted).
 */
export function pagedList({ path, columns, caption, row, noun, empty, what, params = () => ({}), onUnauthorized,
  tableAttrs = {}, errorId = null }) {
  const fail = failer(onUnauthorized);
  let page = 1;
  const summary = el('p', { class: 'summary', 'aria-live': 'polite' });
  const body = el('tbody');
  const table = el('div', { class: 'table-wrap' }, el('table', tableAttrs,
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, ...columns.map((h) => el('th', { scope: 'col' }, h)))), body));
  const prev = el('button', { type: 'button', class: 'secondary' }, 'Previous page');
  const next = el('button', { type: 'button', class: 'secondary' }, 'Next page');
  const error = el('p', { class: 'error', role: 'alert', id: errorId });

  async function load(p = page) {
    page = p;
    const q = new URLSearchParams({ page: String(page), page_size: String(pageSize) });
    for (const [k, v] of Object.entries(params())) if (v) q.set(k, v);
    error.textContent = '';
    try {
      const { data, headers } = await api('GET', `${path}?${q}`);
      const total = Number(headers.get('Total-Number') || 0);
      const pages = Math.max(1, Math.ceil(total / pageSize));
      body.replaceChildren(...data.map((item) => el('tr', {}, ...row(item))));
      if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: columns.length }, empty)));
      summary.textContent = `${total} ${total === 1 ? noun[0] : noun[1]} · page ${page} of ${pages}`;
      prev.disabled = page <= 1;
      next.disabled = page >= pages;
    } catch (e) {
      fail(error, e, what);
    }
  }
  prev.addEventListener('click', () => load(page - 1));
  next.addEventListener('click', () => load(page + 1));
  return { summary, table, pager: el('div', { class: 'pager' }, prev, next), error, load };
}

/**
 * listPage lays out a list page: the title with the Create button, the
 * Create form, a search form (or ''), then the list.
 */
export function listPage(main, title, open, create, search, list) {
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title), open), create, search,
    list.summary, list.table, list.pager, list.error);
}

/**
 * assignedCard is the card of what is assigned to one thing, each row with
 * Remove, and a picker to assign one more:
 *   key: the prefix of its ids (key-title); title, caption, columns,
 *     tableAttrs (an id or class tests find it by), empty;
 *   list(): the assigned items; cells(item): a row's cells before Remove;
 *     name(item): for Remove's label and messages;
 *   remove(item), assign(value): the calls; noun: what is assigned, for
 *     messages ("role");
 *   pick: the picker's id, label, noun and search(term, assigned) (the
 *     items assigned now, for leaving them out); assignLabel: its button;
 *   done(text): shows what was done (optional); errorId.
 * It returns {node, load}; load() reads the list, then the choices. When
 * the list is refused, or there is nothing at all to pick, the picker
 * hides.
 */
export function assignedCard({ key, title, caption, columns, tableAttrs, empty, list, cells, name, remove, assign, noun,
  pick, assignLabel, done = () => {}, errorId = null, onUnauthorized }) {
  const fail = failer(onUnauthorized);
  const body = el('tbody');
  const msg = el('p', { class: 'error', role: 'alert', id: errorId });
  let assigned = [];
  const choices = picker({ ...pick, search: (term) => pick.search(term, assigned) });
  const form = el('form', { class: 'add', 'aria-label': assignLabel }, choices.node, el('button', { type: 'submit' }, assignLabel));
  form.hidden = true;
  const node = el('section', { class: 'card', 'aria-labelledby': `${key}-title` }, el('h2', { id: `${key}-title` }, title),
    el('div', { class: 'table-wrap' }, el('table', tableAttrs, el('caption', { class: 'visually-hidden' }, caption),
      el('thead', {}, el('tr', {}, ...[...columns, ''].map((h) => el('th', { scope: 'col' }, h)))), body)),
    form, msg);

  function row(item) {
    const button = el('button', { type: 'button', class: 'secondary', 'aria-label': `Remove ${noun} ${name(item)}` }, 'Remove');
    button.addEventListener('click', async () => {
      msg.textContent = '';
      try {
        await remove(item);
        done(`Removed the ${noun} ${name(item)}.`);
        load();
      } catch (e) {
        fail(msg, e, `remove ${noun} ${name(item)}`);
      }
    });
    return el('tr', {}, ...cells(item), el('td', {}, button));
  }

  async function load() {
    msg.textContent = '';
    try {
      assigned = await list();
    } catch (e) {
      form.hidden = true;
      return fail(msg, e, `list the ${noun}s`);
    }
    body.replaceChildren(...assigned.map(row));
    if (assigned.length === 0) body.append(el('tr', {}, el('td', { colspan: columns.length + 1 }, empty)));
    try {
      await choices.load();
      form.hidden = choices.empty();
    } catch (e) {
      form.hidden = true;
      fail(msg, e, `list the ${noun}s to assign`);
    }
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    const value = choices.value();
    if (!value) return;
    try {
      await assign(value);
      done(`${noun[0].toUpperCase()}${noun.slice(1)} assigned.`);
      load();
    } catch (e) {
      fail(msg, e, `assign the ${noun}`);
    }
  });
  return { node, load };
}

/**
 * detailPage is the page of one item at path: a link back to the list
 * (back, backText), the heading, a status line and the load error; once
 * the item is read, its name (title(item)) heads the page and cards(item)
 * are laid out. after, if given, goes between the load error and the
 * cards (a secret shown once). It returns {heading, status, loadError}
 * for the cards to write to.
 */
export function detailPage(main, { go, onUnauthorized, path, back, backText, what, section, title, status, cards, after = '' }) {
  const page = {
    heading: el('h1', { tabindex: '-1' }, what),
    status: el('p', { class: 'summary', 'aria-live': 'polite' }),
    loadError: el('p', { class: 'error', role: 'alert' }),
  };
  main.replaceChildren(pathLink(go, back, backText, 'back'), page.heading, page.status, page.loadError, after);
  (async () => {
    let item;
    try {
      ({ data: item } = await api('GET', path));
    } catch (e) {
      return failer(onUnauthorized)(page.loadError, e, `load the ${what}`);
    }
    page.heading.textContent = title(item);
    document.title = `${title(item)} · ${section} · idbolt console`;
    page.status.textContent = status(item);
    main.append(el('div', { class: 'user-cards' }, ...cards(item)));
    page.heading.focus();
  })();
  return page;
}

/**
 * editCard is the Details card of an item at path: fields, each
 * [name, label, value, attrs], under an optional help line; Save sends
 * body(values) with PATCH and passes the answer to saved. key prefixes its
 * ids (key-name, key-saved); what names the item in errors.
 */
export function editCard({ key, path, fields, help = null, body, saved, what, onUnauthorized }) {
  const fail = failer(onUnauthorized);
  const inputs = fields.map(([name, label, value, attrs = {}]) =>
    ({ name, ...field(`${key}-${name}`, label, { name, autocomplete: 'off', value, ...attrs }) }));
  const msg = el('p', { class: 'error', role: 'alert' });
  const done = el('p', { class: 'ok', 'aria-live': 'polite', id: `${key}-saved` });
  const form = el('form', { class: 'card', 'aria-labelledby': `${key}-edit-title` }, el('h2', { id: `${key}-edit-title` }, 'Details'),
    help && el('p', { class: 'help' }, help), ...inputs.flatMap((f) => [f.label, f.input]),
    el('button', { type: 'submit' }, 'Save'), done, msg);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    msg.textContent = '';
    done.textContent = '';
    try {
      const { data } = await api('PATCH', path, body(Object.fromEntries(inputs.map((f) => [f.name, f.input.value.trim()]))));
      saved(data);
      done.textContent = 'Saved.';
    } catch (e) {
      fail(msg, e, `save the ${what}`);
    }
  });
  return form;
}

/**
 * deleteCard is the Delete card of an item at path, what: label is its
 * button and the dialog's; question() is what the dialog asks (it says
 * the delete cannot be undone); after a delete, go(back). errorId names
 * the line where a refusal shows.
 */
export function deleteCard({ key, path, label, what, note, question, go, back, onUnauthorized, errorId = null }) {
  const msg = el('p', { class: 'error', role: 'alert', id: errorId });
  const del = el('button', { type: 'button', class: 'danger' }, label);
  const card = el('section', { class: 'card', 'aria-labelledby': `${key}-delete-title` },
    el('h2', { id: `${key}-delete-title` }, 'Delete'), el('p', {}, note), del, msg);
  del.addEventListener('click', async () => {
    if (!await confirmDialog(card, question(), label)) return;
    msg.textContent = '';
    try {
      await api('DELETE', path);
      go(back);
    } catch (e) {
      failer(onUnauthorized)(msg, e, `delete the ${what}`);
    }
  });
  return card;
}

/**
 * keptDeleteCard is deleteCard with its dialog kept in the page (closed
 * until asked), its parts named by ids with prefix (prefix+delete-text,
 * prefix+delete-error): dialogTitle heads it and question() is its text.
 */
export function keptDeleteCard({ prefix, path, label, what, note, dialogTitle, question, go, back, onUnauthorized }) {
  const open = el('button', { type: 'button', class: 'danger' }, label);
  const msg = el('p', { class: 'error', role: 'alert', id: `${prefix}delete-error` });
  const text = el('p', { id: `${prefix}delete-text` });
  const confirm = el('button', { type: 'button', class: 'danger' }, 'Delete');
  const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const dialog = el('dialog', { 'aria-labelledby': `${prefix}delete-title`, 'aria-describedby': `${prefix}delete-text` },
    el('h2', { id: `${prefix}delete-title` }, dialogTitle), text, el('div', { class: 'actions' }, confirm, cancel));
  open.addEventListener('click', () => {
    msg.textContent = '';
    text.textContent = question();
    dialog.showModal();
    cancel.focus();
  });
  cancel.addEventListener('click', () => dialog.close());
  confirm.addEventListener('click', async () => {
    dialog.close();
    try {
      await api('DELETE', path);
      go(back);
    } catch (e) {
      failer(onUnauthorized)(msg, e, `delete the ${what}`);
    }
  });
  return el('section', { class: 'card', 'aria-labelledby': `${prefix}danger-title` },
    el('h2', { id: `${prefix}danger-title` }, 'Delete'), el('p', {}, note), open, msg, dialog);
}
