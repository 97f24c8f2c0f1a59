// The Signing keys page: the tenant's OIDC private keys (which sign its
// tokens) and cookie keys, through /api/configs/oidc/{keyType}, and Rotate
// for each. The API never returns key material, so the page has none to
// show. A private key rotation keeps the key that signed until now as the
// previous one, so its tokens stay valid; rotating again while that
// previous key may still have live tokens is refused
// (oidc.previous_key_in_use) unless the request drops it, which the page
// offers behind a second dialog that says what it costs.
import { api, APIError, failer } from '../api.js';
import { el, confirmDialog } from '../dom.js';

export function render(main, { title, onUnauthorized }) {
  const fail = failer(onUnauthorized);
  const status = el('p', { class: 'summary', 'aria-live': 'polite', id: 'keys-status' });
  main.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, title)),
    el('p', { class: 'help' }, 'Keys are listed without their material, which never leaves the server.'), status,
    el('div', { class: 'keys-cards' },
      keysCard('private-keys', 'Private keys', 'These keys sign the tenant\'s tokens; the JWKS publishes their public halves.'),
      keysCard('cookie-keys', 'Cookie keys', 'These keys seal the tenant\'s cookies.')));

  function keysCard(keyType, heading, help) {
    const path = `/api/configs/oidc/${keyType}`;
    const cookies = keyType === 'cookie-keys';
    const body = el('tbody');
    const msg = el('p', { class: 'error', role: 'alert', id: `${keyType}-error` });
    const rotate = el('button', { type: 'button' }, cookies ? 'Rotate cookie keys' : 'Rotate private keys');
    const cols = cookies ? ['ID', 'Created'] : ['ID', 'Algorithm', 'Status', 'Created'];
    const card = el('section', { class: 'card', 'aria-labelledby': `${keyType}-title` },
      el('h2', { id: `${keyType}-title` }, heading), el('p', { class: 'help' }, help),
      el('div', { class: 'table-wrap' }, el('table', { class: keyType }, el('caption', { class: 'visually-hidden' }, heading),
        el('thead', {}, el('tr', {}, ...cols.map((h) => el('th', { scope: 'col' }, h)))), body)),
      rotate, msg);

    async function load() {
      try {
        const { data } = await api('GET', path);
        body.replaceChildren(...data.map((k) => el('tr', { class: k.status === 'Current' ? 'current' : null },
          el('td', { class: 'mono' }, k.id),
          ...(cookies ? [] : [el('td', {}, k.signingKeyAlgorithm || ''), el('td', {}, k.status || '')]),
          el('td', {}, created(k.createdAt)))));
        if (data.length === 0) body.append(el('tr', {}, el('td', { colspan: cols.length }, 'No keys yet.')));
      } catch (e) {
        fail(msg, e, `list the ${heading.toLowerCase()}`);
      }
    }

    async function send(body) {
      const { data } = await api('POST', `${path}/rotate`, body);
      status.textContent = cookies ? `Rotated the cookie keys: ${data[0].id} is the newest.`
        : `Rotated: ${data[0].id} signs from now on.`;
      load();
    }

    rotate.addEventListener('click', async () => {
      const question = cookies
        ? 'Rotate the cookie keys? A new key seals cookies from now on; the older ones stay until they are rotated out.'
        : 'Rotate the private keys? A new key signs tokens from now on. Tokens signed by the current key stay valid: '
          + 'it is kept as the previous key and keeps verifying until they expire.';
      if (!await confirmDialog(main, question, 'Rotate')) return;
      msg.textContent = '';
      try {
        await send({});
      } catch (e) {
        if (!(e instanceof APIError && e.code === 'oidc.previous_key_in_use')) return fail(msg, e, 'rotate the keys');
        // The API's message names the time until which the previous
        // key's tokens may be live.
        const until = (e.message.match(/\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z/) || [])[0];
        const again = `The previous key may still have live tokens${until ? ` (until ${until.replace('T', ' ')})` : ''}. `
          + 'Rotating now deletes it, and tokens signed by it stop verifying at once. Rotate anyway?';
        if (!await confirmDialog(main, again, 'Rotate and drop the previous key')) {
          status.textContent = 'Not rotated: the previous key stays.';
          return;
        }
        try {
          await send({ dropPreviousKey: true });
        } catch (e2) {
          fail(msg, e2, 'rotate the keys');
        }
      }
    });
    load();
    return card;
  }
}

// created shows a key's creation time (seconds since the epoch, as Logto
// stamps these keys) in UTC.
function created(seconds) {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
