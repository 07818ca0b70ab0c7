// localrds console: the shell (session, region, navigation, banners, dialogs) and the RDS pages.
// Vanilla ES2020, no libraries, CSP-clean: every element is built with el(), never from HTML
// strings with attributes, and no inline styles or handlers. The only network is same-origin
// /console/api/*. window.LocalrdsConsole (the contract's "Frontend shell API") is defined
// synchronously so that workshop.js, loaded after this file, can register its pages and tabs;
// the first page renders at DOMContentLoaded, after every deferred script has run.
"use strict";
(() => {
  // ---------------------------------------------------------------- state
  const TOKEN_KEY = "localrds-console-token";
  const REGION_KEY = "localrds-console-region";
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    info: null,
    region: localStorage.getItem(REGION_KEY) || "",
    sessionPromise: null,
    ticks: new Set(),
    pages: new Map(),
    workshopPages: [],
    instanceTabs: [],
    renderSeq: 0,
    samples: new Map(), // region/id -> [{t, lag, status}] for the Monitoring chart
  };

  class ConsoleError extends Error {
    constructor(code, message, status) {
      super(message);
      this.name = "ConsoleError";
      this.code = code;
      this.status = status;
    }
  }

  // ---------------------------------------------------------------- DOM helpers
  const SVG_NS = "http://www.w3.org/2000/svg";
  const SVG_TAGS = new Set(["svg", "g", "path", "line", "polyline", "rect", "circle", "text", "title"]);

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      child.forEach((c) => append(node, c));
    } else if (child instanceof Node) {
      node.appendChild(child);
    } else {
      node.appendChild(document.createTextNode(String(child)));
    }
  }

  function el(tag, attrs, ...children) {
    const svg = SVG_TAGS.has(tag);
    const node = svg ? document.createElementNS(SVG_NS, tag) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "class") node.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
      else if (k === "for") node.setAttribute("for", v);
      else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2).toLowerCase(), v);
      else if (!svg && (k === "value" || k === "checked" || k === "selected" || k === "indeterminate")) node[k] = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (v === true) node.setAttribute(k, "");
      else node.setAttribute(k, String(v));
    }
    append(node, children);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  let idCounter = 0;
  const uid = (p) => `${p || "f"}-${++idCounter}`;

  // ---------------------------------------------------------------- formatting
  function fmtTime(iso) {
    if (!iso) return "-";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
  }
  const yesNo = (b) => (b ? "Yes" : "No");
  const dash = (v) => (v === undefined || v === null || v === "" ? "-" : String(v));
  function engineName(e) {
    if (!e) return "-";
    if (e === "postgres") return "PostgreSQL";
    return e;
  }
  function fmtLag(v) {
    if (v === undefined || v === null || v === "" || Number(v) < 0) return "-";
    return `${Number(v)} seconds`;
  }

  const STATUS_CLASSES = {
    available: "ok",
    stopped: "off", stopping: "off", deleting: "off", deleted: "off", retained: "off",
    failed: "bad", "storage-full": "bad", "inaccessible-encryption-credentials": "bad", error: "bad",
    "restore-error": "bad",
  };
  function statusClass(status) {
    const s = String(status || "").toLowerCase();
    if (STATUS_CLASSES[s]) return STATUS_CLASSES[s];
    if (s.startsWith("incompatible-")) return "bad";
    if (["active", "in-sync", "replicating", "completed", "complete", "in-use"].includes(s)) return "ok";
    if (!s) return "off";
    return "busy";
  }
  function statusLabel(s) {
    const t = String(s || "-");
    return t.charAt(0).toUpperCase() + t.slice(1);
  }
  function statusBadge(status) {
    const cls = statusClass(status);
    return el("span", { class: ["status", `status-${cls}`], "data-status": status || "" },
      el("span", { class: "status-dot", "aria-hidden": "true" }), statusLabel(status));
  }

  // ---------------------------------------------------------------- session and HTTP
  function region() {
    return state.region || (state.info && state.info.defaultRegion) || "us-east-1";
  }

  async function fetchJson(method, path, { body, query, form, auth = true } = {}) {
    let url = `/console/api/${path}`;
    const q = new URLSearchParams(query || {});
    if ([...q.keys()].length) url += `?${q}`;
    const headers = { Accept: "application/json" };
    let payload;
    if (form !== undefined) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      payload = form;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    if (auth) headers["X-Localrds-Console-Token"] = state.token;
    let resp;
    try {
      resp = await fetch(url, { method, headers, body: payload, credentials: "same-origin", cache: "no-store" });
    } catch (e) {
      const err = new ConsoleError("NetworkError", `localrds cannot be reached: ${e.message}`, 0);
      // One banner while localrds is away (restarting, stopped); it goes once it answers again.
      if (!document.querySelector(".banner-error[data-offline]")) showError(err).setAttribute("data-offline", "");
      throw err;
    }
    document.querySelectorAll(".banner-error[data-offline]").forEach((n) => n.remove());
    let data = null;
    const text = await resp.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!resp.ok) {
      const err = (data && data.error) || {};
      const ce = new ConsoleError(err.code || `HTTP${resp.status}`,
        err.message || `${resp.status} ${resp.statusText || ""} ${text.slice(0, 200)}`.trim(), resp.status);
      if (err.sqlstate) ce.sqlstate = err.sqlstate;
      if (data && data.results) ce.results = data.results;
      throw ce;
    }
    return data || {};
  }

  // One call with the session token; a 403 AccessDenied (no token, or localrds restarted) gets a
  // new session and the call is tried once more.
  async function authed(method, path, opts) {
    await ensureSession();
    try {
      return await fetchJson(method, path, opts);
    } catch (e) {
      if (e instanceof ConsoleError && e.status === 403 && e.code === "AccessDenied") {
        state.token = "";
        sessionStorage.removeItem(TOKEN_KEY);
        await ensureSession();
        return fetchJson(method, path, opts);
      }
      throw e;
    }
  }

  async function loadInfo() {
    if (!state.info) state.info = await fetchJson("GET", "info", { auth: false });
    return state.info;
  }

  function ensureSession() {
    if (state.token) return Promise.resolve(state.token);
    if (!state.sessionPromise) {
      state.sessionPromise = (async () => {
        const info = await loadInfo();
        let res;
        if (info.credentialsRequired) {
          res = await askForAccessKey();
        } else {
          res = await fetchJson("POST", "session", { body: {}, auth: false });
        }
        state.token = res.token;
        sessionStorage.setItem(TOKEN_KEY, res.token);
        showSessionInfo(res.account || info.account);
        return res.token;
      })().finally(() => {
        state.sessionPromise = null;
      });
    }
    return state.sessionPromise;
  }

  function showSessionInfo(account) {
    const node = document.getElementById("session-info");
    if (node) node.textContent = account ? `Account ${account}` : "";
  }

  // The access-key form (localrds --credentials): a dialog that resolves with the session.
  function askForAccessKey() {
    return new Promise((resolve) => {
      const idField = uid("ak");
      const secretField = uid("sk");
      const errBox = el("div", { class: "dialog-error", role: "alert", hidden: true });
      const keyInput = el("input", { id: idField, type: "text", autocomplete: "username", required: true, spellcheck: "false" });
      const secretInput = el("input", { id: secretField, type: "password", autocomplete: "current-password", required: true });
      const dlg = openDialog({
        title: "Sign in to localrds",
        closable: false,
        body: [
          el("p", { text: "This localrds runs with --credentials: enter an access key it knows." }),
          errBox,
          field("Access key ID", keyInput, idField),
          field("Secret access key", secretInput, secretField),
        ],
        primary: "Sign in",
        onSubmit: async () => {
          try {
            const res = await fetchJson("POST", "session", {
              body: { accessKeyId: keyInput.value.trim(), secretAccessKey: secretInput.value },
              auth: false,
            });
            resolve(res);
            return true;
          } catch (e) {
            errBox.hidden = false;
            errBox.textContent = e.message;
            return false;
          }
        },
      });
      return dlg;
    });
  }

  function api(action, params = {}, opts = {}) {
    const form = new URLSearchParams();
    form.set("Action", action);
    form.set("Version", "2014-10-31");
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined || v === null || v === "") continue;
      form.set(k, typeof v === "boolean" ? (v ? "true" : "false") : String(v));
    }
    return authed("POST", "rds", { form: form.toString(), query: { region: opts.region || region() } })
      .then((d) => d.result || {});
  }

  // Every page of a paginated Describe call, concatenated.
  async function apiAll(action, params, listKey, opts) {
    let marker;
    const out = [];
    for (let i = 0; i < 50; i++) {
      const res = await api(action, { ...params, Marker: marker }, opts);
      out.push(...(res[listKey] || []));
      if (!res.Marker) break;
      marker = res.Marker;
    }
    return out;
  }

  function post(path, body, opts = {}) {
    return authed("POST", path, { body: body || {}, query: { region: opts.region || region() } });
  }

  function get(path, query = {}) {
    return authed("GET", path, { query: { region: region(), ...query } });
  }

  // ---------------------------------------------------------------- banners
  function banners() {
    return document.getElementById("banners");
  }

  function showError(err) {
    const message = err && err.message ? err.message : String(err);
    const code = err && err.code ? err.code : "";
    const box = el("div", { class: "banner banner-error", role: "alert", "data-code": code },
      el("span", { class: "banner-icon banner-icon-error", "aria-hidden": "true" }),
      el("div", { class: "banner-text" },
        code ? el("strong", { class: "banner-code", text: code }) : null,
        el("span", { class: "banner-message", text: message })),
      el("button", { type: "button", class: "btn btn-link", onclick: () => box.remove() }, "Dismiss"));
    // One error at a time, the newest: the RDS console replaces its flash bar too. While a dialog
    // is open the error shows at the top of the dialog, where the user is looking.
    document.querySelectorAll(".banner-error").forEach((n) => n.remove());
    const top = dialogStack[dialogStack.length - 1];
    if (top) top.box.querySelector(".dialog-body").prepend(box);
    else banners().prepend(box);
    if (err instanceof Error && !(err instanceof ConsoleError)) console.error(err);
    return box;
  }

  function showNotice(text) {
    const box = el("div", { class: "banner banner-notice", role: "status" },
      el("span", { class: "banner-icon banner-icon-ok", "aria-hidden": "true" }),
      el("div", { class: "banner-text" }, el("span", { class: "banner-message", text })),
      el("button", { type: "button", class: "btn btn-link", onclick: () => box.remove() }, "Dismiss"));
    banners().appendChild(box);
    const notices = banners().querySelectorAll(".banner-notice");
    if (notices.length > 2) notices[0].remove();
    // Notices fade after a while unless they hold something to copy (a generated password).
    setTimeout(() => { if (!box.querySelector("code")) box.remove(); }, 10000);
    return box;
  }

  function clearErrors() {
    document.querySelectorAll(".banner-error").forEach((n) => n.remove());
  }

  // ---------------------------------------------------------------- dialogs
  const dialogStack = [];

  // A modal dialog: focus goes to its first field, Tab stays inside, Escape or Cancel closes it
  // and focus returns to what opened it. onSubmit returns true (or a promise of true) to close.
  function openDialog({ title, body, primary, onSubmit, closable = true, danger = false, wide = false, secondary }) {
    const root = document.getElementById("dialog-root");
    const opener = document.activeElement;
    const titleId = uid("dlg-title");
    const primaryBtn = primary
      ? el("button", { type: "submit", class: ["btn", danger ? "btn-danger" : "btn-primary"] }, primary)
      : null;
    const cancelBtn = closable ? el("button", { type: "button", class: "btn", onclick: () => close() }, "Cancel") : null;
    const content = el("div", { class: "dialog-body" });
    append(content, body);
    const form = el("form", { class: "dialog-form", novalidate: true },
      content,
      el("div", { class: "dialog-footer" }, secondary || null, cancelBtn, primaryBtn));
    const box = el("div", { class: ["dialog", wide ? "dialog-wide" : null], role: "dialog", "aria-modal": "true", "aria-labelledby": titleId },
      el("div", { class: "dialog-header" },
        el("h2", { id: titleId, text: title }),
        closable ? el("button", { type: "button", class: "btn btn-icon", "aria-label": "Close", onclick: () => close() }, "\u00d7") : null),
      form);
    const overlay = el("div", { class: "dialog-overlay" }, box);
    let busy = false;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (busy || !onSubmit) return;
      busy = true;
      if (primaryBtn) primaryBtn.disabled = true;
      try {
        const ok = await onSubmit(handle);
        if (ok !== false) close();
      } catch (e) {
        showError(e);
      } finally {
        busy = false;
        if (primaryBtn && primaryBtn.isConnected) {
          primaryBtn.disabled = handle.primaryDisabled;
          // Disabling the button while busy dropped the focus: give it back inside the dialog.
          if (!box.contains(document.activeElement)) (primaryBtn.disabled ? box.querySelector("input, select, button") : primaryBtn).focus();
        }
      }
    });
    overlay.addEventListener("keydown", (ev) => {
      if (ev.key === "Tab") {
        const focusables = [...box.querySelectorAll("button, input, select, textarea, a[href], [tabindex]:not([tabindex='-1'])")]
          .filter((n) => !n.disabled && n.offsetParent !== null);
        if (!focusables.length) return;
        const first = focusables[0];
        const last = focusables[focusables.length - 1];
        if (ev.shiftKey && document.activeElement === first) {
          ev.preventDefault();
          last.focus();
        } else if (!ev.shiftKey && document.activeElement === last) {
          ev.preventDefault();
          first.focus();
        }
      }
    });
    function close() {
      overlay.remove();
      const i = dialogStack.indexOf(handle);
      if (i >= 0) dialogStack.splice(i, 1);
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    }
    const handle = {
      box, form, close, primaryBtn, closable,
      primaryDisabled: false,
      setPrimaryDisabled(d) {
        handle.primaryDisabled = d;
        if (primaryBtn) primaryBtn.disabled = d;
      },
    };
    root.appendChild(overlay);
    dialogStack.push(handle);
    const focusTarget = box.querySelector("input:not([type=hidden]):not([disabled]), select, textarea") || primaryBtn || cancelBtn;
    if (focusTarget) focusTarget.focus();
    return handle;
  }

  // Escape closes the topmost dialog wherever the focus is (it may have left the dialog).
  document.addEventListener("keydown", (ev) => {
    const top = dialogStack[dialogStack.length - 1];
    if (ev.key === "Escape" && top && top.closable) {
      ev.preventDefault();
      top.close();
    }
  });
  function closeAllDialogs() {
    for (const d of [...dialogStack].reverse()) if (d.closable) d.close();
  }

  function confirmDialog(title, text, primary, action, danger = false) {
    return openDialog({ title, body: el("p", { text }), primary, danger, onSubmit: action });
  }

  // ---------------------------------------------------------------- form helpers
  function field(label, control, id, hint) {
    const hintId = hint ? uid("hint") : null;
    if (hintId) control.setAttribute("aria-describedby", hintId);
    return el("div", { class: "field" },
      el("label", { for: id, text: label }),
      hint ? el("div", { class: "hint", id: hintId, text: hint }) : null,
      control);
  }

  function textField(label, opts = {}) {
    const id = uid("in");
    const input = el("input", {
      id, type: opts.type || "text", value: opts.value ?? "", placeholder: opts.placeholder,
      min: opts.min, max: opts.max, step: opts.step, required: opts.required, autocomplete: opts.autocomplete || "off",
      spellcheck: "false", name: opts.name,
    });
    return { input, node: field(label, input, id, opts.hint) };
  }

  function selectField(label, options, value, hint) {
    const id = uid("sel");
    const select = el("select", { id },
      options.map((o) => {
        const [v, t] = Array.isArray(o) ? o : [o, o];
        return el("option", { value: v, selected: v === value }, t);
      }));
    if (value !== undefined) select.value = value;
    return { input: select, node: field(label, select, id, hint) };
  }

  function checkField(label, checked, hint) {
    const id = uid("chk");
    const input = el("input", { id, type: "checkbox", checked: !!checked });
    const hintId = hint ? uid("hint") : null;
    if (hintId) input.setAttribute("aria-describedby", hintId);
    return {
      input,
      node: el("div", { class: "field field-check" }, input, el("label", { for: id, text: label }),
        hint ? el("div", { class: "hint", id: hintId, text: hint }) : null),
    };
  }

  function radioGroup(legend, name, options, value) {
    const inputs = {};
    const fs = el("fieldset", { class: "radio-group" }, el("legend", { text: legend }),
      options.map(([v, label, hint]) => {
        const id = uid("rad");
        const hintId = hint ? uid("hint") : null;
        const input = el("input", { id, type: "radio", name, value: v, checked: v === value, "aria-describedby": hintId });
        inputs[v] = input;
        return el("div", { class: "radio-option" }, input,
          el("div", { class: "radio-text" }, el("label", { for: id, class: "radio-title", text: label }), hint ? el("span", { class: "hint", id: hintId, text: hint }) : null));
      }));
    return {
      node: fs, inputs,
      get value() {
        const c = Object.values(inputs).find((i) => i.checked);
        return c ? c.value : "";
      },
    };
  }

  function keyValueList(rows) {
    return el("dl", { class: "kv" }, rows.filter(Boolean).map(([k, v]) => el("div", { class: "kv-row" },
      el("dt", { text: k }), el("dd", {}, v instanceof Node ? v : dash(v)))));
  }

  // ---------------------------------------------------------------- tables
  // A table with an optional radio selection column (the RDS console's single-select tables).
  function dataTable({ columns, rows, keyOf, selectable = false, selected, onSelect, empty = "No resources to display", label, rowClass }) {
    const name = uid("sel");
    const thead = el("thead", {}, el("tr", {},
      selectable ? el("th", { class: "col-select" }, el("span", { class: "sr-only", text: "Select" })) : null,
      columns.map((c) => el("th", { scope: "col", text: c.title }))));
    const tbody = el("tbody");
    const colCount = columns.length + (selectable ? 1 : 0);
    if (!rows.length) {
      tbody.appendChild(el("tr", { class: "empty-row" }, el("td", { colspan: colCount, text: empty })));
    }
    for (const row of rows) {
      const key = keyOf ? keyOf(row) : "";
      const tr = el("tr", { class: [rowClass ? rowClass(row) : null, selectable && key === selected ? "selected" : null], "data-key": key });
      if (selectable) {
        const radio = el("input", {
          type: "radio", name, value: key, checked: key === selected, "aria-label": `Select ${key}`,
          onchange: () => {
            tbody.querySelectorAll("tr.selected").forEach((n) => n.classList.remove("selected"));
            tr.classList.add("selected");
            if (onSelect) onSelect(key, row);
          },
        });
        tr.appendChild(el("td", { class: "col-select" }, radio));
        tr.addEventListener("click", (ev) => {
          if (ev.target.closest("a, button, input, select, textarea")) return;
          if (!radio.checked) {
            radio.checked = true;
            radio.dispatchEvent(new Event("change"));
          }
        });
      }
      for (const c of columns) {
        const v = c.render ? c.render(row) : row[c.key];
        tr.appendChild(el("td", { class: c.class }, v instanceof Node ? v : dash(v)));
      }
      tbody.appendChild(tr);
    }
    return el("div", { class: "table-wrap" }, el("table", { class: "data-table", "aria-label": label }, thead, tbody));
  }

  // ---------------------------------------------------------------- Actions menu
  // A button `Actions` that opens a role=menu of role=menuitem buttons; arrows move, Escape closes.
  function actionsMenu(label, itemsFn) {
    const menuId = uid("menu");
    const btn = el("button", { type: "button", class: "btn", "aria-haspopup": "menu", "aria-expanded": "false", "aria-controls": menuId }, label, el("span", { class: "caret", "aria-hidden": "true", text: "\u25be" }));
    const menu = el("div", { class: "menu", role: "menu", id: menuId, hidden: true, "aria-label": label });
    const wrap = el("div", { class: "menu-wrap" }, btn, menu);
    function items() {
      return [...menu.querySelectorAll("[role=menuitem]:not([disabled])")];
    }
    function close(focusBtn) {
      menu.hidden = true;
      btn.setAttribute("aria-expanded", "false");
      document.removeEventListener("click", outside, true);
      if (focusBtn) btn.focus();
    }
    function outside(ev) {
      if (!wrap.contains(ev.target)) close(false);
    }
    function open() {
      clear(menu);
      for (const it of itemsFn()) {
        if (it.separator) {
          menu.appendChild(el("div", { role: "separator", class: "menu-sep" }));
          continue;
        }
        menu.appendChild(el("button", {
          type: "button", role: "menuitem", class: "menu-item", disabled: !!it.disabled, tabindex: "-1",
          title: it.disabled && it.why ? it.why : null,
          onclick: () => {
            close(true); // the dialog it opens gives the focus back to the Actions button
            it.run();
          },
        }, it.label));
      }
      menu.hidden = false;
      btn.setAttribute("aria-expanded", "true");
      document.addEventListener("click", outside, true);
      const first = items()[0];
      if (first) first.focus();
    }
    btn.addEventListener("click", () => (menu.hidden ? open() : close(true)));
    btn.addEventListener("keydown", (ev) => {
      if (ev.key === "ArrowDown" && menu.hidden) {
        ev.preventDefault();
        open();
      }
    });
    menu.addEventListener("keydown", (ev) => {
      const list = items();
      const i = list.indexOf(document.activeElement);
      if (ev.key === "ArrowDown") {
        ev.preventDefault();
        (list[(i + 1) % list.length] || list[0]).focus();
      } else if (ev.key === "ArrowUp") {
        ev.preventDefault();
        (list[(i - 1 + list.length) % list.length] || list[0]).focus();
      } else if (ev.key === "Home") {
        ev.preventDefault();
        list[0].focus();
      } else if (ev.key === "End") {
        ev.preventDefault();
        list[list.length - 1].focus();
      } else if (ev.key === "Escape" || ev.key === "Tab") {
        if (ev.key === "Escape") ev.preventDefault();
        close(ev.key === "Escape");
      }
    });
    return { node: wrap, button: btn, close };
  }

  // ---------------------------------------------------------------- page scaffolding
  function pageHeader(title, ...buttons) {
    return el("div", { class: "page-header" }, el("h1", { text: title }), el("div", { class: "page-actions" }, buttons));
  }

  function btn(label, onclick, kind, attrs = {}) {
    return el("button", { type: "button", class: ["btn", kind ? `btn-${kind}` : null], onclick, ...attrs }, label);
  }

  function loading(text = "Loading…") {
    return el("div", { class: "loading", role: "status", text });
  }

  function tabs(label, defs, activeId, onChange) {
    const list = el("div", { class: "tabs", role: "tablist", "aria-label": label });
    const panel = el("div", { class: "tab-panel", role: "tabpanel", tabindex: "0" });
    const buttons = [];
    function activate(id, focus) {
      for (const b of buttons) {
        const on = b.dataset.tab === id;
        b.setAttribute("aria-selected", on ? "true" : "false");
        b.tabIndex = on ? 0 : -1;
        if (on) {
          panel.setAttribute("aria-labelledby", b.id);
          if (focus) b.focus();
        }
      }
      onChange(id, clear(panel));
    }
    for (const d of defs) {
      const b = el("button", { type: "button", role: "tab", id: uid("tab"), class: "tab", "data-tab": d.id, "aria-selected": "false", onclick: () => activate(d.id, false) }, d.title);
      buttons.push(b);
      list.appendChild(b);
    }
    list.addEventListener("keydown", (ev) => {
      const i = buttons.indexOf(document.activeElement);
      if (i < 0) return;
      let j = null;
      if (ev.key === "ArrowRight") j = (i + 1) % buttons.length;
      if (ev.key === "ArrowLeft") j = (i - 1 + buttons.length) % buttons.length;
      if (ev.key === "Home") j = 0;
      if (ev.key === "End") j = buttons.length - 1;
      if (j !== null) {
        ev.preventDefault();
        activate(buttons[j].dataset.tab, true);
      }
    });
    return { list, panel, activate };
  }

  // ---------------------------------------------------------------- navigation and routing
  const NAV = [
    { id: "dashboard", title: "Dashboard" },
    { id: "databases", title: "Databases" },
    { id: "query-editor", title: "Query editor", placeholder: true },
    { id: "snapshots", title: "Snapshots" },
    { id: "automated-backups", title: "Automated backups" },
    { id: "events", title: "Events" },
    { id: "parameter-groups", title: "Parameter groups" },
    { id: "subnet-groups", title: "Subnet groups" },
    { id: "option-groups", title: "Option groups" },
    { section: "Workshop" },
    { id: "drills", title: "DR drills", placeholder: true, section: "workshop" },
    { id: "tutorial", title: "Tutorial", placeholder: true, section: "workshop" },
  ];

  function renderNav() {
    const list = document.getElementById("nav-list");
    if (!list) return;
    clear(list);
    const current = currentRoute().page;
    const extra = state.workshopPages.filter((p) => !NAV.some((n) => n.id === p.id));
    const entries = [...NAV, ...extra.map((p) => ({ id: p.id, title: p.title, section: "workshop" }))];
    for (const item of entries) {
      if (item.section && !item.id) {
        list.appendChild(el("li", { class: "nav-section", role: "presentation", text: item.section }));
        continue;
      }
      const registered = state.pages.get(item.id);
      const title = registered && registered.title ? registered.title : item.title;
      const active = current === item.id || (item.id === "databases" && current === "create-database");
      list.appendChild(el("li", {}, el("a", {
        href: `#/${item.id}`, class: ["nav-link", active ? "active" : null], "aria-current": active ? "page" : null,
      }, title)));
    }
  }

  function currentRoute() {
    let h = location.hash.replace(/^#\/?/, "");
    try {
      h = decodeURIComponent(h);
    } catch (e) {
      // a malformed escape (#/%E0): the raw text, which names no page, shows the dashboard
    }
    const parts = h.split("/").filter(Boolean);
    return { page: parts[0] || "dashboard", args: parts.slice(1) };
  }

  function navigate(hash) {
    const h = hash.startsWith("#") ? hash : `#${hash.startsWith("/") ? "" : "/"}${hash}`;
    if (location.hash === h) render();
    else location.hash = h;
  }

  // A callback registered while a tab renders belongs to that tab (state.tickScope) and stops
  // when another tab opens; every callback stops when the page changes.
  function onTick(cb) {
    state.ticks.add(cb);
    if (state.tickScope) state.tickScope.add(cb);
    return () => state.ticks.delete(cb);
  }
  function withTickScope(scope, fn) {
    const prev = state.tickScope;
    state.tickScope = scope;
    try {
      return fn();
    } finally {
      state.tickScope = prev;
    }
  }
  function dropTickScope(scope) {
    for (const cb of scope) state.ticks.delete(cb);
    scope.clear();
  }

  let tickRunning = false;
  async function runTicks() {
    if (document.visibilityState !== "visible" || tickRunning) return;
    tickRunning = true;
    try {
      await Promise.all([...state.ticks].map(async (cb) => {
        try {
          await cb();
        } catch (e) {
          // Auto-refresh failures are not the user's action (a lost localrds has its own banner).
        }
      }));
    } finally {
      tickRunning = false;
    }
  }

  async function render() {
    const seq = ++state.renderSeq;
    state.ticks.clear();
    closeAllDialogs();
    const main = document.getElementById("main");
    const { page, args } = currentRoute();
    if (state.lastPage !== undefined && state.lastPage !== location.hash) clearErrors();
    state.lastPage = location.hash;
    renderNav();
    clear(main);
    const container = el("div", { class: "page", "data-page": page });
    main.appendChild(container);
    const def = state.pages.get(page);
    const navItem = NAV.find((n) => n.id === page);
    document.title = `${def && def.title ? def.title : navItem ? navItem.title : "localrds"} | localrds console`;
    try {
      if (def) {
        await def.render(container, args);
      } else if (navItem && navItem.placeholder) {
        container.appendChild(pageHeader(navItem.title));
        container.appendChild(el("div", { class: "panel" }, el("p", { text: `${navItem.title} comes with the workshop pages (workshop.js), which are not loaded.` })));
      } else {
        container.appendChild(pageHeader("Page not found"));
        container.appendChild(el("p", {}, "There is no page at ", el("code", { text: location.hash }), ". ",
          el("a", { href: "#/dashboard" }, "Go to the dashboard")));
      }
    } catch (e) {
      if (seq === state.renderSeq) showError(e);
    }
  }

  function registerPage(def) {
    if (!def || !def.id || typeof def.render !== "function") throw new Error("registerPage needs {id, title, render}");
    state.pages.set(def.id, def);
    if (def.section === "workshop" || NAV.some((n) => n.id === def.id && n.placeholder)) {
      state.workshopPages = state.workshopPages.filter((p) => p.id !== def.id).concat([def]);
    }
    if (state.started) {
      renderNav();
      if (currentRoute().page === def.id) render();
    }
  }
  // Built-in pages go through the same table without joining the workshop section.
  function builtin(id, title, renderFn) {
    state.pages.set(id, { id, title, render: renderFn });
  }

  const INSTANCE_TAB_PLACEHOLDERS = [
    { id: "query-editor", title: "Query editor" },
    { id: "dr-drill", title: "DR drill" },
  ];
  function registerInstanceTab(def) {
    if (!def || !def.id || typeof def.render !== "function") throw new Error("registerInstanceTab needs {id, title, render}");
    state.instanceTabs = state.instanceTabs.filter((t) => t.id !== def.id).concat([def]);
  }

  // ---------------------------------------------------------------- exports
  const LC = {
    api, apiAll, post, get, showError, showNotice, region, navigate, el, registerPage,
    registerInstanceTab, onTick, statusBadge, ConsoleError, fmtTime, openDialog,
  };
  window.LocalrdsConsole = LC;
  // Internal helpers for the page code below (same file; kept in one object for readability).
  const ui = { clear, uid, field, textField, selectField, checkField, radioGroup, keyValueList, dataTable, actionsMenu, pageHeader, btn, loading, tabs, withTickScope, dropTickScope, yesNo, dash, engineName, fmtLag, confirmDialog, clearErrors, builtin, state, INSTANCE_TAB_PLACEHOLDERS, render };
  LC._ui = ui;

  // ---------------------------------------------------------------- start
  async function start() {
    state.started = true;
    setInterval(runTicks, 2000);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") runTicks();
    });
    window.addEventListener("hashchange", render);
    const select = document.getElementById("region-select");
    try {
      const info = await loadInfo();
      const regions = info.regions && info.regions.length ? info.regions : [info.defaultRegion || "us-east-1"];
      if (!regions.includes(state.region)) state.region = info.defaultRegion || regions[0];
      clear(select);
      for (const r of regions) select.appendChild(el("option", { value: r, selected: r === state.region }, r));
      select.value = state.region;
      await ensureSession();
    } catch (e) {
      showError(e);
    }
    select.addEventListener("change", () => {
      state.region = select.value;
      localStorage.setItem(REGION_KEY, state.region);
      clearErrors();
      const { page } = currentRoute();
      // A details page names a resource of the old Region: go to its list.
      if (page === "databases" && currentRoute().args.length) navigate("#/databases");
      else if (page === "parameter-groups" && currentRoute().args.length) navigate("#/parameter-groups");
      else render();
    });
    if (!location.hash) history.replaceState(null, "", "#/dashboard");
    render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
