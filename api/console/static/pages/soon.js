// A page of the navigation that later work fills in.
import { el } from '../dom.js';

export function render(main, { title }) {
  main.replaceChildren(el('h1', {}, title), el('p', {}, 'Coming soon: use the Management API for now.'));
}
