/*! The moderators' console, served at /moderation/. Plain JavaScript, no dependencies, no build step.
 * Documentation: docs/console.md. Rules of this file: text from readers or the API is only ever written with
 * textContent (or as Text nodes), never as HTML; every listener is added once, at start, and delegates.
 * An ES module (strict, deferred), so no build step is needed for the catalogue import either. */
import { CATALOGUE } from "./catalogue.js";

const REASONS = ["spam", "offensive", "off_topic", "personal_data", "illegal", "other"];
const STATUSES = ["pending", "reported", "approved", "rejected", "hidden"];
const FLAGS = [
  "banned_word",
  "suspect_word",
  "links",
  "phone_in_body",
  "mojibake",
  "mixed_script",
  "all_caps",
  "repeated_text",
];
const EVENTS = [
  "CommentSubmitted",
  "CommentApproved",
  "CommentRejected",
  "CommentEdited",
  "CommentHidden",
  "CommentRestored",
  "CommentReported",
];
const TOKEN_KEY = "comments.console.token";
const LANG_KEY = "comments.console.lang";
const BATCH = 10; // comments claimed at a time
const MAX_CLAIMS = 100; // the API's limit
const LEASE_SECONDS = 300;
const RENEW_MS = 120 * 1000; // leases last 5 minutes: renewing every 2 survives one missed renewal
const IDLE_MS = 15 * 60 * 1000; // an unattended console stops renewing, so its comments go back to the queue
const PAGE_SIZE = 50;
const RELATED_SHOWN = 50; // the API returns at most 50 of an author's other comments

// --- state -----------------------------------------------------------------------------------------------------
const state = {
  token: null,
  lang: "vi",
  me: null,
  view: "mine",
  filters: { article_id: "", status: "pending", flag: "", submitted_after: "", submitted_before: "" },
  items: [], // what the list shows
  index: -1,
  cursor: null, // browse: the next page
  held: new Set(), // ids the server says the caller holds
  decided: new Set(), // ids decided in this list
  lost: new Set(), // ids whose lease ran out under us
  notices: new Map(), // id -> {kind, text}: a message kept on the card
  details: new Map(), // id -> {version, related, history} or {version, error}
  detailAbort: null,
  busy: false,
  renewTimer: null,
  lastActivity: Date.now(),
  idle: false,
  reasonMode: "reject",
  target: null, // the comment a dialog was opened for
  formatters: new Map(),
  session: 0, // bumped at sign-out, so answers to an earlier session's requests are dropped
};

const $ = (id) => document.getElementById(id);
const ui = {
  who: $("who"),
  lang: $("lang"),
  help: $("help"),
  signout: $("signout"),
  status: $("status"),
  alert: $("alert"),
  main: $("main"),
  signin: $("signin"),
  signinForm: $("signin-form"),
  token: $("token"),
  tokenError: $("token-error"),
  workspace: $("workspace"),
  filters: $("filters"),
  article: $("f-article"),
  status_: $("f-status"),
  flag: $("f-flag"),
  after: $("f-after"),
  before: $("f-before"),
  browseFilters: $("browse-filters"),
  filtersNote: $("filters-note"),
  claim: $("claim"),
  queueHeading: $("queue-heading"),
  queue: $("queue"),
  queueEmpty: $("queue-empty"),
  more: $("more"),
  card: $("card"),
  reasonDialog: $("reason-dialog"),
  reasonTitle: $("reason-title"),
  reasonChoices: $("reason-choices"),
  reasonNote: $("reason-note"),
  editDialog: $("edit-dialog"),
  editForm: $("edit-form"),
  editTitle: $("edit-title"),
  editBody: $("edit-body"),
  editNote: $("edit-note"),
  editError: $("edit-error"),
  authorDialog: $("author-dialog"),
  authorForm: $("author-form"),
  authorSummary: $("author-summary"),
  authorReasons: $("author-reasons"),
  authorNote: $("author-note"),
  helpDialog: $("help-dialog"),
  helpKeys: $("help-keys"),
};

// --- text ------------------------------------------------------------------------------------------------------
const text = () => CATALOGUE[state.lang];

function t(key, params) {
  const value = key.split(".").reduce((node, part) => (node == null ? node : node[part]), text());
  const template = typeof value === "string" ? value : key;
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    params && params[name] !== undefined && params[name] !== null ? String(params[name]) : whole,
  );
}

function formatTime(iso) {
  if (!iso) return "";
  let format = state.formatters.get(state.lang);
  if (!format) {
    format = new Intl.DateTimeFormat(text().locale, { dateStyle: "short", timeStyle: "medium" });
    state.formatters.set(state.lang, format);
  }
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime()) ? iso : format.format(moment);
}

function clock(iso) {
  const moment = new Date(iso);
  return Number.isNaN(moment.getTime())
    ? ""
    : moment.toLocaleTimeString(text().locale, { hour: "2-digit", minute: "2-digit" });
}

/** Children as append() takes them: nested lists flattened, null, undefined, false and "" left out. */
const nodes = (children) =>
  children.flat(Infinity).filter((child) => child !== null && child !== undefined && child !== false && child !== "");

/** An element; children that are strings become Text nodes (never parsed as HTML). */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...nodes(children));
  return node;
}

function announce(message) {
  ui.alert.textContent = "";
  ui.status.textContent = message;
}

