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
