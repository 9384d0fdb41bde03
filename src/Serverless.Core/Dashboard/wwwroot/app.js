// The customer dashboard. Plain ES module, no dependencies, no build step.
//
// Safety rules this file keeps:
//  - Text from the server (key names, model ids, ...) only ever reaches the page through textContent or
//    attribute setters, never through innerHTML; the page's CSP also forbids inline script and style.
//  - The one piece of markup taken from the server is the chart, our own SVG, parsed as XML (scripts in it
//    never run) and imported as nodes.
//  - The API key typed to sign in is sent once and cleared; nothing is written to localStorage or cookies
//    (the session cookie is HttpOnly and set by the server).
//  - Every POST and DELETE carries the session's CSRF token in X-CSRF-Token.
//  - Files download through plain same-origin links to /dashboard/api/files/{id}/content: the session cookie
//    authenticates them, so no API key is ever in the page.

const API = '/dashboard/api';

const state = {
  session: null,
  overview: null,
  keys: [],
  requestCursors: [null], // the ?before= cursor of each page seen; index = page number - 1
  requestPage: 0,
  batchCursors: [null], // as requestCursors, for the batch jobs
  batchPage: 0,
  batchTimer: 0,
  chartWidth: 0,
};

// ---------------------------------------------------------------------------------------------------------
// Small DOM and formatting helpers

const $ = (selector) => document.querySelector(selector);

/** Creates an element; string children become text nodes, so they can never be markup. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const dayFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
const longDayFormat = new Intl.DateTimeFormat('en-US', { month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
const monthFormat = new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const timeFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZone: 'UTC' });

const tokens = (n) => integer.format(n);

/**
 * Micro-USD as an exact dollar amount: "$12.34" with any further digits (down to the micro-dollar) in a
 * smaller span, so the page shows exactly what the ledger holds while cents stay easy to read.
 */
function money(micro, attributes = {}) {
  const negative = micro < 0;
  const absolute = Math.abs(micro);
  const dollars = Math.floor(absolute / 1e6);
  const fraction = String(absolute % 1e6).padStart(6, '0');
  const rest = fraction.slice(2).replace(/0+$/, '');
  const exact = `${negative ? '-' : ''}$${integer.format(dollars)}.${fraction}`;
  return h('span', { class: 'money', 'data-value': micro, title: exact, ...attributes },
    `${negative ? '-' : ''}$${integer.format(dollars)}.${fraction.slice(0, 2)}`,
    rest ? h('span', { class: 'micro' }, rest) : null);
}

/** An integer with its exact value in data-value (what the tests compare with the usage API). */
const count = (n, attributes = {}) => h('span', { 'data-value': n, ...attributes }, tokens(n));

const day = (seconds) => dayFormat.format(new Date(seconds * 1000));
const longDay = (seconds) => longDayFormat.format(new Date(seconds * 1000));

function relative(seconds) {
  if (!seconds) return 'Never';
  const diff = Date.now() / 1000 - seconds;
  if (diff < 90) return 'Just now';
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86400 * 2) return `${Math.round(diff / 3600)} h ago`;
  return day(seconds);
}

function badge(text, tone) {
  return h('span', { class: `badge${tone ? ` badge-${tone}` : ''}` }, text);
}

function emptyRow(table, columns, text) {
  table.tBodies[0].replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: columns }, text)));
}

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

// ---------------------------------------------------------------------------------------------------------
// API calls

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

class SessionEnded extends Error {}

async function api(path, { method = 'GET', body, text = false } = {}) {
  const headers = { Accept: text ? 'image/svg+xml' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session?.csrf_token) headers['X-CSRF-Token'] = state.session.csrf_token;
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const isJson = (response.headers.get('content-type') || '').includes('application/json');
  const payload = isJson ? await response.json() : await response.text();
  if (!response.ok) {
    const error = isJson && payload && payload.error ? payload.error : {};
    if (response.status === 401 && state.session && !path.startsWith('/session')) {
      endSession('Your session has ended. Sign in again to continue.');
      throw new SessionEnded();
    }
    throw new ApiError(response.status, error.message || `Request failed (${response.status}).`, error.code);
  }
  return payload;
}

/** Runs a section loader; a failure shows in that section only, and an ended session is not an error. */
async function guarded(task, onError) {
  try {
    await task();
  } catch (error) {
    if (error instanceof SessionEnded) return;
    onError(error instanceof ApiError ? error.message : 'Something went wrong. Try again.');
  }
}

// ---------------------------------------------------------------------------------------------------------
// Signing in and out

function showView(name) {
  // data-state tells scripts and tests where the page is: loading, signed-out or ready.
  document.body.dataset.state = name === 'signin' ? 'signed-out' : 'loading';
  $('#loading').hidden = true;
  $('#signin-view').hidden = name !== 'signin';
  $('#app-view').hidden = name !== 'app';
}