function warn(message) {
  ui.status.textContent = "";
  ui.alert.textContent = message;
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.title = t("appTitle");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAria));
  }
  ui.lang.lang = state.lang === "vi" ? "en" : "vi";
  fillSelect(ui.status_, STATUSES.map((code) => [code, t(`statusNames.${code}`)]), state.filters.status);
  fillSelect(
    ui.flag,
    [["", t("anyFlag")], ...FLAGS.map((code) => [code, text().flags[code][0]])],
    state.filters.flag,
  );
  ui.reasonChoices.replaceChildren(
    ...REASONS.map((code, i) =>
      el(
        "button",
        { type: "button", "data-reason": code, "aria-keyshortcuts": String(i + 1) },
        el("kbd", {}, String(i + 1)),
        " ",
        t(`reasons.${code}`),
      ),
    ),
  );
  const chosen = ui.authorReasons.querySelector("input:checked")?.value || "spam";
  ui.authorReasons.replaceChildren(
    ...REASONS.map((code, i) =>
      el(
        "label",
        {},
        el("input", { type: "radio", name: "author-reason", value: code, checked: code === chosen }),
        " ",
        el("kbd", {}, String(i + 1)),
        " ",
        t(`reasons.${code}`),
      ),
    ),
  );
  ui.helpKeys.replaceChildren(
    ...text().keys.flatMap(([keys, what]) => [el("dt", {}, el("kbd", {}, keys)), el("dd", {}, what)]),
  );
  ui.reasonTitle.textContent = t(`reasonTitle.${state.reasonMode}`);
  renderWho();
  if (state.token) {
    renderFilters();
    renderQueue();
    renderCard();
  }
}

function fillSelect(select, options, value) {
  select.replaceChildren(...options.map(([code, label]) => el("option", { value: code }, label)));
  select.value = value;
}

function renderWho() {
  ui.who.textContent = state.token && state.me ? t("signedInAs", { name: state.me }) : "";
}

// --- the API ---------------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
  }
}

