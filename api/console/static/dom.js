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