function showSignIn(message) {
  state.session = null;
  clearTimeout(state.batchTimer);
  showView('signin');
  showError($('#signin-error'), message || '');
  $('#api-key').setAttribute('aria-invalid', message ? 'true' : 'false');
  $('#api-key').focus();
}

function endSession(message) {
  showSignIn(message);
}

async function signIn(event) {
  event.preventDefault();
  const input = $('#api-key');
  const key = input.value.trim();
  if (!key) {
    showError($('#signin-error'), 'Enter an API key.');
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const button = $('#signin-submit');
  button.disabled = true;
  try {
    const session = await api('/session', { method: 'POST', body: { api_key: key } });
    input.value = '';
    await startApp(session);
  } catch (error) {
    showError($('#signin-error'), error instanceof ApiError ? error.message : 'Could not sign in. Try again.');
    input.setAttribute('aria-invalid', 'true');
    input.select();
  } finally {
    button.disabled = false;
  }
}

async function signOut() {
  try {
    await api('/session', { method: 'DELETE' });
  } catch (error) {
    if (!(error instanceof SessionEnded) && !(error instanceof ApiError)) throw error;
  }
  showSignIn('');
  showError($('#signin-error'), '');
}

// ---------------------------------------------------------------------------------------------------------
// The sections. Each has a loader and the permission of the session's key it needs (the server refuses the section's
// API without it); SECTIONS lists them in page order.

const SECTIONS = [
  { id: 'overview', load: loadOverview, permission: 'usage.read' },
  { id: 'requests', load: () => loadRequests(0), permission: 'usage.read' },
  { id: 'batches', load: () => loadBatches(0), permission: 'batches' },
  { id: 'keys', load: loadKeys, permission: null },
  { id: 'billing', load: loadBilling, permission: 'usage.read' },
];

function sectionById(id) {
  return SECTIONS.find((s) => s.id === id);
}

function allowed(section) {
  return !section.permission || (state.session?.permissions || []).includes(section.permission);
}

// Sections the session's key may not read are left out of the page and its navigation, and a note says why.
function showAllowedSections() {
  const missing = new Set();
  for (const section of SECTIONS) {
    const shown = allowed(section);
    $(`#${section.id}`).hidden = !shown;
    const link = document.querySelector(`.nav a[href="#${section.id}"]`);
    if (link) link.hidden = !shown;
    if (!shown) missing.add(section.permission);
  }

  const note = $('#permissions-note');
  note.textContent = missing.size
    ? `The key you signed in with lacks ${[...missing].join(' and ')}, so what needs ${missing.size > 1 ? 'them' : 'it'} is not shown here.`
    : '';
  note.hidden = missing.size === 0;
}

async function startApp(session) {
  state.session = session;
  state.requestCursors = [null];
  state.requestPage = 0;
  state.batchCursors = [null];
  state.batchPage = 0;
  $('#customer-name').textContent = session.customer_name || session.customer;
  $('#customer-name').title = `Customer ${session.customer}`;
  configureKeyForm(session);
  showAllowedSections();
  showView('app');
  await loadAll();
}

async function loadAll() {
  document.body.dataset.state = 'loading';
  // Keys first: the requests table shows key names.
  const keys = sectionById('keys');
  await keys.load();
  await Promise.all(SECTIONS.filter((s) => s !== keys && allowed(s)).map((s) => s.load()));
  if (state.session) document.body.dataset.state = 'ready';
}

function banner(message, tone) {
  const element = $('#banner');
  element.textContent = message || '';
  element.className = `banner${tone === 'bad' ? ' banner-bad' : ''}`;
  element.hidden = !message;
}

async function loadOverview() {
  await guarded(async () => {
    const overview = await api('/overview');
    state.overview = overview;
    renderOverview(overview);
    await loadChart(true);
  }, (message) => banner(`Usage could not be loaded: ${message}`, 'bad'));
}

function renderOverview(o) {
  const period = o.period;
  $('#period-label').textContent = `${monthFormat.format(new Date(o.period_start * 1000))} · ${day(o.period_start)} – ${day(o.period_end - 1)} (UTC)`;
  $('#period-cost').replaceChildren(money(period.cost_micro_usd, { id: 'period-cost-value' }));
  $('#period-requests').replaceChildren(count(period.requests, { id: 'period-requests-value' }), period.requests === 1 ? ' request' : ' requests');
  $('#period-prompt-tokens').replaceChildren(count(period.prompt_tokens, { id: 'period-prompt-tokens-value' }));
  $('#period-completion-tokens').replaceChildren(count(period.completion_tokens, { id: 'period-completion-tokens-value' }));

  const forecast = o.forecast;
  $('#forecast-cost').replaceChildren(money(forecast.forecast_micro_usd, { id: 'forecast-value' }));
  $('#forecast-sub').textContent = `By ${day(o.period_end - 1)}, at the last 7 days' rate`;

  renderBudget(o);

  const dailyRows = [...o.daily].reverse().map((d) => h('tr', { 'data-day': d.day },
    h('td', {}, d.day),
    h('td', { class: 'num' }, count(d.requests)),
    h('td', { class: 'num' }, count(d.prompt_tokens)),
    h('td', { class: 'num' }, count(d.completion_tokens)),
    h('td', { class: 'num' }, money(d.cost_micro_usd))));
  $('#daily-table').tBodies[0].replaceChildren(...dailyRows);

  renderBreakdown($('#by-model'), o.by_model, (g) => h('td', { class: 'cell-name mono' }, g.group), 'No usage this month yet.');
  renderBreakdown($('#by-key'), o.by_key, (g) => h('td', { class: 'cell-name' }, h('span', { class: 'key-name' }, g.name ?? g.group), h('span', { class: 'cell-sub mono' }, g.group)), 'No usage this month yet.');
}

function renderBreakdown(table, groups, label, emptyText) {
  if (groups.length === 0) {
    emptyRow(table, 5, emptyText);
    return;
  }
  const sorted = [...groups].sort((a, b) => b.cost_micro_usd - a.cost_micro_usd || b.requests - a.requests);
  table.tBodies[0].replaceChildren(...sorted.map((g) => h('tr', { 'data-group': g.group },
    label(g),
    h('td', { class: 'num' }, count(g.requests, { 'data-field': 'requests' })),
    h('td', { class: 'num' }, count(g.prompt_tokens, { 'data-field': 'prompt_tokens' })),
    h('td', { class: 'num' }, count(g.completion_tokens, { 'data-field': 'completion_tokens' })),
    h('td', { class: 'num' }, money(g.cost_micro_usd, { 'data-field': 'cost_micro_usd' })))));
}

function progress(label, used, cap, forecastValue) {
  const percent = cap > 0 ? Math.min(100, (used / cap) * 100) : 100;
  const fill = h('div', { class: `progress-fill${used >= cap ? ' over' : percent >= 80 ? ' warn' : ''}` });
  fill.style.width = `${percent.toFixed(1)}%`; // CSSOM, which the CSP allows (unlike style attributes)
  const bar = h('div', {
    class: 'progress', role: 'progressbar', 'aria-label': label,
    'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(percent),
  }, fill);
  if (forecastValue !== undefined && cap > 0 && forecastValue > used) {
    const marker = h('div', { class: 'progress-forecast', title: 'Forecast for the end of the month' });
    marker.style.left = `${Math.min(99.5, (forecastValue / cap) * 100).toFixed(1)}%`;
    bar.append(marker);
  }
  return bar;
}

function renderBudget(o) {
  const budget = o.budget;
  const period = o.period;
  $('#budget-reset').textContent = `Resets ${longDay(o.period_end)}`;

  const spendRow = $('#budget-spend');
  if (budget.spend_cap_micro_usd !== null && budget.spend_cap_micro_usd !== undefined) {
    const cap = budget.spend_cap_micro_usd;
    spendRow.replaceChildren(
      h('div', { class: 'budget-line' }, h('strong', {}, 'Spend'), h('span', {}, money(period.cost_micro_usd), ' of ', money(cap, { id: 'spend-cap-value' }))),
      progress('Spend against the monthly spend cap', period.cost_micro_usd, cap, o.forecast.forecast_micro_usd));
  } else {
    spendRow.replaceChildren(
      h('div', { class: 'budget-line' }, h('strong', {}, 'Spend'), h('span', {}, money(period.cost_micro_usd), ' · no spend cap')),
      h('p', { class: 'hint' }, 'No monthly spend cap is set for your account.'));
  }

  const tokenRow = $('#budget-tokens');
  const used = period.prompt_tokens + period.completion_tokens;
  if (budget.token_cap !== null && budget.token_cap !== undefined) {
    tokenRow.replaceChildren(
      h('div', { class: 'budget-line' }, h('strong', {}, 'Tokens'), h('span', {}, count(used), ' of ', count(budget.token_cap, { id: 'token-cap-value' }))),
      progress('Tokens against the monthly token cap', used, budget.token_cap));
  } else {
    tokenRow.replaceChildren(
      h('div', { class: 'budget-line' }, h('strong', {}, 'Tokens'), h('span', {}, count(used), ' · no token cap')),
      h('p', { class: 'hint' }, 'No monthly token cap is set for your account.'));
  }

  const note = $('#budget-note');
  const forecast = o.forecast;
  note.className = 'budget-note';
  const parts = ['At the average rate of the last 7 days, this month will end at about ', h('strong', {}, money(forecast.forecast_micro_usd)), '.'];
  if (budget.spend_cap_micro_usd !== null && budget.spend_cap_micro_usd !== undefined) {
    if (period.cost_micro_usd >= budget.spend_cap_micro_usd) {
      note.className = 'budget-note warn';
      parts.push(' ', h('strong', {}, 'The spend cap is reached:'), ' requests are refused until the month resets or the cap is raised.');
    } else if (forecast.exceeds_budget && forecast.budget_reached_at) {
      note.className = 'budget-note warn';
      parts.push(' ', h('strong', {}, `That is over your cap, which would be reached around ${longDay(forecast.budget_reached_at)}.`));
    } else {
      parts.push(' That is within your cap.');
    }
  }
  note.replaceChildren(...parts);
}

async function loadChart(force) {
  const container = $('#chart');
  const width = Math.max(280, Math.min(1600, Math.round(container.clientWidth || 960)));
  if (!force && Math.abs(width - state.chartWidth) < 40) return;
  state.chartWidth = width;
  await guarded(async () => {
    const svgText = await api(`/chart?width=${width}`, { text: true });
    const parsed = new DOMParser().parseFromString(svgText, 'image/svg+xml');
    const root = parsed.documentElement;
    if (root.nodeName !== 'svg') throw new ApiError(500, 'The chart could not be drawn.');
    container.replaceChildren(document.importNode(root, true));
    container.setAttribute('aria-busy', 'false');
  }, (message) => {
    container.replaceChildren(h('p', { class: 'muted' }, `The chart could not be loaded: ${message}`));
    container.setAttribute('aria-busy', 'false');
  });
}

const OUTCOMES = {
  completed: ['Completed', 'ok'],
  length: ['Max tokens', 'info'],
  client_disconnected: ['Client left', 'warn'],
  failed_after_start: ['Failed', 'bad'],
  rejected: ['Rejected', null],
};

async function loadRequests(pageIndex) {
  const table = $('#requests-table');
  await guarded(async () => {
    const cursor = state.requestCursors[pageIndex];
    const page = await api(`/requests?limit=20${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
    state.requestPage = pageIndex;
    if (page.next_cursor) state.requestCursors[pageIndex + 1] = page.next_cursor;
    const names = new Map(state.keys.map((k) => [k.id, k.name]));
    if (page.data.length === 0) {
      emptyRow(table, 8, 'No requests yet. Calls to the API show up here as soon as they finish.');
    } else {
      table.tBodies[0].replaceChildren(...page.data.map((r) => {
        const [label, tone] = OUTCOMES[r.outcome] || [r.outcome, null];
        return h('tr', { 'data-request-id': r.request_id },
          h('td', { class: 'mono' }, r.request_id, r.batch_id ? h('span', { class: 'cell-sub' }, `batch ${r.batch_id}`) : null),
          h('td', { class: 'nowrap' }, timeFormat.format(new Date(r.created_at))),
          h('td', { class: 'mono' }, r.model),
          h('td', {}, names.get(r.key_id) ?? r.key_id),
          h('td', { class: 'num' }, count(r.prompt_tokens)),
          h('td', { class: 'num' }, count(r.completion_tokens)),
          h('td', { class: 'num' }, money(r.cost_micro_usd)),
          h('td', {}, badge(label, tone)));
      }));
    }
    $('#requests-page').textContent = `Page ${pageIndex + 1}`;
    $('#requests-newer').disabled = pageIndex === 0;
    $('#requests-older').disabled = !page.has_more;
  }, (message) => emptyRow(table, 8, `Requests could not be loaded: ${message}`));
}

const BATCH_STATUS = {
  validating: ['Validating', 'info'],
  in_progress: ['In progress', 'info'],
  finalizing: ['Finalizing', 'info'],
  completed: ['Completed', 'ok'],
  failed: ['Failed', 'bad'],
  expired: ['Expired', 'warn'],
  cancelling: ['Cancelling', 'warn'],
  cancelled: ['Cancelled', null],
};
const FINAL_BATCH_STATUSES = new Set(['completed', 'failed', 'expired', 'cancelled']);
const ENDPOINTS = { '/v1/chat/completions': 'Chat completions', '/v1/completions': 'Completions' };
const BATCH_PAGE_SIZE = 10;
const BATCH_REFRESH_MS = 4000;

async function loadBatches(pageIndex) {
  const table = $('#batches-table');
  clearTimeout(state.batchTimer);
  await guarded(async () => {
    const cursor = state.batchCursors[pageIndex];
    const page = await api(`/batches?limit=${BATCH_PAGE_SIZE}${cursor ? `&before=${encodeURIComponent(cursor)}` : ''}`);
    state.batchPage = pageIndex;
    if (page.next_cursor) state.batchCursors[pageIndex + 1] = page.next_cursor;
    renderBatches(page.data);
    $('#batches-page').textContent = `Page ${pageIndex + 1}`;
    $('#batches-newer').disabled = pageIndex === 0;
    $('#batches-older').disabled = !page.has_more;
    // A running batch's counts and cost move: look again in a moment, until every batch on the page is done.
    if (page.data.some((b) => !FINAL_BATCH_STATUSES.has(b.status))) state.batchTimer = setTimeout(refreshBatches, BATCH_REFRESH_MS);
  }, (message) => emptyRow(table, 7, `Batch jobs could not be loaded: ${message}`));
}

function refreshBatches() {
  if (!state.session) return;
  // Not under an open dialog: the row it was opened from must still be there when it closes.
  if ($('#confirm-dialog').open) {
    state.batchTimer = setTimeout(refreshBatches, BATCH_REFRESH_MS);
    return;
  }
  loadBatches(state.batchPage);
}

function renderBatches(batches) {
  const table = $('#batches-table');
  // Redrawing replaces the rows; keyboard focus goes back to the same control in the new ones.
  const focused = table.contains(document.activeElement) ? document.activeElement.dataset.focusKey : undefined;
  if (batches.length === 0) {
    emptyRow(table, 7, 'No batch jobs yet. Jobs you create with the Batch API (POST /v1/batches) show up here.');
  } else {
    table.tBodies[0].replaceChildren(...batches.map(batchRow));
  }
  if (focused) (table.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`) || $('#batches-title')).focus();
}

function batchRow(b) {
  const [label, tone] = BATCH_STATUS[b.status] || [b.status, null];
  const counts = b.request_counts;
  const running = !FINAL_BATCH_STATUSES.has(b.status);
  const at = (seconds) => timeFormat.format(new Date(seconds * 1000));

  let bar = null;
  if (running && counts.total > 0) {
    const percent = Math.min(100, ((counts.completed + counts.failed) / counts.total) * 100);
    const fill = h('div', { class: 'progress-fill' });
    fill.style.width = `${percent.toFixed(1)}%`;
    bar = h('div', {
      class: 'progress batch-progress', role: 'progressbar', 'aria-label': `Progress of batch ${b.id}`,
      'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(percent),
    }, fill);
  }

  const file = (id, kind, text) => h('a', {
    href: `${API}/files/${encodeURIComponent(id)}/content`, download: true, class: 'file-link', 'data-file': kind, 'data-focus-key': `${b.id}:${kind}`,
  }, text, h('span', { class: 'visually-hidden' }, ` file of batch ${b.id}`));
  const files = [b.output_file_id ? file(b.output_file_id, 'output', 'Output') : null, b.error_file_id ? file(b.error_file_id, 'error', 'Errors') : null].filter(Boolean);

  return h('tr', { 'data-batch-id': b.id, 'data-status': b.status },
    h('td', { class: 'mono' }, b.id, h('span', { class: 'cell-sub' }, ENDPOINTS[b.endpoint] || b.endpoint)),
    h('td', { class: 'batch-status' }, badge(label, tone),
      b.errors.length ? h('span', { class: 'cell-sub batch-reason', title: b.errors[0].message }, b.errors[0].message) : null,
      b.cancellable
        ? h('button', { type: 'button', class: 'btn-link-danger batch-cancel', 'data-cancel': b.id, 'data-focus-key': `${b.id}:cancel`, 'aria-label': `Cancel batch ${b.id}`, onclick: () => confirmCancel(b) }, 'Cancel')
        : null),
    h('td', { class: 'batch-counts' },
      h('span', { class: 'nowrap' }, count(counts.completed, { 'data-field': 'completed' }), ' of ', count(counts.total, { 'data-field': 'total' }), ' completed'),
      h('span', { class: `cell-sub${counts.failed > 0 ? ' failed' : ''}` }, count(counts.failed, { 'data-field': 'failed' }), ' failed'),
      bar),
    h('td', { class: 'num' }, money(b.cost_micro_usd, { 'data-field': 'cost_micro_usd' })),
    h('td', { class: 'nowrap' }, at(b.created_at)),
    h('td', { class: 'nowrap' }, b.ended_at ? at(b.ended_at)
      : h('span', { class: 'muted' }, 'Running', h('span', { class: 'cell-sub' }, `Window ends ${at(b.expires_at)}`))),
    h('td', { class: 'batch-files' }, files.length ? files : h('span', { class: 'muted' }, running ? 'When done' : '—')));
}

function confirmCancel(batch) {
  askConfirm({
    title: 'Cancel batch?',
    text: `${batch.id} stops starting new requests. Requests already answered stay in its output file and are billed; the rest go to its error file as cancelled.`,
    ok: 'Cancel batch',
    dismiss: 'Keep running',
    action: () => cancelBatch(batch),
  });
}

async function cancelBatch(batch) {
  const errorBox = $('#batches-error');
  showError(errorBox, '');
  try {
    await api(`/batches/${encodeURIComponent(batch.id)}/cancel`, { method: 'POST' });
  } catch (error) {
    if (error instanceof SessionEnded) return;
    showError(errorBox, error instanceof ApiError ? error.message : 'The batch could not be cancelled.');
  }
  await loadBatches(state.batchPage);
}

// The server enforces all of this; the page only leaves out what the session's key may not do.
function canManageKeys() {
  return (state.session?.permissions || []).includes('keys.manage');
}

function configureKeyForm(session) {
  const held = new Set(session.permissions || []);
  $('#create-key-form').hidden = !held.has('keys.manage');
  $('#keys-read-only').hidden = held.has('keys.manage');
  for (const box of document.querySelectorAll('#key-permissions input[name="permission"]')) {
    box.disabled = !held.has(box.value);
    if (box.disabled) box.checked = false;
  }
}

const KEY_STATUS = { active: ['Active', 'ok'], revoked: ['Revoked', 'bad'], expired: ['Expired', 'warn'] };

async function loadKeys() {
  const table = $('#keys-table');
  await guarded(async () => {
    const list = await api('/keys');
    state.keys = list.data;
    renderKeys();
  }, (message) => emptyRow(table, 9, `Keys could not be loaded: ${message}`));
}

function renderKeys() {
  const table = $('#keys-table');
  if (state.keys.length === 0) {
    emptyRow(table, 9, canManageKeys() ? 'No keys yet. Create one above.' : 'No keys yet.');
    return;
  }
  // Active keys first, newest first within each status.
  const order = { active: 0, expired: 1, revoked: 2 };
  const keys = [...state.keys].sort((a, b) => order[a.status] - order[b.status] || b.created_at - a.created_at);
  table.tBodies[0].replaceChildren(...keys.map((k) => {
    const [label, tone] = KEY_STATUS[k.status] || [k.status, null];
    const revoke = k.status === 'active' && canManageKeys()
      ? h('button', { type: 'button', class: 'btn-link-danger', 'data-revoke': k.id, 'aria-label': `Revoke key ${k.name}`, onclick: () => confirmRevoke(k) }, 'Revoke')
      : null;
    return h('tr', { 'data-key-id': k.id },
      h('td', { class: 'cell-name' }, h('span', { class: 'key-name' }, k.name), k.current ? h('span', { class: 'you', title: 'You signed in with this key' }, 'This session') : null),
      h('td', { class: 'mono' }, k.redacted_value),
      h('td', {}, k.models.length === 0 ? h('span', { class: 'muted' }, 'All models') : k.models.map((m) => h('span', { class: 'tag' }, m))),
      h('td', { class: 'key-permissions' }, (k.permissions || []).map((p) => h('span', { class: 'tag' }, p))),
      h('td', { class: 'nowrap' }, day(k.created_at)),
      h('td', { class: 'nowrap' }, relative(k.last_used_at)),
      h('td', { class: 'nowrap' }, k.expires_at ? day(k.expires_at) : h('span', { class: 'muted' }, 'Never')),
      h('td', {}, badge(label, tone)),
      h('td', { class: 'num' }, revoke));
  }));
}

async function createKey(event) {
  event.preventDefault();
  const errorBox = $('#create-key-error');
  showError(errorBox, '');
  const name = $('#key-name').value.trim();
  const models = $('#key-models').value.split(',').map((m) => m.trim()).filter(Boolean);
  const expires = $('#key-expiry').value;
  const permissions = [...document.querySelectorAll('#key-permissions input[name="permission"]:checked')].map((box) => box.value);
  const button = $('#create-key');
  button.disabled = true;
  try {
    const created = await api('/keys', {
      method: 'POST',
      body: { name: name || null, models: models.length ? models : null, expires_in_days: expires ? Number(expires) : null, permissions },
    });
    $('#create-key-form').reset();
    configureKeyForm(state.session);
    showNewKey(created.key);
    await loadKeys();
  } catch (error) {
    if (error instanceof SessionEnded) return;
    showError(errorBox, error instanceof ApiError ? error.message : 'The key could not be created.');
  } finally {
    button.disabled = false;
  }
}

function showNewKey(key) {
  const dialog = $('#key-dialog');
  const input = $('#new-key-value');
  input.value = key;
  $('#copy-status').textContent = '';
  dialog.showModal();
  input.focus();
  input.select();
}

function closeNewKey() {
  // The key leaves the page with the dialog: nothing keeps a copy once it is closed.
  $('#new-key-value').value = '';
  $('#key-dialog').close();
  $('#create-key').focus();
}

async function copyKey() {
  const input = $('#new-key-value');
  try {
    await navigator.clipboard.writeText(input.value);
    $('#copy-status').textContent = 'Copied to the clipboard.';
  } catch {
    input.select();
    $('#copy-status').textContent = 'Select the key and copy it with Ctrl+C (⌘C on a Mac).';
  }
}

// One confirmation dialog for every destructive action; the safe choice has the focus.
let pendingConfirm = null;

function askConfirm({ title, text, ok, dismiss = 'Cancel', action }) {
  pendingConfirm = action;
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = ok;
  $('#confirm-cancel').textContent = dismiss;
  $('#confirm-dialog').showModal();
  $('#confirm-cancel').focus();
}

function dismissConfirm() {
  pendingConfirm = null;
  $('#confirm-dialog').close();
}

async function confirmed() {
  const action = pendingConfirm;
  pendingConfirm = null;
  $('#confirm-dialog').close();
  if (action) await action();
}

function confirmRevoke(key) {
  askConfirm({
    title: 'Revoke key?',
    text: key.current
      ? `“${key.name}” is the key you signed in with. Revoking it stops every request made with it right away and ends this session.`
      : `Requests made with “${key.name}” (${key.redacted_value}) stop working right away. This cannot be undone.`,
    ok: 'Revoke key',
    action: () => revoke(key),
  });
}

async function revoke(key) {
  try {
    await api(`/keys/${encodeURIComponent(key.id)}`, { method: 'DELETE' });
  } catch (error) {
    if (error instanceof SessionEnded) return;
    showError($('#create-key-error'), error instanceof ApiError ? error.message : 'The key could not be revoked.');
    return;
  }
  if (key.current) {
    endSession('You revoked the key this session was opened with. Sign in with another key.');
    return;
  }
  await loadKeys();
}

const BILLING_STATUS = {
  ok: ['Matches', 'ok'],
  pending_export: ['Reporting', 'info'],
  corrected: ['Corrected', 'ok'],
  mismatch: ['Mismatch', 'bad'],
  ledger_mismatch: ['Under review', 'warn'],
  dead_lettered: ['On hold', 'bad'],
};
const INVOICE_STATUS = { paid: 'ok', open: 'info', draft: null, uncollectible: 'bad', void: null };
const METERS = { input_tokens: 'Input tokens', output_tokens: 'Output tokens' };

function amount(minor, currency) {
  const code = (currency || 'usd').toUpperCase();
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: code }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${code}`;
  }
}

async function loadBilling() {
  await guarded(async () => {
    const b = await api('/billing');
    renderBilling(b);
  }, (message) => emptyRow($('#export-table'), 4, `Billing could not be loaded: ${message}`));
}

function renderBilling(b) {
  const sub = !b.stripe_configured ? 'Reporting usage to Stripe is switched off on this service at the moment; your usage is recorded and kept.'
    : !b.stripe_linked ? 'Your account is not linked to a billing account yet; usage is recorded and reported once it is.'
      : 'Usage is reported to Stripe, which invoices it at the end of each billing period.';
  $('#billing-sub').textContent = sub;

  $('#export-table').tBodies[0].replaceChildren(...b.meters.map((m) => h('tr', { 'data-meter': m.meter },
    h('td', {}, METERS[m.meter] || m.meter),
    h('td', { class: 'num' }, count(m.exported, { 'data-field': 'exported' })),
    h('td', { class: 'num' }, count(m.pending, { 'data-field': 'pending' })),
    h('td', { class: 'num' }, count(m.held, { 'data-field': 'held' })))));

  const recon = b.last_reconciliation;
  const reconTable = $('#recon-table');
  if (!recon) {
    $('#recon-when').textContent = '';
    $('#recon-summary').textContent = 'No reconciliation has run yet.';
    emptyRow(reconTable, 7, 'Nothing to show yet.');
  } else {
    $('#recon-when').textContent = `${timeFormat.format(new Date(recon.ran_at * 1000))} UTC`;
    $('#recon-summary').replaceChildren(
      recon.differences === 0 ? badge('Ledger and Stripe agree', 'ok') : badge(`${recon.differences} difference${recon.differences === 1 ? '' : 's'}`, 'bad'),
      h('span', { class: 'muted small' }, `  Days ${day(recon.range_start)} – ${day(recon.range_end - 1)}`));
    if (recon.lines.length === 0) {
      emptyRow(reconTable, 7, 'No usage in the reconciled days.');
    } else {
      reconTable.tBodies[0].replaceChildren(...recon.lines.map((l) => {
        const [label, tone] = BILLING_STATUS[l.status] || [l.status, null];
        // Late usage is in Stripe on the day it was reported, not the day it was used: say so rather than show a gap.
        const late = [];
        if (l.late_out > 0) late.push(`${l.late_out.toLocaleString('en-US')} reported late, on a later day`);
        if (l.late_in > 0) late.push(`includes ${l.late_in.toLocaleString('en-US')} from earlier days, reported late`);
        return h('tr', { 'data-day': l.day, 'data-meter': l.meter, 'data-status': l.status },
          h('td', { class: 'nowrap' }, l.day),
          h('td', {}, METERS[l.meter] || l.meter),
          h('td', { class: 'num' }, count(l.ledger, { 'data-field': 'ledger' })),
          h('td', { class: 'num' }, count(l.exported, { 'data-field': 'exported' })),
          h('td', { class: 'num' }, count(l.dead_lettered || 0, { 'data-field': 'dead_lettered' })),
          h('td', { class: 'num' }, count(l.stripe, { 'data-field': 'stripe' }), late.length ? h('div', { class: 'muted small', 'data-field': 'late' }, late.join('; ')) : ''),
          h('td', {}, badge(label, tone)));
      }));
    }
  }

  const subscription = $('#subscription');
  subscription.replaceChildren(b.subscription_status ? h('span', {}, 'Subscription: ', badge(b.subscription_status, b.subscription_status === 'active' ? 'ok' : 'warn')) : '');
  if (b.disabled) banner('Your account is disabled, so API requests are refused. Check your invoices and subscription below.', 'bad');

  const invoices = $('#invoices-table');
  if (b.invoices.length === 0) {
    emptyRow(invoices, 6, 'No invoices yet. Your first one arrives at the end of your billing period.');
  } else {
    invoices.tBodies[0].replaceChildren(...b.invoices.map((i) => h('tr', { 'data-invoice': i.invoice_id },
      h('td', { class: 'nowrap' }, `${day(i.period_start)} – ${day(i.period_end)}`),
      h('td', { class: 'mono' }, i.invoice_id),
      h('td', {}, badge(i.status, INVOICE_STATUS[i.status] ?? null)),
      h('td', { class: 'num' }, amount(i.amount_due, i.currency)),
      h('td', { class: 'num' }, amount(i.amount_paid, i.currency)),
      h('td', { class: 'num' }, i.hosted_invoice_url
        ? h('a', { href: i.hosted_invoice_url, target: '_blank', rel: 'noopener noreferrer' }, 'View invoice', h('span', { class: 'visually-hidden' }, ` ${i.invoice_id} (opens in a new tab)`))
        : null))));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Start

function wire() {
  $('#signin-form').addEventListener('submit', signIn);
  $('#signout').addEventListener('click', signOut);
  $('#refresh').addEventListener('click', () => { state.requestCursors = [null]; state.batchCursors = [null]; loadAll(); });
  $('#requests-newer').addEventListener('click', () => loadRequests(Math.max(0, state.requestPage - 1)));
  $('#requests-older').addEventListener('click', () => loadRequests(state.requestPage + 1));
  $('#batches-newer').addEventListener('click', () => loadBatches(Math.max(0, state.batchPage - 1)));
  $('#batches-older').addEventListener('click', () => loadBatches(state.batchPage + 1));
  $('#create-key-form').addEventListener('submit', createKey);
  $('#copy-key').addEventListener('click', copyKey);
  $('#key-dialog-done').addEventListener('click', closeNewKey);
  $('#key-dialog').addEventListener('cancel', (event) => { event.preventDefault(); closeNewKey(); });
  $('#confirm-cancel').addEventListener('click', dismissConfirm);
  $('#confirm-dialog').addEventListener('cancel', () => { pendingConfirm = null; });
  $('#confirm-ok').addEventListener('click', confirmed);
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (state.session && allowed(sectionById('overview'))) loadChart(false); }, 200);
  });
}

async function boot() {
  wire();
  // A sign-in link carries its token in the fragment (#link=...), which browsers never send to a server or in a
  // Referer; it is removed from the address bar before anything else happens.
  const link = new URLSearchParams(location.hash.slice(1)).get('link');
  if (link) history.replaceState(null, '', location.pathname + location.search);
  try {
    const session = link
      ? await api('/session/link', { method: 'POST', body: { token: link } })
      : await api('/session');
    if (session.signed_in) await startApp(session);
    else showSignIn('');
  } catch (error) {
    showSignIn(error instanceof ApiError ? error.message : 'The dashboard could not be reached. Try again in a moment.');
  }
}

boot();
