// el builds an element: el('a', {href: '/x'}, 'text', child). Attributes
// whose value is null or false are left out. Text is always set as text,
// never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === false || v === undefined) continue;
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// field returns a label and its control (an input, or the element tag names), tied by
// id: field('user-name', 'Name', {name: 'name'}).
export function field(id, label, attrs = {}, tag = 'input') {
  const input = el(tag, { id, ...attrs });
  return { label: el('label', { for: id }, label), input };
}

// confirmDialog opens a modal dialog inside parent asking question, with a
// button labelled action, and resolves to true when that button is pressed.
// A page's own dialog rather than window.confirm: styled, and visible to a
// headless browser.
export function confirmDialog(parent, question, action) {
  return new Promise((resolve) => {
    const yes = el('button', { type: 'button', class: 'danger' }, action);
    const no = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const dialog = el('dialog', { class: 'confirm', 'aria-label': action },
      el('p', {}, question), el('div', { class: 'actions' }, no, yes));
    let answer = false;
    yes.addEventListener('click', () => { answer = true; dialog.close(); });
    no.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    parent.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

// pathLink is a link to a console path (e.g. /roles/{id}) that is followed
// in the page; with a modifier key it opens as a plain link would.
export function pathLink(go, path, text, cls = null) {
  const a = el('a', { href: '/console' + path, class: cls }, text);
  a.addEventListener('click', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(path);
  });
  return a;
}

// pickLimit is how many choices a picker shows: the Management API's
// largest page, so a tenant of any size costs one request per search.
export const pickLimit = 100;

// picker is the one way a page offers the tenant's roles, users, scopes or
// organizations to choose from: it never fetches them all, but asks
// search(term) (which queries the Management API with page_size 100 and
// resolves to {items: [[value, text], ...], total}) for the first 100 that
// match, says so when there are more, and searches on Find or Enter.
//   id, label: the control's id and label; noun: what is picked (plural);
//   multiple: pick several, kept across searches (chosen: [[value, text]]
//     picked already); checks: show them as checkboxes in a fieldset of
//     class checks (else a select);
//   compact: show the search box only when there is more than fits;
//   searchId, searchLabel: the search box's id and label, when a page
//     names it (what is typed there is then also read by the page).
// It returns {node, control, search (the box), term (what the list shows
// now), load(term), value(), empty()}: value() is the value picked, or
// the values for multiple; empty() is true when nothing at all could be
// picked. load rejects with the API's error for the page to show.
export function picker({ id, label, noun, search, multiple = false, checks = false, chosen = [], compact = false,
  searchId = `${id}-search`, searchLabel = `Search ${noun}` }) {
  const picked = new Map(multiple ? chosen : []);
  const box = el('input', { id: searchId, type: 'search', autocomplete: 'off', placeholder: compact ? searchLabel : null });
  const find = el('button', { type: 'button', class: 'secondary' }, 'Find');
  const boxLabel = el('label', { for: searchId, class: compact ? 'visually-hidden' : null }, searchLabel);
  const finder = el('div', { class: 'picker-search' }, boxLabel, el('div', { class: 'picker-row' }, box, find));
  const note = el('p', { class: 'help picker-note', 'aria-live': 'polite' });
  let control;
  let node;
  if (checks) {
    control = el('fieldset', { id, class: `checks ${checks === true ? '' : checks}`.trim() }, el('legend', {}, label));
    node = el('div', { class: 'picker' }, finder, control, note);
  } else {
    control = el('select', { id, name: id, multiple, size: multiple ? 4 : null });
    node = el('div', { class: 'picker' }, finder, el('label', { for: id }, label), control, note);
  }
  const p = { node, control, search: box, term: '', total: 0 };

  // keep reads what is picked on screen into picked, before the list
  // changes under it.
  function keep() {
    if (!multiple) return;
    const marks = checks ? [...control.querySelectorAll('input[type=checkbox]')].map((c) => [c.value, c.checked, c.dataset.text])
      : [...control.options].map((o) => [o.value, o.selected, o.textContent]);
    for (const [value, on, text] of marks) {
      if (on) picked.set(value, text);
      else picked.delete(value);
    }
  }

  function show(items) {
    const shown = new Set(items.map(([v]) => v));
    const all = [...[...picked].filter(([v]) => !shown.has(v)), ...items];
    if (checks) {
      control.replaceChildren(control.firstChild, ...all.map(([value, text], i) => {
        const cid = `${id}-${i}`;
        const c = el('input', { id: cid, type: 'checkbox', value, checked: picked.has(value), 'data-text': text });
        return el('div', { class: 'check' }, c, el('label', { for: cid }, text));
      }));
      if (all.length === 0) control.append(el('p', {}, `No ${noun} yet.`));
    } else {
      control.replaceChildren(...all.map(([value, text]) => el('option', { value, selected: multiple && picked.has(value) }, text)));
    }
  }

  let asked = 0; // the latest load: an earlier answer arriving late is dropped
  p.load = async (term = p.term) => {
    const mine = ++asked;
    const { items, total } = await search(term);
    if (mine !== asked) return;
    keep(); // what was picked while the answer was on its way stays picked
    p.term = term;
    p.total = total;
    show(items.slice(0, pickLimit));
    finder.hidden = compact && !term && total <= items.length;
    if (total > items.length) note.textContent = `Showing the first ${items.length} of ${total} ${noun}: search to narrow them down.`;
    else if (term && total === 0) note.textContent = `No ${noun} match "${term}".`;
    else note.textContent = '';
  };
  p.value = () => {
    if (!multiple) return control.value;
    keep();
    return [...picked.keys()];
  };
  p.empty = () => !p.term && p.total === 0 && picked.size === 0;
  const run = () => p.load(box.value.trim()).catch((e) => { note.textContent = `Could not search ${noun}: ${e.message}`; });
  find.addEventListener('click', run);
  box.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    ev.preventDefault(); // search, rather than submit the form around
    run();
  });
  return p;
}

// secretPanel shows a secret once, under title, with the warning that it
// will not be shown again, a Copy button (or, without clipboard access, the
// text selected for Ctrl+C) and Done, which removes it. id names the
// element holding the value.
export function secretPanel(title, value, id) {
  const code = el('code', { class: 'secret mono', id }, value);
  const copied = el('span', { class: 'copied', role: 'status' });
  const copy = el('button', { type: 'button' }, 'Copy');
  const done = el('button', { type: 'button', class: 'secondary' }, 'Done');
  const panel = el('section', { class: 'card secret-panel', 'aria-labelledby': `${id}-title` },
    el('h2', { id: `${id}-title` }, title),
    el('p', { class: 'warning' }, 'This secret will not be shown again. Copy it now and keep it safe.'),
    code, el('div', { class: 'actions' }, copy, done, copied));
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      copied.textContent = 'Copied.';
    } catch {
      // No clipboard (permission, insecure origin): select the text so
      // that Ctrl+C (or the context menu) copies it.
      window.getSelection().selectAllChildren(code);
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
  });
  done.addEventListener('click', () => panel.remove());
  return panel;
}

// when formats milliseconds since the epoch as UTC to the second, or ''.
export function when(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '';
}