async function api(method, path, body, signal) {
  const session = state.session;
  const headers = { Accept: "application/json", Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", t("network"));
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (session !== state.session) throw new ApiError(0, "stale", "");
  if (!response.ok) {
    const problem = (payload && payload.error) || {};
    const code = problem.code || `http_${response.status}`;
    const error = new ApiError(response.status, code, problem.message, problem.fields);
    if (response.status === 401 && !ui.workspace.hidden) expire();
    throw error;
  }
  return payload;
}

/** Errors that need no message: the session ended (the sign-in form says why), or the request was superseded. */
const quiet = (error) => error.status === 401 || error.code === "stale" || error.name === "AbortError";

function describe(error) {
  if (error.code === "network") return t("network");
  return t("failed", { message: error.message || error.code });
}

// --- signing in and out ----------------------------------------------------------------------------------------
async function signIn(event) {
  event.preventDefault();
  const token = ui.token.value.trim();
  ui.tokenError.textContent = "";
  if (!token) {
    ui.tokenError.textContent = t("tokenRequired");
    ui.token.setAttribute("aria-invalid", "true");
    ui.token.focus();
    return;
  }
  announce(t("signingIn"));
  state.token = token;
  try {
    await api("GET", "/api/v1/moderation/queue?limit=1");
  } catch (error) {
    state.token = null;
    announce("");
    ui.tokenError.textContent =
      error.status === 401 ? t("tokenInvalid") : error.status === 403 ? t("tokenForbidden") : describe(error);
    ui.token.setAttribute("aria-invalid", "true");
    ui.token.focus();
    return;
  }
  ui.token.value = "";
  ui.token.removeAttribute("aria-invalid");
  sessionStorage.setItem(TOKEN_KEY, token);
  announce(t("signedIn"));
  startSession();
}

function startSession() {
  ui.signin.hidden = true;
  ui.workspace.hidden = false;
  ui.help.hidden = false;
  ui.signout.hidden = false;
  state.lastActivity = Date.now();
  state.idle = false;
  clearInterval(state.renewTimer);
  state.renewTimer = setInterval(renew, RENEW_MS);
  renderFilters();
  load();
  ui.main.focus({ preventScroll: true });
}

function endSession() {
  state.session += 1;
  clearInterval(state.renewTimer);
  state.renewTimer = null;
  if (state.detailAbort) state.detailAbort.abort();
  sessionStorage.removeItem(TOKEN_KEY);
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  Object.assign(state, { token: null, me: null, items: [], index: -1, cursor: null, busy: false, target: null });
  for (const collection of [state.held, state.decided, state.lost, state.notices, state.details]) collection.clear();
  ui.queue.replaceChildren();
  ui.card.replaceChildren();
  ui.workspace.hidden = true;
  ui.help.hidden = true;
  ui.signout.hidden = true;
  ui.signin.hidden = false;
  renderWho();
  ui.token.focus();
}

async function signOut() {
  try {
    await api("DELETE", "/api/v1/moderation/claims");
  } catch {
    // The leases run out by themselves within five minutes.
  }
  if (state.token) endSession();
  announce(t("signedOut"));
}

function expire() {
  endSession();
  ui.tokenError.textContent = t("sessionExpired");
  warn(t("sessionExpired"));
}

// --- filters ---------------------------------------------------------------------------------------------------
function toLocalInput(iso) {
  const moment = new Date(iso);
  if (!iso || Number.isNaN(moment.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}` +
    `T${pad(moment.getHours())}:${pad(moment.getMinutes())}`
  );
}

function fromLocalInput(value) {
  const moment = new Date(value);
  return !value || Number.isNaN(moment.getTime()) ? "" : moment.toISOString();
}

function readLocation() {
  const query = new URLSearchParams(location.search);
  state.view = query.get("view") === "browse" ? "browse" : "mine";
  state.filters.article_id = query.get("article_id") || "";
  state.filters.status = STATUSES.includes(query.get("status")) ? query.get("status") : "pending";
  state.filters.flag = FLAGS.includes(query.get("flag")) ? query.get("flag") : "";
  state.filters.submitted_after = query.get("submitted_after") || "";
  state.filters.submitted_before = query.get("submitted_before") || "";
}

function writeLocation() {
  const query = new URLSearchParams();
  if (state.view === "browse") query.set("view", "browse");
  for (const [name, value] of Object.entries(state.filters)) {
    if (value && !(name === "status" && value === "pending")) query.set(name, value);
  }
  const search = query.toString();
  history.replaceState(null, "", search ? `?${search}` : location.pathname);
}

function renderFilters() {
  for (const radio of ui.filters.elements.view) radio.checked = radio.value === state.view;
  ui.article.value = state.filters.article_id;
  ui.status_.value = state.filters.status;
  ui.flag.value = state.filters.flag;
  ui.after.value = toLocalInput(state.filters.submitted_after);
  ui.before.value = toLocalInput(state.filters.submitted_before);
  ui.browseFilters.disabled = state.view === "mine";
  ui.filtersNote.textContent = state.view === "mine" ? t("filtersMineNote") : "";
}

async function applyFilters(event) {
  if (event) event.preventDefault();
  const view = ui.filters.elements.view.value === "browse" ? "browse" : "mine";
  const article = ui.article.value.trim();
  const articleChanged = article !== state.filters.article_id;
  state.filters = {
    article_id: article,
    status: ui.status_.value,
    flag: ui.flag.value,
    submitted_after: fromLocalInput(ui.after.value),
    submitted_before: fromLocalInput(ui.before.value),
  };
  const switched = view !== state.view;
  state.view = view;
  writeLocation();
  renderFilters();
  if (view === "mine" && articleChanged && state.held.size) {
    // "My claims" is what I see: claims on the article I leave go back to the queue.
    try {
      await api("DELETE", "/api/v1/moderation/claims");
      state.held.clear();
    } catch (error) {
      if (!quiet(error)) warn(describe(error));
      return;
    }
  }
  await load();
  if (!switched || view === "browse") announce(t("filtersApplied", { n: state.items.length }));
}

// --- loading the list ------------------------------------------------------------------------------------------
function resetList(items) {
  const previous = current();
  state.items = items;
  state.decided.clear();
  state.lost.clear();
  state.notices.clear();
  state.details.clear();
  state.index = items.length ? Math.max(0, previous ? items.findIndex((item) => item.id === previous.id) : 0) : -1;
}

async function load() {
  ui.queueHeading.textContent = t("loading");
  if (state.view === "mine") {
    await claim(state.held.size ? 0 : BATCH, { rebuild: true, quiet: true });
  } else {
    await browse(true);
  }
}

function queuePath() {
  const query = new URLSearchParams({ status: state.filters.status, limit: String(PAGE_SIZE) });
  for (const name of ["article_id", "flag", "submitted_after", "submitted_before"]) {
    if (state.filters[name]) query.set(name, state.filters[name]);
  }
  if (state.cursor) query.set("cursor", state.cursor);
  return `/api/v1/moderation/queue?${query}`;
}

async function browse(reset) {
  if (reset) state.cursor = null;
  let page;
  try {
    page = await api("GET", queuePath());
  } catch (error) {
    if (!quiet(error)) warn(describe(error));
    renderQueue();
    return;
  }
  state.cursor = page.next_cursor;
  if (reset) resetList(page.items);
  else state.items.push(...page.items.filter((item) => !state.items.some((known) => known.id === item.id)));
  if (state.index < 0 && state.items.length) state.index = 0;
  renderQueue();
  renderCard();
}

/** Claims: renews the caller's leases and adds up to `more` pending comments. */
async function claim(more, { rebuild = false, quiet = false } = {}) {
  const limit = Math.min(MAX_CLAIMS, state.held.size + more);
  if (more > 0 && state.held.size >= MAX_CLAIMS) {
    announce(t("claimLimit", { n: MAX_CLAIMS }));
    return;
  }
  if (limit < 1) {
    if (rebuild) {
      resetList([]);
      renderQueue();
      renderCard();
    }
    return;
  }
  const body = { limit, lease_seconds: LEASE_SECONDS };
  if (state.filters.article_id) body.article_id = state.filters.article_id;
  let result;
  try {
    result = await api("POST", "/api/v1/moderation/claims", body);
  } catch (error) {
    if (!quiet(error)) warn(describe(error));
    renderQueue();
    return;
  }
  const before = new Set(state.held);
  // A renewal sent before a decision may still list the decided comment: it is no longer held.
  state.held = new Set(result.items.map((item) => item.id).filter((id) => !state.decided.has(id)));
  const mine = result.items.find((item) => item.claimed_by);
  if (mine) state.me = mine.claimed_by;
  renderWho();
  const added = result.items.filter((item) => !before.has(item.id)).length;
  if (state.view === "mine") mergeClaims(result.items, rebuild || more > 0);
  if (!quiet && more > 0) {
    announce(added ? t("claimed", { n: added, total: state.held.size }) : t("claimedNone"));
  } else if (quiet && state.view === "mine" && !state.items.length) {
    announce(t("emptyMine"));
  }
}

/** Show the claimed items. A rebuild drops what is no longer held; a renewal keeps it, marked as lost. */
function mergeClaims(items, rebuild) {
  const known = new Map(state.items.map((item) => [item.id, item]));
  const update = (item) => {
    const shown = known.get(item.id);
    if (!shown) return item;
    // Only the lease is refreshed: the text and version stay as the moderator saw them, so a change made
    // meanwhile surfaces as a version conflict instead of being approved unseen.
    shown.claimed_by = item.claimed_by;
    shown.claim_expires_at = item.claim_expires_at;
    state.lost.delete(item.id);
    return shown;
  };
  if (rebuild) {
    resetList(items.map(update));
    renderQueue();
    renderCard();
    return;
  }
  const shown = current();
  const wasLost = shown !== undefined && state.lost.has(shown.id);
  for (const item of state.items) {
    if (!state.held.has(item.id) && item.status === "pending" && !state.decided.has(item.id)) {
      state.lost.add(item.id);
      item.claimed_by = null;
      item.claim_expires_at = null;
    }
  }
  const count = state.items.length;
  for (const item of items) {
    if (known.has(item.id)) update(item);
    else state.items.push(item);
  }
  if (state.index < 0 && state.items.length) state.index = 0;
  if (count !== state.items.length) renderQueue();
  // A renewal leaves the card alone (no lost scroll position or open details) unless the lease was lost.
  if (!shown || wasLost !== state.lost.has(shown.id)) {
    renderCard();
  } else if (shown.claim_expires_at) {
    const chip = ui.card.querySelector(".claim-mine");
    if (chip) chip.textContent = t("heldByMe", { time: clock(shown.claim_expires_at) });
  }
}

async function renew() {
  if (!state.token) return;
  if (Date.now() - state.lastActivity > IDLE_MS) {
    if (!state.idle && state.held.size) announce(t("renewPaused"));
    state.idle = true;
    return;
  }
  if (state.held.size) await claim(0);
}

function noteActivity() {
  state.lastActivity = Date.now();
  if (state.idle && state.token) {
    state.idle = false;
    if (state.held.size) claim(0).then(() => announce(t("renewResumed")));
  }
}

// --- the list --------------------------------------------------------------------------------------------------
const current = () => (state.index >= 0 ? state.items[state.index] : undefined);

function renderQueue() {
  const mine = state.view === "mine";
  const count = state.items.filter((item) => !state.decided.has(item.id)).length;
  ui.queueHeading.textContent = t(mine ? "queueHeadingMine" : "queueHeadingBrowse", { n: count });
  const focused = ui.queue.contains(document.activeElement);
  ui.queue.replaceChildren(...state.items.map((item, index) => row(item, index)));
  if (focused) {
    const button = ui.queue.querySelector('[aria-current="true"]');
    if (button) button.focus({ preventScroll: true });
    else ui.card.focus({ preventScroll: true });
  }
  ui.queueEmpty.hidden = state.items.length > 0;
  ui.queueEmpty.textContent = mine ? t("emptyMine") : t("emptyBrowse");
  ui.more.hidden = mine || !state.cursor;
  const pending = state.items.filter((item) => !state.decided.has(item.id)).length;
  document.title = pending ? `(${pending}) ${t("appTitle")}` : t("appTitle");
}

function row(item, index) {
  const selected = index === state.index;
  const flags = item.flags.length ? `⚑ ${item.flags.length}` : "";
  const reports = item.report_count ? `⚠ ${item.report_count}` : "";
  const meta = [t(`statusNames.${item.status}`), item.author_name, clock(item.submitted_at), flags, reports]
    .filter(Boolean)
    .join(" · ");
  return el(
    "li",
    {},
    el(
      "button",
      {
        type: "button",
        class: `row${state.decided.has(item.id) ? " decided" : ""}`,
        "data-index": index,
        "data-id": item.id,
        "aria-current": selected ? "true" : null,
      },
      el("span", { class: "row-title" }, item.title),
      el("span", { class: "row-meta" }, meta),
    ),
  );
}

function select(index, { quiet = false } = {}) {
  if (index < 0 || index >= state.items.length) return;
  const before = ui.queue.querySelector('[aria-current="true"]');
  if (before) before.removeAttribute("aria-current");
  state.index = index;
  const button = ui.queue.querySelector(`[data-index="${index}"]`);
  if (button) {
    button.setAttribute("aria-current", "true");
    button.scrollIntoView({ block: "nearest" });
    button.focus({ preventScroll: true });
  }
  renderCard();
  if (!quiet) announce(t("position", { i: index + 1, n: state.items.length, title: state.items[index].title }));
}

function move(step) {
  if (!state.items.length) return;
  const next = state.index < 0 ? 0 : Math.min(state.items.length - 1, Math.max(0, state.index + step));
  if (next !== state.index || state.index < 0) select(next);
}

/** After a decision: the next comment not yet decided, after the current one, else before it. */
function advance() {
  const open = (item) => !state.decided.has(item.id);
  let next = -1;
  for (let i = state.index + 1; i < state.items.length && next < 0; i += 1) if (open(state.items[i])) next = i;
  for (let i = 0; i < state.index && next < 0; i += 1) if (open(state.items[i])) next = i;
  if (next >= 0) {
    select(next, { quiet: true });
    return "";
  }
  renderCard();
  return state.view === "mine" ? ` ${t("noneLeft")}` : "";
}

// --- the card --------------------------------------------------------------------------------------------------
function allowed(item) {
  const reported = item.status === "approved" && item.report_count > 0;
  return {
    approve: item.status === "pending" || item.status === "rejected" || reported,
    reject: item.status === "pending" || reported,
    edit: !item.erased,
    hide: Boolean(item.published),
    restore: item.status === "hidden" || item.status === "rejected",
    rejectAuthor: !item.erased,
  };
}

function renderCard() {
  const item = current();
  if (!item) {
    ui.card.replaceChildren(el("p", { class: "empty" }, state.items.length ? t("noCard") : ""));
    delete ui.card.dataset.id;
    return;
  }
  const notice = state.notices.get(item.id);
  const can = allowed(item);
  const chips = [
    el("span", { class: `chip ${item.status}` }, t(`statusNames.${item.status}`)),
    el("span", { class: "chip" }, item.published ? t("published") : t("notPublished")),
    el("span", { class: "chip", "data-version": item.version }, t("version", { v: item.version })),
  ];
  if (item.claimed_by && (item.claimed_by === state.me || state.held.has(item.id))) {
    chips.push(el("span", { class: "chip claim-mine" }, t("heldByMe", { time: clock(item.claim_expires_at) })));
  } else if (item.claimed_by) {
    chips.push(
      el(
        "span",
        { class: "chip claim-other" },
        t("heldBy", { name: item.claimed_by, time: clock(item.claim_expires_at) }),
      ),
    );
  }
  const meta = [
    [t("authorLabel"), el("span", { class: "author" }, item.author_name)],
    [t("phoneLabel"), el("span", { class: "phone" }, item.phone || t("noPhone"))],
    [t("articleLabel"), el("span", { class: "article" }, item.article_id)],
    [t("submittedLabel"), el("time", { datetime: item.submitted_at }, formatTime(item.submitted_at))],
  ];
  if (item.parent_id) meta.push([t("replyTo"), item.parent_id]);
  if (item.reason_code) meta.push([t("reasonLabel"), t(`reasons.${item.reason_code}`)]);
  const actionButton = (action, key, klass) =>
    el(
      "button",
      {
        type: "button",
        class: klass,
        "data-action": action,
        "aria-keyshortcuts": key.toUpperCase(),
        disabled: !can[action],
      },
      t(`actions.${action}`),
      el("kbd", { "aria-hidden": "true" }, key),
    );
  const children = [
    notice ? el("div", { class: `notice ${notice.kind}`, role: "alert" }, notice.text) : null,
    state.lost.has(item.id) ? el("div", { class: "notice info" }, t("claimLost")) : null,
    el("div", { class: "chips" }, chips),
    item.erased ? el("p", { class: "notice info" }, t("erased")) : null,
    el("dl", { class: "meta" }, meta.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)])),
    el("h2", { class: "comment-title", id: "card-title" }, item.title),
    el("p", { class: "comment-body" }, item.body),
    el(
      "div",
      { class: "actions", role: "group", "aria-label": t("actionsLabel") },
      actionButton("approve", "a", "approve"),
      actionButton("reject", "r", "reject"),
      actionButton("edit", "e", "edit"),
      actionButton("hide", "h", "hide"),
      actionButton("restore", "u", "restore"),
      actionButton("rejectAuthor", "x", "reject-author"),
    ),
    el("h3", {}, t("flagsHeading", { n: item.flags.length })),
    item.flags.length
      ? el("ul", { class: "flags" }, item.flags.map(flagLine))
      : el("p", { class: "explain" }, t("noFlags")),
  ];
  if (item.report_count) {
    children.push(el("h3", {}, t("reportsHeading", { n: item.report_count })), reportList(item.report_reasons));
  }
  children.push(
    el("section", { class: "related-section", "aria-labelledby": "related-heading" }),
    el("section", { class: "history-section", "aria-labelledby": "history-heading" }),
  );
  const focused = ui.card.contains(document.activeElement) && document.activeElement !== ui.card;
  ui.card.replaceChildren(...nodes(children));
  if (focused) ui.card.focus({ preventScroll: true });
  ui.card.dataset.id = item.id;
  ui.card.setAttribute("aria-labelledby", "card-title");
  const cached = state.details.get(item.id);
  if (cached && cached.version === item.version) renderDetails(item, cached);
  else loadDetails(item);
}

function flagLine(flag) {
  const [label, explanation] = text().flags[flag.code] || [flag.code, ""];
  const field = flag.field ? ` ${t("inField", { field: t(`fields.${flag.field}`) })}` : "";
  return el(
    "li",
    { "data-flag": flag.code },
    el("span", { class: "chip flag" }, label),
    field,
    flag.detail ? `: ${flag.detail}` : "",
    explanation ? el("span", { class: "explain" }, ` — ${explanation}`) : null,
  );
}

function reportList(reasons) {
  const counts = new Map();
  for (const reason of reasons || []) counts.set(reason, (counts.get(reason) || 0) + 1);
  return el(
    "ul",
    { class: "reports" },
    [...counts].map(([reason, n]) => el("li", {}, `${t(`reasons.${reason}`)}: ${n}`)),
  );
}

async function loadDetails(item) {
  if (state.detailAbort) state.detailAbort.abort();
  const controller = new AbortController();
  state.detailAbort = controller;
  const loading = { version: item.version, loading: true };
  renderDetails(item, loading);
  let entry;
  try {
    const base = `/api/v1/moderation/comments/${encodeURIComponent(item.id)}`;
    const [related, history] = await Promise.all([
      api("GET", `${base}/related`, undefined, controller.signal),
      api("GET", `${base}/history`, undefined, controller.signal),
    ]);
    entry = { version: item.version, related: related.items, history: history.events };
    state.details.set(item.id, entry);
  } catch (error) {
    if (quiet(error)) return;
    entry = { version: item.version, error: describe(error) };
  } finally {
    if (state.detailAbort === controller) state.detailAbort = null;
  }
  if (ui.card.dataset.id === item.id) renderDetails(item, entry);
}

function renderDetails(item, entry) {
  const related = ui.card.querySelector(".related-section");
  const history = ui.card.querySelector(".history-section");
  if (!related || !history) return;
  if (entry.loading || entry.error) {
    const message = entry.loading ? t("loading") : t("detailsFailed", { message: entry.error });
    related.replaceChildren(
      el("h3", { id: "related-heading" }, t("relatedHeading", { n: "…" })),
      el("p", { class: "explain" }, message),
    );
    history.replaceChildren(
      el("h3", { id: "history-heading" }, t("historyHeading")),
      el("p", { class: "explain" }, message),
    );
    return;
  }
  const many = entry.related.length >= RELATED_SHOWN;
  related.replaceChildren(
    el("h3", { id: "related-heading" }, many ? t("relatedMany") : t("relatedHeading", { n: entry.related.length })),
    entry.related.length
      ? el("ul", { class: "related" }, entry.related.map(relatedLine))
      : el("p", { class: "explain" }, t("relatedNone")),
  );
  history.replaceChildren(
    el("h3", { id: "history-heading" }, t("historyHeading")),
    el("ol", { class: "history" }, entry.history.map(historyLine)),
  );
}

function relatedLine(other) {
  return el(
    "li",
    { "data-id": other.id },
    el("span", { class: `chip ${other.status}` }, t(`statusNames.${other.status}`)),
    " ",
    el("strong", {}, other.title),
    " · ",
    other.article_id,
    " · ",
    el("time", { datetime: other.submitted_at }, formatTime(other.submitted_at)),
    el("details", {}, el("summary", {}, t("textShown")), el("pre", {}, other.body)),
  );
}

function actorName(actor) {
  if (actor === "reader") return t("actorReader");
  if (actor === "system") return t("actorSystem");
  return String(actor || "").replace(/^moderator:/, "");
}

function historyLine(event) {
  const data = event.data || {};
  const why = [];
  if (data.reason_code) why.push(`${t("reasonLabel")}: ${t(`reasons.${data.reason_code}`)}`);
  if (data.reason) why.push(`${t("reasonLabel")}: ${t(`reasons.${data.reason}`)}`);
  if (data.note) why.push(t("noteLine", { note: data.note }));
  if (event.type === "CommentSubmitted") {
    if (data.held) why.push(t("heldAtSubmit"));
    else if (data.visible) why.push(t("publishedAtOnce"));
    if (data.flags && data.flags.length) {
      const labels = data.flags.map((flag) => (text().flags[flag.code] || [flag.code])[0]);
      why.push(t("flagsAtSubmit", { flags: labels.join(", ") }));
    }
  }
  const shown = EVENTS.includes(event.type) ? t(`events.${event.type}`) : event.type;
  const withText = event.type === "CommentSubmitted" || event.type === "CommentEdited";
  return el(
    "li",
    { "data-type": event.type },
    el("time", { datetime: event.recorded_at }, formatTime(event.recorded_at)),
    " ",
    el("strong", {}, shown),
    " ",
    el("span", { class: "actor" }, t("by", { actor: actorName(event.actor) })),
    why.length ? el("span", { class: "why" }, why.join(" · ")) : null,
    withText
      ? el(
          "details",
          {},
          el("summary", {}, t("textShown")),
          event.personal_data === "erased"
            ? el("p", {}, t("personalErased"))
            : [el("strong", {}, data.title || ""), el("pre", {}, data.body || "")],
        )
      : null,
  );
}

// --- decisions -------------------------------------------------------------------------------------------------
function refuse(action, item) {
  warn(t("invalid", { action: t(`actions.${action}`).toLowerCase(), status: t(`statusNames.${item.status}`) }));
}

/** Reload one comment from the service; `newerOnly` keeps a copy that a later decision already moved on. */
async function refresh(item, newerOnly = false) {
  try {
    const fresh = await api("GET", `/api/v1/moderation/comments/${encodeURIComponent(item.id)}`);
    const index = state.items.findIndex((known) => known.id === item.id);
    if (index < 0 || (newerOnly && state.items[index].version > fresh.version)) return state.items[index] || fresh;
    // In place: a dialog or a decision on its way keeps pointing at the same comment.
    Object.assign(state.items[index], fresh);
    state.details.delete(item.id);
    if (fresh.claimed_by === null || (state.me && fresh.claimed_by !== state.me)) state.held.delete(item.id);
    return state.items[index];
  } catch (error) {
    if (error.status === 404) state.notices.set(item.id, { kind: "error", text: t("notFound") });
    return item;
  }
}

/** One decision on the card shown when the key was pressed (`seen`: its id and the version the moderator saw). */
async function decide(action, extra, seen) {
  const item = seen && state.items.find((known) => known.id === seen.id);
  if (!item) return;
  if (state.busy) {
    announce(t("busy"));
    return;
  }
  state.busy = true;
  ui.card.setAttribute("aria-busy", "true");
  state.notices.delete(item.id);
  try {
    const result = await api("POST", `/api/v1/moderation/comments/${encodeURIComponent(item.id)}/${action}`, {
      expected_version: seen.version,
      ...extra,
    });
    // The service releases the lease of a decided comment.
    state.held.delete(item.id);
    state.lost.delete(item.id);
    item.claimed_by = null;
    item.claim_expires_at = null;
    item.status = result.status;
    item.version = result.version;
    if (extra && extra.title) item.title = extra.title;
    if (extra && extra.body) item.body = extra.body;
    if (action === "approve" || action === "restore") item.published = item.status === "approved";
    if (action === "reject" || action === "hide") item.published = false;
    state.details.delete(item.id);
    let message = t(`done.${action}`, { title: item.title });
    if (action === "edit") {
      renderQueue();
      renderCard();
    } else {
      state.decided.add(item.id);
      renderQueue();
      message += advance();
    }
    announce(message);
    refresh(item, true).then(updateShown);
  } catch (error) {
    await refused(action, item, error);
  } finally {
    state.busy = false;
    ui.card.removeAttribute("aria-busy");
  }
}

function updateShown(fresh) {
  if (!state.token) return;
  renderQueue();
  if (current() && current().id === fresh.id) renderCard();
}

async function refused(action, item, error) {
  if (quiet(error)) return;
  let message;
  let fresh = item;
  if (error.code === "version_conflict" || error.code === "claimed" || error.code === "invalid_transition") {
    fresh = await refresh(item);
  }
  if (error.code === "version_conflict") {
    message = t("conflict", { v: fresh.version });
    state.notices.set(item.id, { kind: "conflict", text: message });
  } else if (error.code === "claimed") {
    // The answer names the holder ("lan is working on this comment"); the reloaded comment does too.
    const named = (error.message || "").replace(/ is working on this comment$/, "");
    const holder = fresh.claimed_by || named || t("someoneElse");
    message = t("claimedBy", { name: holder });
    state.notices.set(item.id, { kind: "conflict", text: message });
  } else if (error.code === "invalid_transition") {
    const verb = t(`actions.${action}`).toLowerCase();
    message = t("invalid", { action: verb, status: t(`statusNames.${fresh.status}`) });
    state.notices.set(item.id, { kind: "error", text: message });
  } else if (error.status === 404) {
    message = t("notFound");
    state.notices.set(item.id, { kind: "error", text: message });
  } else {
    message = describe(error);
  }
  warn(message);
  renderQueue();
  if (current() && current().id === item.id) renderCard();
}

function act(action) {
  const item = current();
  if (!item) return;
  if (state.busy) {
    // A key pressed again while the last decision is on its way must not land on the next card unseen.
    announce(t("busy"));
    return;
  }
  if (!allowed(item)[action]) {
    refuse(action, item);
    return;
  }
  state.target = { id: item.id, version: item.version };
  if (action === "approve" || action === "restore") decide(action, {}, state.target);
  else if (action === "reject" || action === "hide") openReasons(action);
  else if (action === "edit") openEdit(item);
  else if (action === "rejectAuthor") openAuthor(item);
}

// --- dialogs ---------------------------------------------------------------------------------------------------
function openReasons(mode) {
  state.reasonMode = mode;
  ui.reasonTitle.textContent = t(`reasonTitle.${mode}`);
  ui.reasonNote.value = "";
  ui.reasonDialog.showModal();
  ui.reasonChoices.querySelector("button").focus();
}

function chooseReason(reason) {
  const note = ui.reasonNote.value.trim();
  ui.reasonDialog.close();
  decide(state.reasonMode, note ? { reason_code: reason, note } : { reason_code: reason }, state.target);
}

function openEdit(item) {
  ui.editTitle.value = item.title;
  ui.editBody.value = item.body;
  ui.editNote.value = "";
  ui.editError.textContent = "";
  ui.editNote.removeAttribute("aria-invalid");
  ui.editDialog.showModal();
  ui.editBody.focus();
}

function saveEdit(event) {
  event.preventDefault();
  const item = state.target && state.items.find((known) => known.id === state.target.id);
  if (!item) return;
  const title = ui.editTitle.value.trim();
  const body = ui.editBody.value.trim();
  const note = ui.editNote.value.trim();
  const problem = !title || !body ? "textRequired" : !note ? "noteRequired" : null;
  if (problem) {
    ui.editError.textContent = t(problem);
    const field = problem === "noteRequired" ? ui.editNote : !title ? ui.editTitle : ui.editBody;
    field.setAttribute("aria-invalid", "true");
    field.focus();
    return;
  }
  const change = { note };
  if (title !== item.title) change.title = title;
  if (body !== item.body) change.body = body;
  if (!change.title && !change.body) {
    ui.editError.textContent = t("nothingChanged");
    ui.editBody.focus();
    return;
  }
  ui.editDialog.close();
  decide("edit", change, state.target);
}

async function openAuthor(item) {
  let related;
  try {
    // Counted afresh: the wave may have grown since the card was shown.
    related = (await api("GET", `/api/v1/moderation/comments/${encodeURIComponent(item.id)}/related`)).items;
  } catch (error) {
    if (!quiet(error)) warn(describe(error));
    return;
  }
  if (!current() || current().id !== item.id || document.querySelector("dialog[open]")) return;
  const pending = related.filter((other) => other.status === "pending").length + (item.status === "pending" ? 1 : 0);
  const count = related.length >= RELATED_SHOWN ? t("authorAtLeast", { n: pending }) : pending;
  const who = item.phone ? t("authorByPhone", { phone: item.phone }) : t("authorByName");
  ui.authorSummary.textContent = t("authorSummary", { name: item.author_name, who, n: count });
  ui.authorNote.value = "";
  const spam = ui.authorReasons.querySelector('input[value="spam"]');
  if (spam) spam.checked = true;
  ui.authorDialog.dataset.id = item.id;
  ui.authorDialog.showModal();
  $("author-confirm").focus();
}

async function rejectAuthor(event) {
  event.preventDefault();
  const id = ui.authorDialog.dataset.id;
  const item = state.items.find((known) => known.id === id);
  const reason = ui.authorReasons.querySelector("input:checked")?.value || "spam";
  const note = ui.authorNote.value.trim();
  ui.authorDialog.close();
  if (!item || state.busy) return;
  state.busy = true;
  ui.card.setAttribute("aria-busy", "true");
  announce(t("busy"));
  try {
    const result = await api(
      "POST",
      `/api/v1/moderation/comments/${encodeURIComponent(id)}/reject-author`,
      note ? { reason_code: reason, note } : { reason_code: reason },
    );
    const done = result.results.filter((entry) => entry.status);
    const failed = result.results.filter((entry) => !entry.status);
    const byId = new Map(done.map((entry) => [entry.id, entry]));
    for (const shown of state.items) {
      const entry = byId.get(shown.id);
      if (!entry) continue;
      Object.assign(shown, { status: entry.status, version: entry.version, published: false, claimed_by: null });
      state.held.delete(shown.id);
      state.lost.delete(shown.id);
      state.decided.add(shown.id);
      state.details.delete(shown.id);
    }
    state.details.delete(id);
    let message = t("authorDone", { n: done.length, name: item.author_name });
    if (failed.length) {
      const codes = [...new Set(failed.map((entry) => entry.error.code))].join(", ");
      message += ` ${t("authorPartial", { n: failed.length, codes })}`;
    }
    renderQueue();
    if (state.decided.has(id)) message += advance();
    else renderCard();
    (failed.length ? warn : announce)(message);
  } catch (error) {
    if (!quiet(error)) warn(describe(error));
  } finally {
    state.busy = false;
    ui.card.removeAttribute("aria-busy");
  }
}

function openHelp() {
  if (!ui.helpDialog.open) ui.helpDialog.showModal();
}

// --- keyboard --------------------------------------------------------------------------------------------------
const SHORTCUTS = {
  j: () => move(1),
  k: () => move(-1),
  a: () => act("approve"),
  r: () => act("reject"),
  e: () => act("edit"),
  h: () => act("hide"),
  u: () => act("restore"),
  x: () => act("rejectAuthor"),
  c: () => claimMore(),
  "?": () => openHelp(),
};

const NOT_TYPED = new Set(["radio", "checkbox", "button", "submit", "reset"]);

/** Whether keys typed here are text (so they are not shortcuts). */
function typing(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  return target.tagName === "INPUT" && !NOT_TYPED.has(target.type);
}

function onKey(event) {
  noteActivity();
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (!state.token || ui.workspace.hidden || document.querySelector("dialog[open]")) return;
  if (typing(event.target)) {
    if (event.key === "Escape" && ui.filters.contains(event.target)) focusList();
    return;
  }
  const shortcut = SHORTCUTS[event.key.length === 1 ? event.key.toLowerCase() : event.key];
  if (!shortcut) return;
  event.preventDefault();
  shortcut();
}

function onReasonKey(event) {
  if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
  const number = Number(event.key);
  if (Number.isInteger(number) && number >= 1 && number <= REASONS.length) {
    event.preventDefault();
    chooseReason(REASONS[number - 1]);
  }
}

function onAuthorKey(event) {
  if (typing(event.target)) return;
  const number = Number(event.key);
  if (Number.isInteger(number) && number >= 1 && number <= REASONS.length) {
    event.preventDefault();
    const radio = ui.authorReasons.querySelector(`input[value="${REASONS[number - 1]}"]`);
    if (radio) radio.checked = true;
  }
}

function focusList() {
  const button = ui.queue.querySelector('[aria-current="true"]');
  if (button) button.focus({ preventScroll: true });
  else ui.card.focus({ preventScroll: true });
}

async function claimMore() {
  if (state.view !== "mine") {
    state.view = "mine";
    writeLocation();
    renderFilters();
  }
  await claim(BATCH, { rebuild: true });
}

// --- wiring: every listener once --------------------------------------------------------------------------------
function wire() {
  document.addEventListener("keydown", onKey);
  document.addEventListener("pointerdown", noteActivity, { passive: true });
  ui.signinForm.addEventListener("submit", signIn);
  ui.token.addEventListener("input", () => ui.token.removeAttribute("aria-invalid"));
  ui.signout.addEventListener("click", signOut);
  ui.help.addEventListener("click", openHelp);
  ui.lang.addEventListener("click", () => {
    state.lang = state.lang === "vi" ? "en" : "vi";
    localStorage.setItem(LANG_KEY, state.lang);
    applyLanguage();
  });
  ui.filters.addEventListener("submit", applyFilters);
  for (const radio of ui.filters.elements.view) radio.addEventListener("change", () => applyFilters());
  ui.claim.addEventListener("click", claimMore);
  ui.more.addEventListener("click", () => browse(false));
  ui.queue.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-index]");
    if (button) select(Number(button.dataset.index));
  });
  ui.card.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button && !button.disabled) act(button.dataset.action);
  });
  ui.reasonChoices.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-reason]");
    if (button) chooseReason(button.dataset.reason);
  });
  ui.reasonDialog.addEventListener("keydown", onReasonKey);
  ui.authorDialog.addEventListener("keydown", onAuthorKey);
  ui.editForm.addEventListener("submit", saveEdit);
  ui.editForm.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) ui.editForm.requestSubmit();
  });
  ui.editNote.addEventListener("input", () => ui.editNote.removeAttribute("aria-invalid"));
  ui.authorForm.addEventListener("submit", rejectAuthor);
  for (const button of document.querySelectorAll("dialog [data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  // A closed dialog hands the keyboard back to the list.
  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.addEventListener("close", () => {
      if (!ui.workspace.hidden) focusList();
    });
  }
}

function start() {
  const saved = localStorage.getItem(LANG_KEY);
  state.lang = saved === "en" || saved === "vi" ? saved : "vi";
  readLocation();
  wire();
  applyLanguage();
  state.token = sessionStorage.getItem(TOKEN_KEY);
  if (state.token) {
    startSession();
  } else {
    ui.signin.hidden = false;
    ui.token.focus();
  }
}

start();
