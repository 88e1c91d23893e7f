// Casellario PEC: the offices' web page. No framework, no build step.
// Personal data never goes into URLs: only ids do. Text is always set with
// textContent, never as HTML.
'use strict';
(function () {
  const KEY = 'casellario.token';
  const $ = (id) => document.getElementById(id);
  let me = null;
  let timer = null;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  function notice(msg, isError) {
    const a = $('avviso');
    a.className = 'avviso' + (isError ? ' errore' : '');
    a.setAttribute('role', isError ? 'alert' : 'status');
    a.textContent = msg || '';
  }

  const dateFmt = new Intl.DateTimeFormat('it-IT', { dateStyle: 'short', timeStyle: 'short', timeZone: 'Europe/Rome' });
  function when(s) { if (!s || s.startsWith('0001-')) return '—'; const d = new Date(s); return isNaN(d) ? '—' : dateFmt.format(d); }

  const uploadStates = { received: 'in verifica', queued: 'in attesa di invio', rejected: 'scartato', completed: 'completato' };
  const batchStates = { queued: 'in coda', protocolled: 'protocollata', sent: 'inviata', accepted: 'accettata', delivered: 'consegnata',
    replied: 'risposta ricevuta', completed: 'completata', failed: 'errore' };
  const personStates = { pending: 'in attesa', batched: 'richiesto', certified: 'certificato arrivato', failed: 'non riuscito' };
  const outcomes = { nullo: 'nullo', positivo: 'positivo', unknown: 'da verificare' };

  class ApiError extends Error { constructor(status, code, msg) { super(msg); this.status = status; this.code = code; } }

  async function api(path, opts) {
    opts = opts || {};
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    const token = sessionStorage.getItem(KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const resp = await fetch('/api/v1' + path, Object.assign({}, opts, { headers }));
    const ctype = resp.headers.get('Content-Type') || '';
    if (!resp.ok) {
      let code = 'http', msg = 'Errore ' + resp.status;
      if (ctype.includes('json')) { try { const b = await resp.json(); code = b.error.code; msg = b.error.message; } catch (e) { /* keep */ } }
      if (resp.status === 401) signOut('Sessione scaduta o non valida: accedere di nuovo.');
      throw new ApiError(resp.status, code, msg);
    }
    if (opts.raw) return resp;
    return ctype.includes('json') ? resp.json() : resp.text();
  }

  // Sign in.
  async function showLogin() {
    $('app').hidden = true; $('nav').hidden = true; $('utente').hidden = true; $('accesso').hidden = false;
    try {
      const cfg = await api('/config');
      if (cfg.login_url) {
        $('accedi-sso').hidden = false;
        $('link-sso').href = cfg.login_url;
      }
      if (cfg.dev) {
        const users = await api('/dev/users');
        const sel = $('utente-demo');
        sel.replaceChildren();
        users.forEach((u, i) => {
          const label = (u.role === 'protocol' ? 'Ufficio protocollo' : 'Ufficio ' + u.office) + ' — ' + u.tenant + ' (' + u.name + ')';
          sel.append(el('option', { value: String(i), text: label }));
        });
        $('form-demo').hidden = false;
        $('form-demo').onsubmit = (ev) => { ev.preventDefault(); signIn(users[Number(sel.value)].token); };
      }
    } catch (e) { notice(e.message, true); }
  }

  async function signIn(token) {
    sessionStorage.setItem(KEY, token.trim());
    try {
      await start();
      notice('Accesso effettuato.');
    } catch (e) { sessionStorage.removeItem(KEY); notice(e.message, true); }
  }

  function signOut(msg) {
    sessionStorage.removeItem(KEY);
    me = null;
    if (timer) { clearInterval(timer); timer = null; }
    showLogin();
    if (msg) notice(msg, true);
  }

  async function start() {
    me = await api('/me');
    $('accesso').hidden = true; $('app').hidden = false; $('nav').hidden = false; $('utente').hidden = false;
    $('ente').textContent = me.tenant_name;
    const role = me.role === 'protocol' ? 'ufficio protocollo' : (me.offices[0] ? me.offices[0].name : me.office);
    $('utente-nome').textContent = me.name + ' — ' + role;
    const prot = me.role === 'protocol';
    $('campo-ufficio').hidden = !prot;
    $('smistamento').hidden = !prot; $('nav-triage').hidden = !prot;
    const sel = $('ufficio');
    sel.replaceChildren(...me.offices.map((o) => el('option', { value: o.code, text: o.name + ' (' + o.code + ')' })));
    await refresh();
    if (!timer) timer = setInterval(() => { if (!document.hidden && me) refresh().catch(() => {}); }, 10000);
    $('contenuto').focus();
  }

  async function refresh() {
    const jobs = [loadUploads(), loadBatches()];
    if (me && me.role === 'protocol') jobs.push(loadTriage());
    await Promise.all(jobs);
  }

  // Upload.
  async function upload(ev) {
    ev.preventDefault();
    const f = $('file').files[0];
    const out = $('esito');
    if (!f) { notice('Scegliere il file da caricare.', true); $('file').focus(); return; }
    const fd = new FormData();
    fd.append('file', f);
    if (me.role === 'protocol') fd.append('office', $('ufficio').value);
    $('carica-btn').disabled = true;
    out.replaceChildren(el('p', { text: 'Caricamento e verifica in corso…' }));
    try {
      const res = await api('/uploads', { method: 'POST', body: fd });
      showValidation(res);
      $('form-carica').reset();
      await loadUploads();
    } catch (e) {
      out.replaceChildren(el('p', { class: 'ko', text: e.message }));
    } finally { $('carica-btn').disabled = false; }
  }

  function showValidation(res) {
    const out = $('esito');
    const v = res.validation;
    if (v.error) {
      out.replaceChildren(el('h3', { text: 'Il file non può essere letto' }), el('p', { class: 'ko', id: 'esito-riepilogo', text: v.error.message }));
      return;
    }
    const s = v.summary;
    const parts = [el('h3', { text: 'Esito della verifica' }),
      el('p', { class: 'riepilogo', id: 'esito-riepilogo',
        text: `Righe: ${s.rows}. Accettate: ${s.valid}. Scartate: ${s.invalid}` + (s.duplicates ? ` (di cui ${s.duplicates} duplicate).` : '.') })];
    const bad = v.rows.filter((r) => !r.valid);
    if (bad.length) {
      const tbody = el('tbody');
      for (const r of bad) {
        tbody.append(el('tr', { class: 'riga-scartata', 'data-row': String(r.row) },
          el('td', { text: String(r.row) }),
          el('td', { text: [r.person.surname, r.person.name].filter(Boolean).join(' ') || '—' }),
          el('td', { class: 'motivo', text: r.errors.map((p) => p.message).join(' ') })));
      }
      parts.push(el('table', { id: 'righe-scartate' }, el('caption', { text: 'Righe scartate e motivo' }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Riga' }), el('th', { scope: 'col', text: 'Nominativo' }),
          el('th', { scope: 'col', text: 'Motivo' }))), tbody));
    }
    if (s.valid > 0) parts.push(el('p', { class: 'ok', text: 'Le persone accettate saranno protocollate e inviate alla Procura con la prossima richiesta.' }));
    out.replaceChildren(...parts);
  }

  // Downloads that need the token: fetch and save as a blob.
  async function download(path, name) {
    try {
      const resp = await api(path, { raw: true });
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      const a = el('a', { href: url, download: name });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) { notice(e.message, true); }
  }

  async function loadUploads() {
    const box = $('lista-elenchi');
    const res = await api('/uploads');
    if (!res.uploads.length) { box.replaceChildren(el('p', { class: 'vuoto', text: 'Nessun elenco caricato.' })); return; }
    const tbody = el('tbody');
    for (const u of res.uploads) {
      const actions = el('td');
      if (u.has_report) {
        actions.append(el('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Rapporto',
          'aria-label': 'Scarica il rapporto di verifica dell\'elenco del ' + when(u.created_at),
          onclick: () => download('/uploads/' + u.id + '/report.json', 'rapporto-' + u.id + '.json') }));
        if (u.counts.invalid > 0) {
          actions.append(' ', el('button', { type: 'button', class: 'btn btn-secondary btn-small', text: 'Righe scartate (CSV)',
            'aria-label': 'Scarica le righe scartate dell\'elenco del ' + when(u.created_at),
            onclick: () => download('/uploads/' + u.id + '/refused.csv', 'righe-scartate-' + u.id + '.csv') }));
        }
      }
      tbody.append(el('tr', {}, el('td', { text: when(u.created_at) }), el('td', { text: u.office }),
        el('td', {}, el('span', { class: 'stato', text: uploadStates[u.state] || u.state })),
        el('td', { text: `${u.counts.valid} accettate, ${u.counts.invalid} scartate` }), actions));
    }
    box.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, ...['Caricato il', 'Ufficio', 'Stato', 'Righe', 'Documenti']
      .map((t) => el('th', { scope: 'col', text: t })))), tbody));
  }

  async function loadBatches() {
    const box = $('lista-richieste');
    const res = await api('/batches');
    if (!res.batches.length) { box.replaceChildren(el('p', { class: 'vuoto', text: 'Nessuna richiesta ancora inviata.' })); return; }
    const tbody = el('tbody');
    for (const b of res.batches) {
      const prot = b.protocol.number ? `n. ${b.protocol.number} del ${b.protocol.date.split('-').reverse().join('/')}` : '—';
      tbody.append(el('tr', {}, el('td', { text: when(b.created_at) }), el('td', { text: b.office }), el('td', { text: prot }),
        el('td', { text: String(b.people) }), el('td', {}, el('span', { class: 'stato', 'data-state': b.state, text: batchStates[b.state] || b.state })),
        el('td', {}, el('button', { type: 'button', class: 'btn btn-secondary btn-small apri-richiesta', 'data-id': b.id, text: 'Dettagli',
          'aria-label': 'Dettagli della richiesta ' + prot, onclick: () => openBatch(b.id) }))));
    }
    box.replaceChildren(el('table', {}, el('thead', {}, el('tr', {}, ...['Creata il', 'Ufficio', 'Protocollo', 'Persone', 'Stato', '']
      .map((t) => el('th', { scope: 'col', text: t })))), tbody));
    const open = $('dettaglio').dataset.id;
    if (open) await openBatch(open, true);
  }

  async function openBatch(id, quiet) {
    const box = $('dettaglio');
    let d;
    try { d = await api('/batches/' + id); } catch (e) { notice(e.message, true); return; }
    box.dataset.id = id;
    const tl = el('ol', { class: 'timeline', 'aria-label': 'Avanzamento della richiesta' });
    for (const s of d.timeline) {
      tl.append(el('li', { class: s.state === 'failed' ? 'errore' : (s.at ? 'fatto' : ''), 'data-step': s.state },
        el('span', { class: 'passo', text: s.label }), el('span', { text: s.at ? when(s.at) : 'non ancora' })));
    }
    const tbody = el('tbody');
    for (const p of d.people) {
      const cell = el('td');
      if (p.certificate) {
        cell.append(el('button', { type: 'button', class: 'btn btn-small scarica-certificato', 'data-subject': p.id, text: 'Scarica certificato',
          'aria-label': 'Scarica il certificato di ' + p.surname + ' ' + p.name, onclick: () => certificate(p.id, cell) }));
      } else cell.append(el('span', { class: 'vuoto', text: 'non ancora disponibile' }));
      tbody.append(el('tr', {}, el('td', { text: p.surname + ' ' + p.name }), el('td', { text: p.fiscal_code }),
        el('td', { text: personStates[p.state] || p.state }), el('td', { text: p.certificate ? (outcomes[p.certificate.outcome] || p.certificate.outcome) : '—' }), cell));
    }
    const b = d.batch;
    box.replaceChildren(el('h3', { text: 'Richiesta ' + (b.protocol.number ? 'prot. n. ' + b.protocol.number : b.id) + ' — ' + (batchStates[b.state] || b.state) }),
      tl, b.reason ? el('p', { class: 'ko', text: 'Motivo dell\'errore: ' + b.reason }) : '',
      el('table', {}, el('caption', { text: 'Persone della richiesta' }), el('thead', {}, el('tr', {}, ...['Nominativo', 'Codice fiscale', 'Stato', 'Esito', 'Certificato']
        .map((t) => el('th', { scope: 'col', text: t })))), tbody));
    if (!quiet) box.focus();
  }

  async function certificate(subject, cell) {
    try {
      const res = await api('/certificates/' + encodeURIComponent(subject));
      let link = cell.querySelector('a.link-certificato');
      if (!link) { link = el('a', { class: 'link-certificato', target: '_blank', rel: 'noopener' }); cell.append(' ', link); }
      link.href = res.url;
      link.textContent = 'Apri il PDF (link valido pochi minuti)';
      link.focus();
      notice('Certificato pronto: il collegamento scade alle ' + when(res.expires_at) + '.');
    } catch (e) { notice(e.message, true); }
  }

  // Triage (protocol office).
  async function loadTriage() {
    const box = $('lista-smistamento');
    const res = await api('/triage');
    if (!res.items.length) { box.replaceChildren(el('p', { class: 'vuoto', text: 'Nessun messaggio da smistare.' })); return; }
    const list = el('div');
    for (const it of res.items) {
      const bid = 'batch-' + it.id, rid = 'motivo-' + it.id;
      const assign = el('form', { class: 'campo', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          const r = await api('/triage/' + it.id + '/assign', { method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ batch: $(bid).value }) });
          notice('Messaggio attribuito alla richiesta.' + (r.certificates ? ` Certificati registrati: ${r.certificates}.` : '') + (r.remaining ? ' Ancora da verificare: ' + r.remaining : ''));
          await refresh();
        } catch (e) { notice(e.message, true); }
      } }, el('label', { for: bid, text: 'Identificativo della richiesta' }), el('input', { type: 'text', id: bid, required: true, autocomplete: 'off' }),
      ' ', el('button', { type: 'submit', class: 'btn btn-small', text: 'Attribuisci' }));
      const dismiss = el('form', { class: 'campo', onsubmit: async (ev) => {
        ev.preventDefault();
        try {
          await api('/triage/' + it.id + '/dismiss', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: $(rid).value }) });
          notice('Messaggio archiviato.');
          await refresh();
        } catch (e) { notice(e.message, true); }
      } }, el('label', { for: rid, text: 'Motivo dell\'archiviazione' }), el('input', { type: 'text', id: rid, required: true }),
      ' ', el('button', { type: 'submit', class: 'btn btn-secondary btn-small', text: 'Archivia' }));
      list.append(el('article', { class: 'card' }, el('h3', { text: 'Messaggio del ' + when(it.created_at) + ' (' + it.kind + ')' }),
        el('p', { text: 'Motivo: ' + it.reason }), assign, dismiss));
    }
    box.replaceChildren(list);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('form-carica').addEventListener('submit', upload);
    $('aggiorna').addEventListener('click', () => refresh().then(() => notice('Elenco aggiornato.')).catch((e) => notice(e.message, true)));
    $('logout').addEventListener('click', () => signOut());
    $('form-token').addEventListener('submit', (ev) => { ev.preventDefault(); signIn($('token').value); });
    $('modello').addEventListener('click', (ev) => { ev.preventDefault(); download('/template.xlsx', 'modello-elenco-casellario.xlsx'); });
    // Cognito hosted UI (implicit flow) returns the ID token in the fragment.
    const frag = new URLSearchParams(location.hash.slice(1));
    if (frag.get('id_token')) { history.replaceState(null, '', location.pathname); signIn(frag.get('id_token')); return; }
    if (sessionStorage.getItem(KEY)) start().catch(() => signOut()); else showLogin();
  });
})();
