// Casellario PEC: the offices' web page. No framework, no build step.
//
// Views are named by the URL's fragment (#/elenchi/<id>, #/richieste/<id>,
// #/smistamento/<id>…): Back works, and the e-mails link to a list, a
// request or a triage item. Text is always set with textContent, never as
// HTML. The bearer token lives in sessionStorage (this tab only); it comes
// from the OAuth2 code flow with PKCE, or in the local run from a demo user.
'use strict';
(function () {
  const TOKEN = 'casellario.token';
  const PKCE = 'casellario.pkce';
  const BYE = 'casellario.signedout'; // back from the issuer's sign-out
  // Lists larger than this go straight to the uploads bucket by a presigned
  // PUT: API Gateway takes about 4.5 MB of file in one request.
  const DIRECT_MAX = 4 * 1024 * 1024; // unless /config says otherwise
  const REFRESH = 10000;
  const $ = (id) => document.getElementById(id);

  let cfg = null; // GET /config
  let me = null; // GET /me
  let seq = 0; // the view shown: answers for an older one are dropped
  let timer = null; // the shown view's refresh
  let firstView = true;
  let carry = ''; // a notice for the next view
  // The search's query stays in this tab's memory, never in the address: a
  // surname or a codice fiscale must not end up in the history or in logs.
  let searchQuery = '';

  // ---- DOM helpers -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false && c !== '') e.append(c);
    return e;
  }

  function say(msg) { $('avviso').textContent = msg || ''; }
  function fail(msg) { $('errore').textContent = msg || ''; }
  function clearNotices() { say(''); fail(''); }

  class ApiError extends Error {
    constructor(status, code, msg, body) { super(msg); this.status = status; this.code = code; this.body = body; }
  }
  class SignedOut extends Error {}

  // shown reports an error as a notice (a lapsed session is shown already).
  function shown(e) {
    if (e instanceof SignedOut) return;
    fail(e && e.message ? e.message : 'Si è verificato un errore imprevisto. Riprovare.');
  }

  // ---- Dates and words ---------------------------------------------------

  const romeFmt = new Intl.DateTimeFormat('it-IT', { timeZone: 'Europe/Rome', day: '2-digit', month: '2-digit', year: 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const romeDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome', year: 'numeric', month: '2-digit', day: '2-digit' });
  const num = new Intl.NumberFormat('it-IT', { maximumFractionDigits: 1 });
  const euro = new Intl.NumberFormat('it-IT', { style: 'currency', currency: 'EUR', maximumFractionDigits: 3 });

  // when is an instant in Rome time, dd/mm/yyyy hh:mm.
  function when(s) {
    if (!s || String(s).startsWith('0001-')) return '—';
    const d = new Date(s);
    if (isNaN(d)) return '—';
    const p = {};
    for (const x of romeFmt.formatToParts(d)) p[x.type] = x.value;
    return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
  }
  // day is a date (YYYY-MM-DD) as dd/mm/yyyy.
  function day(s) {
    const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(s || '');
    return m && m[1] !== '0001' ? `${m[3]}/${m[2]}/${m[1]}` : '—';
  }
  function isoDay(d) { return romeDay.format(d); }
  function plural(n, one, many) { return n + ' ' + (n === 1 ? one : many); }
  function fullName(p) { return [p.surname, p.name].filter(Boolean).join(' ') || '—'; }
  function safeName(s) { return String(s).replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ').replace(/\s+/g, ' ').trim(); }
  function baseName(s) { return String(s || '').replace(/\.[A-Za-z0-9]{1,5}$/, ''); }
  function officeName(code) {
    const o = me && me.offices.find((x) => x.code === code);
    return o ? o.name : (code ? 'altro ufficio' : '—');
  }
  function cap(s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : s; }
  function protocolText(p) { return p && p.text ? cap(p.text) : 'In attesa di protocollo'; }

  // Badges: a colour and always the words.
  const tones = {
    received: 'corso', queued: 'corso', protocolled: 'corso', sent: 'corso', accepted: 'corso', delivered: 'corso', replied: 'corso',
    batched: 'corso', pending: 'attesa', completed: 'ok', certified: 'ok', rejected: 'errore', failed: 'errore',
    nullo: 'ok', positivo: 'attenzione', unknown: 'attenzione', open: 'attenzione', assigned: 'ok', dismissed: 'neutro',
  };
  function badge(state, label, id) {
    return el('span', { class: 'badge badge-' + (tones[state] || 'neutro'), id, 'data-state': state, text: label || state });
  }
  const triageStates = { open: 'da smistare', assigned: 'attribuito a una richiesta', dismissed: 'archiviato' };
  const kinds = {
    accettazione: 'ricevuta di accettazione', 'non-accettazione': 'avviso di non accettazione', 'presa-in-carico': 'ricevuta di presa in carico',
    'avvenuta-consegna': 'ricevuta di avvenuta consegna', 'errore-consegna': 'avviso di mancata consegna',
    'preavviso-errore-consegna': 'preavviso di mancata consegna', 'rilevazione-virus': 'avviso di rilevazione di virus',
    'posta-certificata': 'messaggio di posta certificata', anomalia: 'messaggio di anomalia', 'pec-unknown': 'messaggio PEC di tipo non riconosciuto',
    'non-pec': 'messaggio di posta ordinaria (non PEC)', unreadable: 'messaggio illeggibile',
  };
  const signatures = { valid: 'valida', untrusted: 'di un gestore non riconosciuto', invalid: 'non valida', absent: 'assente' };

  // ---- API ---------------------------------------------------------------

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    const token = sessionStorage.getItem(TOKEN);
    if (token && !opts.anonymous) headers.Authorization = 'Bearer ' + token;
    let resp;
    try {
      resp = await fetch('/api/v1' + path, { method: opts.method || 'GET', headers, body: opts.body });
    } catch (e) {
      throw new ApiError(0, 'network', 'Il servizio non è raggiungibile: controllare la connessione e riprovare.');
    }
    const ctype = resp.headers.get('Content-Type') || '';
    if (!resp.ok) {
      let body = null;
      let code = 'http';
      let msg = 'Il servizio ha risposto con un errore (' + resp.status + '). Riprovare più tardi.';
      if (ctype.includes('json')) {
        try { body = await resp.json(); code = body.error.code; msg = body.error.message; } catch (e) { /* the generic message */ }
      }
      if (resp.status === 401 && !opts.anonymous) {
        lapsed('La sessione è scaduta o non è più valida: accedere di nuovo.');
        throw new SignedOut();
      }
      throw new ApiError(resp.status, code, msg, body);
    }
    if (opts.raw) return resp;
    return ctype.includes('json') ? resp.json() : resp.text();
  }
  function post(body) { return { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }; }

  // ---- Downloads ---------------------------------------------------------

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say('File scaricato: ' + name + '.');
  }
  function nameFrom(resp, fallback) {
    const m = /filename="?([^";]+)"?/.exec(resp.headers.get('Content-Disposition') || '');
    return m ? m[1] : fallback;
  }
  // busy runs an action of a button once at a time.
  function busy(btn, fn) {
    if (btn.getAttribute('aria-disabled') === 'true') return;
    btn.setAttribute('aria-disabled', 'true');
    fail('');
    fn().catch(shown).finally(() => btn.removeAttribute('aria-disabled'));
  }
  // A document the API serves: fetched with the token, saved from memory.
  function apiFile(btn, path, fallback) {
    busy(btn, async () => {
      const resp = await api(path, { raw: true });
      saveBlob(await resp.blob(), nameFrom(resp, fallback));
    });
  }
  // A document the API answers with a short-lived URL of ({url}): fetched
  // and saved; if the bucket does not let this page read it, followed.
  function linkedFile(btn, path, name) {
    busy(btn, async () => {
      const link = await api(path);
      let resp = null;
      try { resp = await fetch(link.url); } catch (e) { resp = null; }
      if (!resp) { location.assign(link.url); return; }
      if (!resp.ok) throw new ApiError(resp.status, 'expired', 'Il collegamento al file non è più valido: riprovare.');
      saveBlob(await resp.blob(), name);
    });
  }
  function fileButton(text, attrs, action) {
    const b = el('button', Object.assign({ type: 'button', class: 'btn btn-secondario' }, attrs, { text }));
    b.addEventListener('click', () => action(b));
    return b;
  }

  // ---- Tables: stacked rows with their labels on narrow screens ----------

  // table builds a table; cols are [label, cell(row), class]; add appends rows.
  function table(o) {
    const t = el('table', { class: 'tabella', id: o.id, role: 'table' });
    if (o.caption) t.append(el('caption', { class: o.captionHidden ? 'sr-only' : null, text: o.caption }));
    t.append(el('thead', { role: 'rowgroup' }, el('tr', { role: 'row' }, o.cols.map(([label]) => el('th', { scope: 'col', role: 'columnheader', text: label })))));
    const tbody = el('tbody', { role: 'rowgroup' });
    t.append(tbody);
    const add = (rows) => rows.map((r) => {
      const tr = el('tr', Object.assign({ role: 'row' }, o.rowAttrs ? o.rowAttrs(r) : {}));
      for (const [label, cell, cls] of o.cols) {
        const v = cell(r);
        tr.append(el('td', { role: 'cell', 'data-label': label, class: cls }, el('div', { class: 'valore' }, v === undefined || v === null || v === '' ? '—' : v)));
      }
      tbody.append(tr);
      return tr;
    });
    add(o.rows || []);
    return { table: t, add };
  }
  function facts(pairs) {
    return el('dl', { class: 'fatti' }, pairs.filter((p) => p && p[1] !== undefined && p[1] !== null && p[1] !== '')
      .map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', {}, v))));
  }
  function section(title, ...children) {
    const id = 'sez-' + title.toLowerCase().normalize('NFD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    return el('section', { class: 'scheda', 'aria-labelledby': id }, el('h2', { id, text: title }), ...children);
  }
  function h1(text) { return el('h1', { tabindex: '-1', text }); }
  function more(label, load) {
    const b = el('button', { type: 'button', class: 'btn btn-secondario', id: 'mostra-altri', text: label });
    b.addEventListener('click', () => busy(b, load));
    return el('p', { class: 'altri' }, b);
  }

  // ---- Sign-in -----------------------------------------------------------

  function b64url(bytes) {
    let s = '';
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function random() { return b64url(crypto.getRandomValues(new Uint8Array(32))); }
  function redirectURI() { return location.origin + location.pathname; }
  function claims(token) {
    try {
      const p = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const bin = atob(p + '==='.slice((p.length + 3) % 4));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
    } catch (e) { return null; }
  }

  async function startSignIn() {
    if (!window.crypto || !crypto.subtle) {
      fail('Questo browser non consente l\'accesso sicuro: usare un browser aggiornato.');
      return;
    }
    const verifier = random();
    const state = random();
    const nonce = random();
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PKCE, JSON.stringify({ verifier, state, nonce, after: location.hash }));
    const u = new URL(cfg.auth.authorize_url);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: cfg.auth.client_id, redirect_uri: redirectURI(),
      scope: 'openid email', state, nonce, code_challenge: challenge, code_challenge_method: 'S256' })) u.searchParams.set(k, v);
    location.assign(u.toString());
  }

  // finishSignIn takes the answer of the sign-in page (?code=&state=) and
  // exchanges the code for the ID token; errors are for the user.
  async function finishSignIn(q) {
    const saved = JSON.parse(sessionStorage.getItem(PKCE) || 'null');
    sessionStorage.removeItem(PKCE);
    history.replaceState(null, '', location.pathname + ((saved && saved.after) || ''));
    if (q.get('error')) throw new Error('L\'accesso non è riuscito o è stato annullato. Riprovare.');
    if (!cfg || !cfg.auth) throw new Error('L\'accesso con le credenziali del Comune non è configurato.');
    if (!saved || !q.get('state') || q.get('state') !== saved.state) {
      throw new Error('La risposta della pagina di accesso non corrisponde a una richiesta di questa pagina: accedere di nuovo.');
    }
    const body = new URLSearchParams({ grant_type: 'authorization_code', client_id: cfg.auth.client_id, code: q.get('code') || '',
      redirect_uri: redirectURI(), code_verifier: saved.verifier });
    let tok = null;
    try {
      const resp = await fetch(cfg.auth.token_url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body });
      if (resp.ok) tok = await resp.json();
    } catch (e) { tok = null; }
    if (!tok || !tok.id_token) throw new Error('Il servizio di accesso non ha rilasciato le credenziali: accedere di nuovo.');
    const c = claims(tok.id_token);
    const aud = c ? [].concat(c.aud) : [];
    if (!c || c.nonce !== saved.nonce || !aud.includes(cfg.auth.client_id)) {
      throw new Error('Le credenziali ricevute non sono valide per questo servizio: accedere di nuovo.');
    }
    sessionStorage.setItem(TOKEN, tok.id_token);
  }

  // lapsed forgets the token and shows the sign-in card: never a redirect.
  function lapsed(msg) {
    sessionStorage.removeItem(TOKEN);
    showSignIn();
    if (msg) fail(msg);
  }

  function showSignIn() {
    me = null;
    searchQuery = '';
    seq++;
    stopTimer();
    clearNotices();
    $('utente').hidden = true;
    $('menu').hidden = true;
    $('ente').textContent = 'Pubblica amministrazione';
    document.title = 'Accesso — Casellario PEC';
    const parts = [h1('Accedi al servizio'),
      el('p', { class: 'intro', text: 'Il servizio permette agli uffici del Comune di chiedere alla Procura della Repubblica, tramite PEC, ' +
        'i certificati del casellario giudiziario delle persone di un elenco, e di scaricarli quando arrivano.' })];
    if (cfg && cfg.auth) {
      parts.push(section('Accesso con le credenziali del Comune',
        el('p', { text: 'Si apre la pagina di accesso del Comune; al termine si torna qui.' }),
        el('p', {}, el('button', { type: 'button', class: 'btn', id: 'accedi', text: 'Accedi', onclick: () => startSignIn().catch(shown) }))));
    }
    if (cfg && cfg.dev) parts.push(demoSignIn());
    if (!cfg || (!cfg.auth && !cfg.dev)) {
      parts.push(el('p', { text: 'L\'accesso non è disponibile in questo momento: riprovare più tardi o rivolgersi all\'assistenza del Comune.' }));
    }
    $('vista').replaceChildren(el('div', { class: 'accesso' }, parts));
    $('vista').removeAttribute('aria-busy');
  }

  function demoSignIn() {
    const sel = el('select', { id: 'utente-demo', required: true }, el('option', { value: '', text: 'Caricamento degli utenti…' }));
    const users = [];
    api('/dev/users', { anonymous: true }).then((list) => {
      users.push(...list);
      sel.replaceChildren(...list.map((u, i) => el('option', { value: String(i),
        text: u.label || u.name })));
    }).catch(shown);
    const demo = el('form', { id: 'form-demo', class: 'modulo' },
      el('div', { class: 'campo' }, el('label', { for: 'utente-demo', text: 'Utente dimostrativo' }), sel),
      el('button', { type: 'submit', class: 'btn', id: 'accedi-demo', text: 'Accedi come utente dimostrativo' }));
    demo.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const u = users[Number(sel.value)];
      if (u) signInWith(u.token);
    });
    const area = el('textarea', { id: 'token', rows: '3', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-aiuto' });
    const tok = el('form', { id: 'form-token', class: 'modulo' },
      el('div', { class: 'campo' }, el('label', { for: 'token', text: 'Token di accesso (JWT)' }),
        el('p', { class: 'aiuto', id: 'token-aiuto', text: 'Per le prove con un token emesso a mano.' }), area),
      el('button', { type: 'submit', class: 'btn btn-secondario', text: 'Accedi con il token' }));
    tok.addEventListener('submit', (ev) => { ev.preventDefault(); if (area.value.trim()) signInWith(area.value.trim()); });
    return section('Ambiente di prova', el('p', { text: 'Questa installazione è dimostrativa: si accede come uno degli utenti di prova.' }), demo, tok);
  }

  async function signInWith(token) {
    sessionStorage.setItem(TOKEN, token);
    carry = 'Accesso effettuato.';
    if (!await enter(true)) carry = '';
  }

  // enter reads who signed in and shows the view the address names; focus:
  // the view's heading takes the focus (after an action of the user).
  async function enter(focus) {
    try {
      me = await api('/me');
    } catch (e) {
      if (!(e instanceof SignedOut)) { sessionStorage.removeItem(TOKEN); showSignIn(); shown(e); }
      return false;
    }
    $('ente').textContent = me.tenant_name || 'Comune';
    $('utente-nome').textContent = me.name;
    $('utente-ruolo').textContent = me.role === 'protocol' ? 'Ufficio protocollo' : officeName(me.office);
    $('utente').hidden = false;
    $('menu').hidden = false;
    for (const li of document.querySelectorAll('[data-protocollo]')) li.hidden = me.role !== 'protocol';
    firstView = !focus;
    route();
    return true;
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN);
    const out = cfg && cfg.auth && cfg.auth.logout_url;
    if (out) {
      // The issuer's session ends too, or the next person at this computer
      // would be signed straight back in; it sends the browser back here.
      const back = location.origin + location.pathname;
      const u = new URL(out);
      u.searchParams.set('client_id', cfg.auth.client_id);
      u.searchParams.set('logout_uri', back); // Cognito
      u.searchParams.set('post_logout_redirect_uri', back); // OpenID Connect RP-initiated logout
      sessionStorage.setItem(BYE, '1');
      location.assign(u.toString());
      return;
    }
    history.replaceState(null, '', location.pathname);
    showSignIn();
    $('vista').querySelector('h1').focus();
    say('Uscita effettuata. Per chiudere del tutto la sessione chiudere anche il browser.');
  }

  // ---- Router ------------------------------------------------------------

  function stopTimer() { if (timer) { clearTimeout(timer); timer = null; } }

  function parseHash() {
    const h = location.hash.replace(/^#\/?/, '');
    const i = h.indexOf('?');
    const path = i < 0 ? h : h.slice(0, i);
    const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch (e) { return p; } });
    return { parts, q: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
  }
  function go(hash, notice) { carry = notice || ''; if (location.hash === hash) route(); else location.hash = hash; }

  const views = {
    carica: viewUpload,
    elenchi: (c) => (c.parts[1] ? viewList(c, c.parts[1]) : viewLists(c)),
    richieste: (c) => (c.parts[1] ? viewRequest(c, c.parts[1]) : viewRequests(c)),
    cerca: viewSearch,
    smistamento: (c) => protocolOnly(c, c.parts[1] ? () => viewTriageItem(c, c.parts[1]) : () => viewTriage(c)),
    rapporto: (c) => protocolOnly(c, () => viewReport(c)),
  };

  function route() {
    if (!me) return;
    const { parts, q } = parseHash();
    if (!parts.length) { history.replaceState(null, '', '#/elenchi'); return route(); }
    stopTimer();
    clearNotices();
    if (carry) { say(carry); carry = ''; }
    for (const a of document.querySelectorAll('#menu a')) {
      if (a.dataset.sezione === parts[0]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    const ctx = { parts, q, seq: ++seq, focus: !firstView };
    firstView = false;
    ctx.live = () => ctx.seq === seq && me !== null;
    ctx.show = (title, nodes) => show(ctx, title, nodes);
    ctx.again = (ms, fn) => {
      stopTimer();
      timer = setTimeout(() => {
        timer = null;
        if (!ctx.live()) return;
        if (document.hidden) ctx.again(ms, fn); else fn().catch(shown);
      }, ms);
    };
    $('vista').setAttribute('aria-busy', 'true');
    const view = views[parts[0]] || notFound;
    Promise.resolve().then(() => view(ctx)).catch((e) => {
      if (e instanceof SignedOut || !ctx.live()) return;
      const title = e.status === 404 ? 'Elemento non trovato' : 'Pagina non disponibile';
      ctx.show(title, [h1(title), el('p', { class: 'ko', text: e.message }), el('p', {}, el('a', { href: '#/elenchi', text: 'Torna agli elenchi' }))]);
    });
  }

  // show puts a view's nodes in place: the first time it focuses its
  // heading; again (a refresh) it keeps the focus and the open details.
  function show(ctx, title, nodes) {
    if (!ctx.live()) return false;
    const box = $('vista');
    const active = document.activeElement;
    const key = active && box.contains(active) ? (active.id || active.getAttribute('data-chiave')) : null;
    const open = [...box.querySelectorAll('details[open][data-chiave]')].map((d) => d.getAttribute('data-chiave'));
    box.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false && n !== ''));
    box.removeAttribute('aria-busy');
    document.title = title + ' — Casellario PEC';
    for (const k of open) { const d = box.querySelector(`details[data-chiave="${k}"]`); if (d) d.open = true; }
    if (ctx.focus) {
      ctx.focus = false;
      const h = box.querySelector('h1');
      if (h) h.focus();
    } else if (key) {
      const again = document.getElementById(key) || box.querySelector(`[data-chiave="${CSS.escape(key)}"]`);
      if (again) again.focus();
    }
    return true;
  }

  function notFound(ctx) {
    ctx.show('Pagina non trovata', [h1('Pagina non trovata'), el('p', { text: 'L\'indirizzo non corrisponde a nessuna pagina del servizio.' }),
      el('p', {}, el('a', { href: '#/elenchi', text: 'Vai agli elenchi caricati' }))]);
  }
  function protocolOnly(ctx, view) {
    if (me.role === 'protocol') return view();
    ctx.show('Funzione riservata', [h1('Funzione riservata all\'ufficio protocollo'),
      el('p', { text: 'Questa pagina è disponibile solo per l\'ufficio protocollo del Comune.' }),
      el('p', {}, el('a', { href: '#/elenchi', text: 'Vai agli elenchi caricati' }))]);
  }
  function limitOf(q) { const n = Number(q.get('limit')); return Number.isInteger(n) && n >= 1 && n <= 200 ? n : 0; }

  // ---- Upload ------------------------------------------------------------

  function viewUpload(ctx) {
    const prot = me.role === 'protocol';
    const out = el('div', { id: 'esito', class: 'esito' });
    const btn = el('button', { type: 'submit', class: 'btn', id: 'carica-btn', text: 'Carica e verifica' });
    const fields = [];
    if (prot) {
      fields.push(el('div', { class: 'campo' }, el('label', { for: 'ufficio', text: 'Ufficio per cui si carica l\'elenco' }),
        el('select', { id: 'ufficio', required: true }, el('option', { value: '', text: 'Scegliere l\'ufficio' }),
          me.offices.map((o) => el('option', { value: o.code, text: o.name })))));
    }
    fields.push(el('div', { class: 'campo' }, el('label', { for: 'file', text: 'Elenco da caricare' }),
      el('p', { class: 'aiuto', id: 'file-aiuto', text: 'Foglio Excel (.xlsx) o file CSV, al massimo 10 MB. Le righe con errori vengono scartate e indicate subito; ' +
        'le altre persone vengono richieste alla Procura con il prossimo invio.' }),
      el('input', { type: 'file', id: 'file', name: 'file', accept: '.xlsx,.csv', required: true, 'aria-describedby': 'file-aiuto' })));
    if (prot) {
      fields.push(el('details', { class: 'campo' }, el('summary', { text: 'Numero di protocollo già assegnato (facoltativo)' }),
        el('p', { class: 'aiuto', id: 'prot-aiuto', text: 'Solo se l\'elenco è stato protocollato a mano: numero e data di protocollo.' }),
        el('div', { class: 'campi-affiancati' },
          el('div', { class: 'campo' }, el('label', { for: 'prot-numero', text: 'Numero di protocollo' }),
            el('input', { type: 'text', id: 'prot-numero', inputmode: 'numeric', autocomplete: 'off', 'aria-describedby': 'prot-aiuto' })),
          el('div', { class: 'campo' }, el('label', { for: 'prot-data', text: 'Data di protocollo' }), el('input', { type: 'date', id: 'prot-data' })))));
    }
    const form = el('form', { id: 'form-carica', class: 'modulo' }, fields, btn);
    form.addEventListener('submit', (ev) => { ev.preventDefault(); upload(ctx, form, btn, out); });
    const model = fileButton('Scarica il modello Excel', { id: 'modello' }, (b) => apiFile(b, '/template.xlsx', 'modello-elenco-casellario.xlsx'));
    ctx.show('Carica un elenco', [h1('Carica un elenco di nominativi'),
      el('p', { class: 'intro', text: 'L\'elenco ha una riga per persona con le colonne Cognome, Nome, Sesso, Data di nascita, Comune o Stato di nascita ' +
        '(facoltativi: Provincia, Codice fiscale, Nome del padre). Il modello Excel ha già le colonne e le istruzioni.' }),
      el('p', {}, model), form, out]);
  }

  async function upload(ctx, form, btn, out) {
    clearNotices();
    const prot = me.role === 'protocol';
    const f = $('file').files[0];
    if (!f) { fail('Scegliere il file dell\'elenco da caricare.'); $('file').focus(); return; }
    const office = prot ? $('ufficio').value : me.office;
    if (!office) { fail('Scegliere l\'ufficio per cui si carica l\'elenco.'); $('ufficio').focus(); return; }
    if (btn.getAttribute('aria-disabled') === 'true') return;
    btn.setAttribute('aria-disabled', 'true');
    out.replaceChildren(el('p', { class: 'caricamento', text: 'Caricamento e verifica in corso…' }));
    try {
      const max = (cfg && cfg.direct_upload_max) || DIRECT_MAX;
      if (f.size > max) {
        // A large list goes straight to the archive, where a number typed here cannot follow it.
        if (prot && ($('prot-numero').value.trim() || $('prot-data').value)) {
          out.replaceChildren();
          fail(`Un elenco con il numero di protocollo assegnato a mano può essere al massimo di ${kb(max)}: dividerlo in più elenchi, ciascuno con il suo numero.`);
          return;
        }
        await uploadLarge(f, prot ? office : '');
        return;
      }
      const fd = new FormData();
      fd.append('file', f);
      if (prot) {
        fd.append('office', office);
        const n = $('prot-numero').value.trim();
        const d = $('prot-data').value;
        if (n || d) { fd.append('protocol_number', n); fd.append('protocol_date', d); }
      }
      const res = await api('/uploads', { method: 'POST', body: fd });
      if (!ctx.live()) return;
      form.reset();
      out.replaceChildren(...validation(res));
      const s = res.validation.summary;
      say(s ? `Elenco verificato: ${plural(s.valid, 'riga accettata', 'righe accettate')}, ${plural(s.invalid, 'scartata', 'scartate')}.`
        : 'Il file non può essere letto come elenco.');
      $('esito-titolo').focus();
    } catch (e) {
      out.replaceChildren();
      shown(e);
    } finally { btn.removeAttribute('aria-disabled'); }
  }

  // uploadLarge records the upload, PUTs the file to the bucket, and opens
  // the list's page, which follows the check.
  async function uploadLarge(f, office) {
    const p = await api('/uploads/presign', post({ office, file_name: f.name, size: f.size }));
    let resp = null;
    try { resp = await fetch(p.url, { method: p.method || 'PUT', headers: p.headers || {}, body: f }); } catch (e) { resp = null; }
    if (!resp || !resp.ok) {
      throw new ApiError(0, 'upload', 'Il file non è stato trasmesso all\'archivio del servizio. Riprovare; se il problema continua, dividere l\'elenco in file più piccoli.');
    }
    go('#/elenchi/' + p.upload.id, 'Elenco caricato: la verifica delle righe è in corso e questa pagina ne mostra l\'esito.');
  }

  function validation(res) {
    const v = res.validation;
    const up = res.upload;
    const open = el('p', {}, el('a', { href: '#/elenchi/' + up.id, id: 'apri-elenco', 'data-id': up.id, class: 'btn btn-secondario',
      text: 'Apri la pagina dell\'elenco' }));
    if (v.error) {
      return [el('h2', { id: 'esito-titolo', tabindex: '-1', text: 'Il file non può essere letto' }),
        el('p', { class: 'ko', id: 'esito-riepilogo', text: v.error.message }),
        el('p', { text: 'Correggere il file e caricarlo di nuovo.' }), open];
    }
    const s = v.summary;
    const parts = [el('h2', { id: 'esito-titolo', tabindex: '-1', text: 'Esito della verifica' }),
      el('p', { class: 'riepilogo', id: 'esito-riepilogo',
        text: `Righe lette: ${s.rows}. Accettate: ${s.valid}. Scartate: ${s.invalid}` + (s.duplicates ? ` (di cui ${s.duplicates} ripetute).` : '.') })];
    if (v.warnings && v.warnings.length) parts.push(el('ul', { class: 'avvertenze' }, v.warnings.map((w) => el('li', { text: w }))));
    const bad = (v.rows || []).filter((r) => !r.valid);
    if (bad.length) {
      parts.push(table({ id: 'righe-scartate', caption: 'Righe scartate e motivo', cols: [
        ['Riga', (r) => String(r.row)],
        ['Nominativo', (r) => fullName(r.person)],
        ['Motivo', (r) => (r.errors || []).map((p) => p.message).join(' ') || (r.duplicate_of ? `Ripete la riga ${r.duplicate_of}.` : ''), 'motivo'],
      ], rows: bad.slice(0, 500), rowAttrs: (r) => ({ class: 'riga-scartata', 'data-row': String(r.row) }) }).table);
      if (bad.length > 500) parts.push(el('p', { text: `Sono mostrate le prime 500 righe scartate su ${bad.length}: tutte sono nel file Excel delle righe scartate.` }));
    }
    const warned = (v.rows || []).filter((r) => r.valid && r.warnings && r.warnings.length);
    if (warned.length) {
      parts.push(table({ id: 'righe-avvisi', caption: 'Righe accettate con un avviso', cols: [
        ['Riga', (r) => String(r.row)], ['Nominativo', (r) => fullName(r.person)], ['Avviso', (r) => r.warnings.join(' ')],
      ], rows: warned.slice(0, 200) }).table);
    }
    parts.push(s.valid > 0
      ? el('p', { class: 'ok', text: 'Le persone accettate saranno protocollate e richieste alla Procura con il prossimo invio.' })
      : el('p', { class: 'ko', text: 'Nessuna riga è stata accettata: l\'elenco non sarà inviato.' }));
    parts.push(open);
    return parts;
  }

  // ---- Lists -------------------------------------------------------------

  function officeFilter(ctx, base) {
    if (me.role !== 'protocol') return null;
    const sel = el('select', { id: 'filtro-ufficio' }, el('option', { value: '', text: 'Tutti gli uffici' }),
      me.offices.map((o) => el('option', { value: o.code, text: o.name, selected: ctx.q.get('ufficio') === o.code })));
    const f = el('form', { class: 'filtro' }, el('div', { class: 'campo' }, el('label', { for: 'filtro-ufficio', text: 'Ufficio' }), sel),
      el('button', { type: 'submit', class: 'btn btn-secondario', text: 'Mostra' }));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = new URLSearchParams(ctx.q);
      if (sel.value) q.set('ufficio', sel.value); else q.delete('ufficio');
      go(base + (q.toString() ? '?' + q : ''));
    });
    return f;
  }

  function pageQuery(ctx, cursor) {
    const q = new URLSearchParams();
    const limit = limitOf(ctx.q);
    if (limit) q.set('limit', String(limit));
    if (cursor) q.set('cursor', cursor);
    if (ctx.q.get('ufficio')) q.set('office', ctx.q.get('ufficio'));
    return q.toString() ? '?' + q : '';
  }

  async function viewLists(ctx) {
    const res = await api('/uploads' + pageQuery(ctx, ''));
    const head = [h1('Elenchi caricati'),
      el('p', { class: 'intro', text: (me.role === 'protocol' ? 'Gli elenchi degli uffici del Comune' : 'Gli elenchi dell\'ufficio') +
        ', dal più recente. Aprire un elenco per vedere l\'esito di ogni persona e scaricare i certificati.' }),
      el('div', { class: 'barra' }, officeFilter(ctx, '#/elenchi'),
        el('a', { class: 'btn', href: '#/carica', text: 'Carica un nuovo elenco' }))];
    if (!res.uploads.length) {
      return ctx.show('Elenchi caricati', [...head, el('p', { class: 'vuoto', text: 'Nessun elenco caricato finora.' })]);
    }
    const t = table({ id: 'tabella-elenchi', caption: 'Elenchi caricati, dal più recente', captionHidden: true, cols: [
      ['Elenco', (u) => el('a', { href: '#/elenchi/' + u.id, class: 'apri-elenco', 'data-id': u.id, text: u.file_name || 'Elenco del ' + when(u.created_at) })],
      ['Caricato il', (u) => when(u.created_at)],
      ['Ufficio', (u) => u.office_name],
      ['Stato', (u) => badge(u.state, u.state_label)],
      ['Righe', (u) => (u.state === 'received' && !u.counts.rows ? 'in verifica'
        : `${plural(u.counts.valid, 'accettata', 'accettate')}, ${plural(u.counts.invalid, 'scartata', 'scartate')}`)],
    ], rows: res.uploads });
    const nodes = [...head, t.table];
    let next = res.next;
    const pager = next ? more('Mostra altri elenchi', async () => {
      const r = await api('/uploads' + pageQuery(ctx, next));
      const rows = t.add(r.uploads);
      next = r.next;
      say(`Mostrati altri ${plural(r.uploads.length, 'elenco', 'elenchi')}.`);
      if (!next) pager.remove();
      const a = rows.length && rows[0].querySelector('a');
      if (a) a.focus();
    }) : null;
    if (pager) nodes.push(pager);
    ctx.show('Elenchi caricati', nodes);
  }

  async function viewList(ctx, id) {
    let last = '';
    const load = async () => {
      const d = await api('/uploads/' + encodeURIComponent(id));
      const up = d.upload;
      let refused = null;
      if (up.has_report && up.counts.invalid > 0) {
        try { refused = await api('/uploads/' + id + '/report.json'); } catch (e) { if (e instanceof SignedOut) throw e; refused = null; }
      }
      const sig = JSON.stringify([d, refused && refused.summary]);
      if (sig !== last) {
        last = sig;
        // Titles go into the browser's history: a file name may name a person, the date does not.
        ctx.show('Elenco caricato il ' + when(up.created_at), listNodes(d, refused));
      }
      if (up.state === 'received') ctx.again(3000, load);
      else if (up.state !== 'rejected' && d.people.some((p) => p.state === 'pending' || p.state === 'batched')) ctx.again(REFRESH, load);
    };
    await load();
  }

  function listNodes(d, refused) {
    const up = d.upload;
    const c = up.counts;
    const nodes = [h1(up.file_name ? `Elenco «${up.file_name}»` : 'Elenco caricato il ' + when(up.created_at)),
      el('p', { class: 'stato-riga' }, 'Stato: ', badge(up.state, up.state_label, 'stato-elenco')),
      facts([
        ['Caricato il', when(up.created_at)],
        ['Caricato da', up.uploaded_by],
        ['Ufficio', up.office_name],
        ['Righe', up.state === 'received' && !c.rows ? 'in verifica'
          : `${plural(c.rows, 'letta', 'lette')}: ${plural(c.valid, 'accettata', 'accettate')}, ${plural(c.invalid, 'scartata', 'scartate')}` +
          (c.duplicates ? ` (di cui ${c.duplicates} ripetute)` : '')],
        up.protocol && up.protocol.text ? ['Protocollo', cap(up.protocol.text)] : null,
      ])];
    if (up.state === 'rejected') {
      nodes.push(el('div', { class: 'riquadro riquadro-errore', id: 'motivo-elenco' }, el('h2', { text: 'Elenco scartato' }),
        el('p', { text: up.reason || 'L\'elenco non è stato accettato.' }),
        up.reason_detail ? el('p', { class: 'dettaglio' }, 'Dettaglio tecnico, per l\'assistenza: ', el('span', { lang: 'en', text: up.reason_detail })) : null));
    } else if (up.state === 'received') {
      nodes.push(el('p', { class: 'riquadro', text: 'Verifica dell\'elenco in corso: la pagina si aggiorna da sola.' }));
    }
    if (c.invalid > 0 && up.has_report) {
      const rows = refused && refused.rows ? refused.rows.filter((r) => !r.valid) : [];
      nodes.push(section('Righe scartate',
        el('p', { text: `${plural(c.invalid, 'riga non è stata accettata', 'righe non sono state accettate')}. ` +
          'Il file Excel delle righe scartate ha le stesse colonne dell\'elenco e il motivo: corretto, si carica come nuovo elenco.' }),
        el('p', { class: 'azioni' },
          fileButton('Scarica le righe scartate (Excel)', { id: 'scarti-xlsx' }, (b) => apiFile(b, '/uploads/' + up.id + '/refused.xlsx', 'righe-da-correggere.xlsx')),
          fileButton('Scarica le righe scartate (CSV)', { id: 'scarti-csv' }, (b) => apiFile(b, '/uploads/' + up.id + '/refused.csv', 'righe-scartate.csv'))),
        rows.length ? table({ id: 'righe-scartate-elenco', caption: 'Righe scartate e motivo', captionHidden: true, cols: [
          ['Riga', (r) => String(r.row)],
          ['Nominativo', (r) => fullName(r.person)],
          ['Motivo', (r) => (r.errors || []).map((p) => p.message).join(' ') || (r.duplicate_of ? `Ripete la riga ${r.duplicate_of}.` : ''), 'motivo'],
        ], rows: rows.slice(0, 500), rowAttrs: (r) => ({ class: 'riga-scartata', 'data-row': String(r.row) }) }).table : null));
    }
    if (up.state !== 'rejected' && up.state !== 'received') {
      nodes.push(section('Richieste alla Procura', d.requests.length ? table({ id: 'richieste-elenco', caption: 'Richieste con le persone di questo elenco',
        captionHidden: true, cols: [
          ['Richiesta', (b) => el('a', { href: '#/richieste/' + b.id, class: 'apri-richiesta', 'data-id': b.id, text: protocolText(b.protocol) })],
          ['Stato', (b) => badge(b.state, b.state_label)],
          ['Persone di questo elenco', (b) => String(b.from_list)],
          ['Creata il', (b) => when(b.created_at)],
        ], rows: d.requests }).table : el('p', { class: 'vuoto', text: 'Le persone non sono ancora state inviate alla Procura.' })));
    }
    if (d.people.length) {
      const certified = d.people.filter((p) => p.certificate).length;
      nodes.push(section('Persone',
        el('p', { text: `${plural(d.people.length, 'persona', 'persone')}, ${plural(certified, 'certificato arrivato', 'certificati arrivati')}.` }),
        certified ? el('p', { class: 'azioni' }, fileButton('Scarica tutti i certificati (ZIP)', { id: 'zip-elenco' },
          (b) => linkedFile(b, '/uploads/' + up.id + '/certificates.zip', safeName('certificati ' + (baseName(up.file_name) || 'elenco')) + '.zip'))) : null,
        peopleTable('persone-elenco', d.people, true)));
    }
    nodes.push(events('Cronologia dell\'elenco', d.events));
    return nodes;
  }

  function peopleTable(id, people, withRow) {
    const cols = [];
    if (withRow) cols.push(['Riga', (p) => String(p.row)]);
    cols.push(
      ['Nominativo', (p) => [el('span', { class: 'nome', text: fullName(p) }), p.warning ? el('span', { class: 'avvertenza', text: 'Attenzione: ' + p.warning }) : null]],
      ['Codice fiscale', (p) => p.fiscal_code, 'cf'],
      ['Stato', (p) => [badge(p.state, p.state_label), p.state === 'failed' && p.reason ? el('span', { class: 'spiega', text: p.reason }) : null]],
      ['Esito', (p) => (p.certificate ? [badge(p.certificate.outcome, p.certificate.outcome_label), el('span', { class: 'spiega', text: p.certificate.outcome_help })] : '—')],
      ['Certificato', (p) => (p.certificate ? certButton(p) : el('span', { class: 'vuoto', text: 'non ancora arrivato' }))],
    );
    return table({ id, caption: 'Persone e certificati', captionHidden: true, cols, rows: people }).table;
  }
  function certButton(p) {
    return fileButton('Scarica il certificato', { class: 'btn btn-piccolo scarica-certificato', 'data-subject': p.id, 'data-chiave': 'cert-' + p.id,
      'aria-label': 'Scarica il certificato di ' + fullName(p) + ' (PDF)' },
    (b) => linkedFile(b, '/certificates/' + encodeURIComponent(p.id), safeName('certificato ' + fullName(p)) + '.pdf'));
  }
  function events(title, evs) {
    const list = (evs || []).slice().sort((a, b) => String(b.at).localeCompare(String(a.at)));
    return el('details', { class: 'cronologia', 'data-chiave': 'cronologia' }, el('summary', { text: `${title} (${plural(list.length, 'evento', 'eventi')})` }),
      el('ol', {}, list.map((e) => el('li', {}, el('span', { class: 'quando', text: when(e.at) }), ' ', el('span', { text: e.text })))));
  }

  // ---- Requests ----------------------------------------------------------

  async function viewRequests(ctx) {
    const res = await api('/batches' + pageQuery(ctx, ''));
    const head = [h1('Richieste alla Procura'),
      el('p', { class: 'intro', text: 'Le richieste di certificati inviate alla Procura tramite PEC, dalla più recente, con il numero di protocollo.' }),
      el('div', { class: 'barra' }, officeFilter(ctx, '#/richieste'))];
    if (!res.batches.length) return ctx.show('Richieste alla Procura', [...head, el('p', { class: 'vuoto', text: 'Nessuna richiesta finora.' })]);
    const t = table({ id: 'tabella-richieste', caption: 'Richieste alla Procura, dalla più recente', captionHidden: true, cols: [
      ['Richiesta', (b) => el('a', { href: '#/richieste/' + b.id, class: 'apri-richiesta', 'data-id': b.id,
        text: b.protocol.text ? cap(b.protocol.text) : 'Richiesta del ' + when(b.created_at) })],
      ['Creata il', (b) => when(b.created_at)],
      ['Ufficio', (b) => b.office_name],
      ['Persone', (b) => String(b.people)],
      ['Stato', (b) => badge(b.state, b.state_label)],
    ], rows: res.batches });
    const nodes = [...head, t.table];
    let next = res.next;
    const pager = next ? more('Mostra altre richieste', async () => {
      const r = await api('/batches' + pageQuery(ctx, next));
      const rows = t.add(r.batches);
      next = r.next;
      say(`Mostrate altre ${plural(r.batches.length, 'richiesta', 'richieste')}.`);
      if (!next) pager.remove();
      const a = rows.length && rows[0].querySelector('a');
      if (a) a.focus();
    }) : null;
    if (pager) nodes.push(pager);
    ctx.show('Richieste alla Procura', nodes);
  }

  async function viewRequest(ctx, id) {
    let last = '';
    const load = async () => {
      const d = await api('/batches/' + encodeURIComponent(id));
      const sig = JSON.stringify(d);
      if (sig !== last) {
        last = sig;
        const b = d.batch;
        ctx.show(b.protocol.text ? 'Richiesta ' + b.protocol.text : 'Richiesta', requestNodes(d));
      }
      if (d.batch.state !== 'completed' && d.batch.state !== 'failed') ctx.again(REFRESH, load);
    };
    await load();
  }

  function requestNodes(d) {
    const b = d.batch;
    const steps = el('ol', { class: 'percorso', id: 'percorso', 'aria-label': 'Avanzamento della richiesta' }, d.timeline.map((s) =>
      el('li', { class: s.state === 'failed' ? 'errore' : (s.at ? 'fatto' : 'da-fare'), 'data-step': s.state },
        el('span', { class: 'passo', text: cap(s.label) }), el('span', { class: 'quando', text: s.at ? when(s.at) : 'non ancora' }))));
    const certified = d.people.filter((p) => p.certificate).length;
    return [h1(b.protocol.text ? 'Richiesta ' + b.protocol.text : 'Richiesta del ' + when(b.created_at)),
      el('p', { class: 'stato-riga' }, 'Stato: ', badge(b.state, b.state_label, 'stato-richiesta')),
      facts([
        b.protocol.text ? null : ['Protocollo', protocolText(b.protocol)],
        ['Ufficio', b.office_name],
        ['Persone', String(b.people)],
        ['Creata il', when(b.created_at)],
        ['Ultimo aggiornamento', when(b.updated_at)],
      ]),
      b.state === 'failed' ? el('div', { class: 'riquadro riquadro-errore', id: 'motivo-richiesta' }, el('h2', { text: 'Richiesta non riuscita' }),
        el('p', { text: b.reason || 'La richiesta non è andata a buon fine.' }),
        b.reason_detail ? el('p', { class: 'dettaglio' }, 'Dettaglio tecnico, per l\'assistenza: ', el('span', { lang: 'en', text: b.reason_detail })) : null) : null,
      section('Avanzamento', steps),
      section('Elenchi di provenienza', d.lists.length ? el('ul', { class: 'elenchi-origine' }, d.lists.map((l) => el('li', {},
        el('a', { href: '#/elenchi/' + l.id, text: l.file_name || 'Elenco del ' + when(l.created_at) }), ` — caricato il ${when(l.created_at)}`)))
        : el('p', { class: 'vuoto', text: 'Nessun elenco.' })),
      section('Persone',
        el('p', { text: `${plural(d.people.length, 'persona', 'persone')}, ${plural(certified, 'certificato arrivato', 'certificati arrivati')}.` }),
        certified ? el('p', { class: 'azioni' }, fileButton('Scarica tutti i certificati della richiesta (ZIP)', { id: 'zip-richiesta' },
          (btn) => linkedFile(btn, '/batches/' + b.id + '/certificates.zip',
            safeName('certificati ' + (b.protocol.number ? 'prot ' + b.protocol.number : 'richiesta')) + '.zip'))) : null,
        peopleTable('persone-richiesta', d.people, false)),
      events('Cronologia della richiesta', d.events)];
  }

  // ---- Search ------------------------------------------------------------

  async function viewSearch(ctx) {
    const q = searchQuery;
    const input = el('input', { type: 'search', id: 'q', value: q, autocomplete: 'off', required: true, minlength: '2', 'aria-describedby': 'q-aiuto' });
    const form = el('form', { id: 'form-cerca', class: 'modulo', role: 'search' },
      el('div', { class: 'campo' }, el('label', { for: 'q', text: 'Cognome, codice fiscale o numero di protocollo' }),
        el('p', { class: 'aiuto', id: 'q-aiuto', text: 'Il cognome può essere scritto anche solo all\'inizio; maiuscole e accenti non contano.' }),
        el('div', { class: 'cerca-riga' }, input, el('button', { type: 'submit', class: 'btn', id: 'cerca-btn', text: 'Cerca' }))));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const v = input.value.trim();
      if (v.length < 2 && !/^\d+$/.test(v)) { fail('Scrivere almeno due caratteri.'); input.focus(); return; }
      searchQuery = v;
      go('#/cerca');
    });
    const nodes = [h1('Cerca'), form];
    if (!q) return ctx.show('Cerca', nodes);
    const res = await api('/search', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ q }) });
    const out = el('div', { id: 'risultati' });
    const n = res.people.length + res.requests.length;
    out.append(el('h2', { id: 'risultati-titolo', text: n ? `Risultati per «${q}»` : `Nessun risultato per «${q}»` }));
    if (res.people.length) {
      out.append(table({ id: 'persone-trovate', caption: plural(res.people.length, 'persona trovata', 'persone trovate'), cols: [
        ['Nominativo', (p) => [el('span', { class: 'nome', text: fullName(p) }), p.warning ? el('span', { class: 'avvertenza', text: 'Attenzione: ' + p.warning }) : null]],
        ['Codice fiscale', (p) => p.fiscal_code, 'cf'],
        ['Elenco', (p) => [el('a', { href: '#/elenchi/' + p.upload, text: p.file_name || 'Elenco del ' + when(p.uploaded_at) }),
          el('span', { class: 'spiega', text: 'caricato il ' + when(p.uploaded_at) + ' — ' + officeName(p.office) })]],
        ['Richiesta', (p) => (p.batch ? el('a', { href: '#/richieste/' + p.batch, text: protocolText(p.protocol) }) : 'non ancora inviata')],
        ['Stato', (p) => badge(p.state, p.state_label)],
        ['Esito', (p) => (p.certificate ? badge(p.certificate.outcome, p.certificate.outcome_label) : '—')],
        ['Certificato', (p) => (p.certificate ? certButton(p) : '—')],
      ], rows: res.people }).table);
    }
    if (res.requests.length) {
      out.append(table({ id: 'richieste-trovate', caption: plural(res.requests.length, 'richiesta trovata', 'richieste trovate'), cols: [
        ['Richiesta', (b) => el('a', { href: '#/richieste/' + b.id, text: protocolText(b.protocol) })],
        ['Ufficio', (b) => b.office_name],
        ['Persone', (b) => String(b.people)],
        ['Stato', (b) => badge(b.state, b.state_label)],
        ['Creata il', (b) => when(b.created_at)],
      ], rows: res.requests }).table);
    }
    if (!res.complete) {
      out.append(el('p', { class: 'nota', text: 'La ricerca ha letto solo gli elenchi più recenti o ha trovato troppi risultati: precisare la ricerca, per esempio con il codice fiscale.' }));
    }
    nodes.push(out);
    ctx.show('Risultati della ricerca', nodes); // not the query: titles go into the history
    say(n ? `${plural(n, 'risultato', 'risultati')} per «${q}».` : `Nessun risultato per «${q}».`);
  }

  // ---- Triage (protocol office) -------------------------------------------

  const triageFilters = [['open', 'Da smistare'], ['assigned', 'Attribuiti a una richiesta'], ['dismissed', 'Archiviati'], ['all', 'Tutti']];

  async function viewTriage(ctx) {
    const state = triageFilters.some(([k]) => k === ctx.q.get('stato')) ? ctx.q.get('stato') : 'open';
    const res = await api('/triage?state=' + state);
    const sel = el('select', { id: 'filtro-stato' }, triageFilters.map(([k, v]) => el('option', { value: k, text: v, selected: k === state })));
    const f = el('form', { class: 'filtro' }, el('div', { class: 'campo' }, el('label', { for: 'filtro-stato', text: 'Messaggi' }), sel),
      el('button', { type: 'submit', class: 'btn btn-secondario', text: 'Mostra' }));
    f.addEventListener('submit', (ev) => { ev.preventDefault(); go('#/smistamento' + (sel.value === 'open' ? '' : '?stato=' + sel.value)); });
    const nodes = [h1('Smistamento dei messaggi PEC'),
      el('p', { class: 'intro', text: 'Messaggi arrivati nella casella PEC del Comune che il servizio non ha saputo attribuire da solo a una richiesta: ' +
        'per ognuno si indica la richiesta a cui appartiene, oppure lo si archivia con un motivo.' }),
      el('div', { class: 'barra' }, f)];
    if (!res.items.length) {
      nodes.push(el('p', { class: 'vuoto', id: 'smistamento-vuoto', text: state === 'open' ? 'Nessun messaggio da smistare.' : 'Nessun messaggio.' }));
    } else {
      nodes.push(table({ id: 'tabella-smistamento', caption: 'Messaggi', captionHidden: true, cols: [
        ['Messaggio', (it) => el('a', { href: '#/smistamento/' + it.id, class: 'apri-messaggio', 'data-id': it.id,
          text: it.facts.subject || cap(kinds[it.kind] || 'messaggio') })],
        ['Arrivato il', (it) => when(it.created_at)],
        ['Mittente', (it) => it.facts.sender || 'sconosciuto', 'indirizzo'],
        ['Motivo', (it) => it.reason],
        ['Stato', (it) => badge(it.state, triageStates[it.state])],
      ], rows: res.items }).table);
    }
    ctx.show('Smistamento dei messaggi PEC', nodes);
  }

  async function viewTriageItem(ctx, id) {
    const path = '/triage/' + encodeURIComponent(id);
    const it = await api(path);
    const fx = it.facts || {};
    const nodes = [h1(it.state === 'open' ? 'Messaggio da smistare' : (it.state === 'assigned' ? 'Messaggio attribuito' : 'Messaggio archiviato')),
      el('p', { class: 'stato-riga' }, 'Stato: ', badge(it.state, triageStates[it.state], 'stato-messaggio')),
      el('div', { class: 'riquadro', id: 'motivo-messaggio' }, el('h2', { text: 'Perché serve una decisione' }), el('p', { text: it.reason }),
        it.reason_detail ? el('p', { class: 'dettaglio' }, 'Dettaglio tecnico, per l\'assistenza: ', el('span', { lang: 'en', text: it.reason_detail })) : null),
      section('Il messaggio', facts([
        ['Mittente', fx.sender ? fx.sender + (fx.sender_certified ? ' (certificato dal gestore PEC)' : ' (dichiarato dal mittente, non certificato)') : 'sconosciuto'],
        ['È la Procura?', fx.sender_is_procura ? 'Sì: è l\'indirizzo PEC della Procura' : 'No: non è l\'indirizzo PEC della Procura'],
        ['Oggetto', fx.subject || '(senza oggetto)'],
        ['Data del messaggio', fx.date ? when(fx.date) : '—'],
        ['Arrivato nella casella', when(it.created_at) + (it.mailbox ? ' — ' + it.mailbox : '')],
        ['Tipo', cap(kinds[it.kind] || it.kind)],
        ['Firma del gestore PEC', fx.signature ? cap(signatures[fx.signature] || fx.signature) + (fx.signer ? ' — ' + fx.signer : '') : '—'],
        fx.references && fx.references.length ? ['Protocolli citati', fx.references.map((r) => r.reference + (r.date ? ' del ' + day(r.date) : '')).join(', ')] : null,
        ['Allegati', fx.files && fx.files.length ? el('ul', { class: 'allegati' }, fx.files.map((f) => el('li', { text: `${f.name} (${kb(f.size)})` }))) : 'nessuno'],
      ]), messageActions(path, fx))];
    if (it.state === 'assigned' && it.batch) nodes.push(section('Decisione', await assignedTo(it)));
    if (it.state === 'dismissed') nodes.push(section('Decisione', el('p', { text: 'Archiviato il ' + when(it.updated_at) + (it.note ? ' con il motivo: «' + it.note + '»' : '') + '.' })));
    if (it.state === 'open') {
      nodes.push(await assignForm(ctx, path, it));
      nodes.push(dismissForm(ctx, path));
    }
    if (fx.candidates && fx.candidates.length) nodes.push(await candidatesForm(ctx, path, fx.candidates));
    nodes.push(el('p', {}, el('a', { href: '#/smistamento', text: 'Torna ai messaggi da smistare' })));
    ctx.show(nodes[0].textContent, nodes);
  }
  function kb(n) { return n >= 1024 * 1024 ? num.format(n / 1048576) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' kB'; }

  async function assignedTo(it) {
    let label = 'Apri la richiesta';
    try {
      const d = await api('/batches/' + encodeURIComponent(it.batch));
      if (d.batch.protocol.text) label = 'Richiesta ' + d.batch.protocol.text;
    } catch (e) { if (e instanceof SignedOut) throw e; }
    return el('p', {}, 'Attribuito il ' + when(it.updated_at) + ' a: ', el('a', { href: '#/richieste/' + it.batch, text: label }),
      it.note ? ' — nota: «' + it.note + '»' : '', '.');
  }

  function messageActions(path, fx) {
    const box = el('div', { id: 'testo-messaggio' });
    const read = fileButton('Leggi il messaggio', { id: 'leggi-messaggio' }, (b) => busy(b, async () => {
      const m = await api(path + '/message');
      box.replaceChildren(el('h3', { text: 'Testo del messaggio' + (m.subject ? ': ' + m.subject : '') }),
        m.text ? el('pre', { class: 'testo', tabindex: '0', text: m.text }) : el('p', { class: 'vuoto', text: 'Il messaggio non ha testo leggibile.' }),
        m.truncated ? el('p', { class: 'nota', text: 'Il testo è lungo: è mostrata solo la prima parte.' }) : null,
        m.attachments.length ? el('p', { text: 'Allegati: ' + m.attachments.map((a) => a.name).join(', ') + '.' }) : null);
      say('Testo del messaggio mostrato sotto.');
    }));
    const save = fileButton('Scarica il testo del messaggio', { id: 'scarica-messaggio' }, (b) => busy(b, async () => {
      const m = await api(path + '/message');
      const text = [fx.subject ? 'Oggetto: ' + fx.subject : '', fx.sender ? 'Mittente: ' + fx.sender : '', fx.date ? 'Data: ' + when(fx.date) : '', '',
        m.text || '(nessun testo leggibile)', '', m.attachments.length ? 'Allegati: ' + m.attachments.map((a) => a.name).join(', ') : ''].join('\r\n');
      saveBlob(new Blob(['\ufeff' + text], { type: 'text/plain;charset=utf-8' }), 'messaggio-pec.txt');
    }));
    return el('div', {}, el('p', { class: 'nota', text: 'Aprire o scaricare il testo viene registrato nel registro delle operazioni.' }),
      el('p', { class: 'azioni' }, read, save), box);
  }

  // confirm replaces an action's button with a question and two buttons;
  // yes() runs on confirmation.
  function confirm(host, question, yesLabel, yes) {
    const q = el('p', { class: 'domanda', tabindex: '-1', text: question });
    const ok = el('button', { type: 'button', class: 'btn', text: yesLabel });
    const no = el('button', { type: 'button', class: 'btn btn-secondario', text: 'Annulla' });
    const box = el('div', { class: 'conferma', role: 'group', 'aria-label': 'Conferma' }, q, el('p', { class: 'azioni' }, ok, no));
    no.addEventListener('click', () => { box.remove(); host.hidden = false; const f = host.querySelector('button, select, input'); if (f) f.focus(); });
    ok.addEventListener('click', () => busy(ok, yes));
    host.hidden = true;
    host.after(box);
    q.focus();
    return box;
  }

  async function assignForm(ctx, path, it) {
    const res = await api(path + '/requests');
    const reqs = res.requests.filter((r) => r.reference);
    const sel = el('select', { id: 'richiesta-scelta' }, el('option', { value: '', text: reqs.length ? 'Scegliere la richiesta' : 'Nessuna richiesta in corso' }),
      reqs.map((r, i) => el('option', { value: String(i), text: `prot. ${r.reference} del ${day(r.date)} — ${r.office_name || officeName(r.office)} — ` +
        plural(r.people, 'persona', 'persone') + (r.quoted ? ' — citata nel messaggio' : '') })));
    const numIn = el('input', { type: 'text', id: 'prot-riferimento', autocomplete: 'off', 'aria-describedby': 'prot-rif-aiuto' });
    const dateIn = el('input', { type: 'date', id: 'prot-riferimento-data' });
    const note = el('input', { type: 'text', id: 'nota-attribuzione', autocomplete: 'off' });
    const btn = el('button', { type: 'submit', class: 'btn', id: 'attribuisci', text: 'Attribuisci' });
    const form = el('form', { id: 'form-attribuisci', class: 'modulo' },
      el('div', { class: 'campo' }, el('label', { for: 'richiesta-scelta', text: 'Richiesta a cui appartiene il messaggio' }), sel),
      el('details', { class: 'campo' }, el('summary', { text: 'La richiesta non è nell\'elenco: indicare il numero di protocollo' }),
        el('p', { class: 'aiuto', id: 'prot-rif-aiuto', text: 'Il numero come è scritto nella lettera (per esempio CPEC-0000012 o 12) e la data di protocollo.' }),
        el('div', { class: 'campi-affiancati' },
          el('div', { class: 'campo' }, el('label', { for: 'prot-riferimento', text: 'Numero di protocollo' }), numIn),
          el('div', { class: 'campo' }, el('label', { for: 'prot-riferimento-data', text: 'Data di protocollo' }), dateIn))),
      el('div', { class: 'campo' }, el('label', { for: 'nota-attribuzione', text: 'Nota (facoltativa)' }), note), btn);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearNotices();
      let body;
      let label;
      if (numIn.value.trim()) {
        if (!dateIn.value) { fail('Indicare anche la data di protocollo della richiesta.'); dateIn.focus(); return; }
        body = { protocol: numIn.value.trim(), date: dateIn.value };
        label = `prot. ${body.protocol} del ${day(body.date)}`;
      } else if (sel.value !== '') {
        const r = reqs[Number(sel.value)];
        body = { protocol: r.reference, date: r.date };
        label = `prot. ${r.reference} del ${day(r.date)} (${r.office_name || officeName(r.office)})`;
      } else { fail('Scegliere la richiesta a cui appartiene il messaggio, o indicarne il numero di protocollo.'); sel.focus(); return; }
      if (note.value.trim()) body.note = note.value.trim();
      const send = async (extra) => {
        try {
          const r = await api(path + '/assign', post(Object.assign({}, body, extra)));
          go('#/smistamento/' + it.id, 'Messaggio attribuito alla richiesta ' + label + '.' +
            (r.certificates ? ` Certificati registrati: ${r.certificates}.` : '') + (r.remaining ? ' ' + r.remaining : ''));
        } catch (e) {
          if (e instanceof ApiError && e.status === 409 && e.body && e.body.error && e.body.error.code === 'override_required') {
            overrideForm(form, e.body.error, send);
            return;
          }
          throw e;
        }
      };
      confirm(form, `Attribuire il messaggio alla richiesta ${label}? Il servizio lo elaborerà di nuovo come risposta a quella richiesta.`,
        'Conferma l\'attribuzione', () => send({}));
    });
    return section('Attribuisci a una richiesta', form);
  }

  function overrideForm(form, err, send) {
    const old = form.parentNode.querySelector('.conferma');
    if (old) old.remove();
    const why = el('textarea', { id: 'motivo-forzatura', rows: '2', required: true });
    const ok = el('input', { type: 'checkbox', id: 'conferma-forzatura' });
    const btn = el('button', { type: 'submit', class: 'btn', text: 'Attribuisci comunque' });
    const f = el('form', { class: 'modulo conferma', id: 'form-forzatura' },
      el('h3', { tabindex: '-1', text: 'Il messaggio non supera alcuni controlli' }),
      el('ul', {}, (err.checks || []).map((c) => el('li', { text: c.text }))),
      el('p', { text: 'Si può attribuire comunque il messaggio indicando il motivo: la decisione resta nel registro delle operazioni.' }),
      el('div', { class: 'campo' }, el('label', { for: 'motivo-forzatura', text: 'Motivo' }), why),
      el('div', { class: 'campo spunta' }, ok, el('label', { for: 'conferma-forzatura', text: 'Confermo di attribuire il messaggio nonostante i controlli non superati' })),
      el('p', { class: 'azioni' }, btn, el('button', { type: 'button', class: 'btn btn-secondario', text: 'Annulla',
        onclick: () => { f.remove(); form.hidden = false; form.querySelector('select').focus(); } })));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!why.value.trim()) { fail('Indicare il motivo.'); why.focus(); return; }
      if (!ok.checked) { fail('Confermare la scelta.'); ok.focus(); return; }
      busy(btn, () => send({ override: { confirm: true, reason: why.value.trim() } }));
    });
    form.hidden = true;
    form.after(f);
    f.querySelector('h3').focus();
  }

  function dismissForm(ctx, path) {
    const why = el('input', { type: 'text', id: 'motivo-archiviazione', required: true, autocomplete: 'off', 'aria-describedby': 'archivia-aiuto' });
    const form = el('form', { id: 'form-archivia', class: 'modulo' },
      el('p', { class: 'aiuto', id: 'archivia-aiuto', text: 'Per i messaggi che non riguardano nessuna richiesta (pubblicità, comunicazioni di servizio…). Il messaggio resta conservato.' }),
      el('div', { class: 'campo' }, el('label', { for: 'motivo-archiviazione', text: 'Motivo dell\'archiviazione' }), why),
      el('button', { type: 'submit', class: 'btn btn-secondario', id: 'archivia', text: 'Archivia' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearNotices();
      const reason = why.value.trim();
      if (!reason) { fail('Indicare il motivo dell\'archiviazione.'); why.focus(); return; }
      confirm(form, `Archiviare il messaggio con il motivo «${reason}»?`, 'Conferma l\'archiviazione', async () => {
        await api(path + '/dismiss', post({ reason, confirm: true }));
        go(location.hash, 'Messaggio archiviato.');
      });
    });
    return section('Archivia il messaggio', form);
  }

  async function candidatesForm(ctx, path, candidates) {
    const lists = {};
    const forms = [];
    for (const [i, c] of candidates.entries()) {
      const upload = c.subject.replace(/-\d+$/, '');
      if (!(upload in lists)) {
        try { lists[upload] = await api('/uploads/' + encodeURIComponent(upload)); } catch (e) { if (e instanceof SignedOut) throw e; lists[upload] = null; }
      }
      const l = lists[upload];
      const p = l && l.people.find((x) => x.id === c.subject);
      const who = p ? `${fullName(p)} (riga ${p.row} dell'elenco «${l.upload.file_name || when(l.upload.created_at)}»)` : 'Persona di un elenco';
      const name = 'cand-' + i;
      const why = el('input', { type: 'text', id: name + '-motivo', required: true, autocomplete: 'off' });
      const btn = el('button', { type: 'submit', class: 'btn', text: 'Conferma la scelta' });
      const f = el('form', { class: 'modulo' },
        el('fieldset', {}, el('legend', { text: 'Certificato di ' + who }),
          el('div', { class: 'spunta' }, el('input', { type: 'radio', name, id: name + '-a', value: c.standing, checked: true }),
            el('label', { for: name + '-a', text: 'Vale il certificato già registrato' })),
          el('div', { class: 'spunta' }, el('input', { type: 'radio', name, id: name + '-b', value: c.candidate }),
            el('label', { for: name + '-b', text: 'Vale il certificato arrivato con questo messaggio' }))),
        el('div', { class: 'campo' }, el('label', { for: name + '-motivo', text: 'Motivo della scelta' }), why), btn);
      f.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const reason = why.value.trim();
        if (!reason) { fail('Indicare il motivo della scelta.'); why.focus(); return; }
        const sha = f.querySelector(`input[name="${name}"]:checked`).value;
        confirm(f, sha === c.standing ? 'Confermare che vale il certificato già registrato?' : 'Confermare che vale il certificato arrivato con questo messaggio?',
          'Conferma', async () => {
            await api(path + '/certificate', post({ subject: c.subject, sha256: sha, reason }));
            go(location.hash, 'Scelta del certificato registrata.');
          });
      });
      forms.push(f);
    }
    return section('Certificati da confermare',
      el('p', { text: 'Per queste persone è arrivato un secondo certificato: indicare quale vale. L\'altro resta conservato.' }), forms);
  }

  // ---- Report (protocol office) ------------------------------------------

  async function viewReport(ctx) {
    const to = /^\d{4}-\d\d-\d\d$/.test(ctx.q.get('al') || '') ? ctx.q.get('al') : isoDay(new Date());
    const from = /^\d{4}-\d\d-\d\d$/.test(ctx.q.get('dal') || '') ? ctx.q.get('dal') : isoDay(new Date(Date.parse(to + 'T12:00:00Z') - 29 * 86400000));
    const dal = el('input', { type: 'date', id: 'dal', value: from, required: true });
    const al = el('input', { type: 'date', id: 'al', value: to, required: true });
    const form = el('form', { id: 'form-rapporto', class: 'modulo filtro' },
      el('div', { class: 'campo' }, el('label', { for: 'dal', text: 'Dal' }), dal),
      el('div', { class: 'campo' }, el('label', { for: 'al', text: 'Al' }), al),
      el('button', { type: 'submit', class: 'btn btn-secondario', text: 'Mostra' }));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (!dal.value || !al.value || dal.value > al.value) { fail('Indicare un periodo valido: la data «Dal» non può essere successiva alla data «Al».'); dal.focus(); return; }
      go(`#/rapporto?dal=${dal.value}&al=${al.value}`);
    });
    const qs = `?from=${from}&to=${to}`;
    const rep = await api('/report' + qs);
    const all = [];
    for (const t of rep.tenants) all.push(...t.offices);
    const offices = all.filter((o) => o.requests || o.overdue || o.failed);
    const span = (h) => (h === null || h === undefined ? '—' : (h < 1 ? Math.max(1, Math.round(h * 60)) + ' min' : num.format(h) + ' h'));
    const hours = (p) => (p.p50 === null || p.p50 === undefined ? '—' : `${span(p.p50)} (90%: ${span(p.p90)})`);
    const nodes = [h1('Tempi e costi delle richieste'),
      el('p', { class: 'intro', text: 'Per ogni ufficio: le richieste inviate alla Procura nel periodo, i tempi (mediana e 90° percentile: ' +
        'nove richieste su dieci entro quel tempo), le richieste in ritardo e quelle non riuscite.' }),
      form,
      el('p', { class: 'riepilogo', id: 'periodo' }, `Periodo: dal ${day(rep.from)} al ${day(rep.to)}.`),
      el('p', { class: 'azioni' }, fileButton('Scarica il rapporto (Excel)', { id: 'rapporto-xlsx' },
        (b) => apiFile(b, '/report.xlsx' + qs, `tempi-e-costi-${rep.from}-${rep.to}.xlsx`)))];
    nodes.push(offices.length ? table({ id: 'tabella-rapporto', caption: 'Richieste e tempi per ufficio', cols: [
      ['Ufficio', (o) => o.office_name || officeName(o.office)],
      ['Richieste inviate', (o) => String(o.requests), 'numero'],
      ['Persone', (o) => String(o.people), 'numero'],
      ['Dal caricamento all\'invio', (o) => hours(o.turnaround_hours.upload_to_sent)],
      ['Dall\'invio alla consegna', (o) => hours(o.turnaround_hours.sent_to_delivered)],
      ['Dall\'invio alla risposta', (o) => hours(o.turnaround_hours.sent_to_reply)],
      ['Dal caricamento al certificato', (o) => hours(o.turnaround_hours.upload_to_certified)],
      ['In ritardo', (o) => String(o.overdue), 'numero'],
      ['Non riuscite', (o) => String(o.failed), 'numero'],
    ], rows: offices }).table : el('p', { class: 'vuoto', text: 'Nessuna richiesta nel periodo.' }));
    if (offices.length && offices.length < all.length) {
      nodes.push(el('p', { class: 'nota', text: `Gli uffici senza richieste nel periodo non sono elencati (${all.length - offices.length}).` }));
    }
    const failures = [];
    for (const o of offices) for (const f of o.failures || []) failures.push(Object.assign({ office_name: o.office_name || officeName(o.office) }, f));
    nodes.push(section('Richieste non riuscite per motivo', failures.length ? table({ id: 'tabella-motivi', caption: 'Richieste non riuscite per motivo',
      captionHidden: true, cols: [['Ufficio', (f) => f.office_name], ['Motivo', (f) => f.text], ['Richieste', (f) => String(f.requests), 'numero'],
        ['Persone', (f) => String(f.people), 'numero']], rows: failures }).table
      : el('p', { class: 'vuoto', text: 'Nessuna richiesta non riuscita nel periodo.' })));
    nodes.push(section('Costo', el('p', { id: 'costo', text: rep.cost.per_request_eur === null || rep.cost.per_request_eur === undefined
      ? 'Costo stimato per richiesta: non disponibile per questo periodo.' : 'Costo stimato per richiesta: ' + euro.format(rep.cost.per_request_eur) + '.' }),
    rep.cost.basis ? el('details', { 'data-chiave': 'base-costo' }, el('summary', { text: 'Come è stimato il costo (dettaglio tecnico in inglese)' }),
      el('p', { lang: 'en', class: 'dettaglio', text: rep.cost.basis })) : null));
    ctx.show('Tempi e costi', nodes);
  }

  // ---- Start -------------------------------------------------------------

  function footer() {
    const links = (cfg && cfg.links) || {};
    for (const [id, url] of [['link-accessibilita', links.accessibility], ['link-privacy', links.privacy], ['link-note-legali', links.legal]]) {
      const a = $(id);
      if (url && /^https?:\/\//i.test(url)) { a.href = url; a.parentNode.hidden = false; } else { a.removeAttribute('href'); a.parentNode.hidden = true; }
    }
  }

  async function boot() {
    $('esci').addEventListener('click', signOut);
    $('salta').addEventListener('click', (ev) => { ev.preventDefault(); const h = $('vista').querySelector('h1'); (h || $('contenuto')).focus(); });
    window.addEventListener('hashchange', route);
    try { cfg = await api('/config', { anonymous: true }); } catch (e) { cfg = null; }
    footer();
    const q = new URLSearchParams(location.search);
    if (q.has('code') || q.has('error')) {
      try {
        await finishSignIn(q);
      } catch (e) {
        showSignIn();
        fail(e.message);
        return;
      }
    }
    const token = sessionStorage.getItem(TOKEN);
    if (!token) {
      showSignIn();
      if (sessionStorage.getItem(BYE)) {
        sessionStorage.removeItem(BYE);
        say('Uscita effettuata.');
      }
      return;
    }
    const c = claims(token);
    if (c && c.exp && c.exp * 1000 < Date.now()) { lapsed('La sessione è scaduta: accedere di nuovo.'); return; }
    await enter();
  }

  document.addEventListener('DOMContentLoaded', () => { boot().catch(shown); });
})();
