// The workshop part of the localrds console (issue 15): what the RDS console lacks for a
// training workshop.
//   - Query editor (page #/query-editor and an instance tab): SQL as the master user through
//     POST /console/api/sql. The password lives in this page's memory only (a Map that a reload
//     forgets), never in any storage.
//   - DR drill (page #/drills and an instance tab): the steady writer and the faults of
//     /console/api/drill/*, with acknowledged and failed writes, the recovery time, the rows lost
//     and a timeline merged with the instance's DescribeEvents.
//   - Tutorial (#/tutorial): the backup & DR tutorial as a checklist that ticks itself from the
//     API (instances, snapshots, events) and from what this tab saw in the query editor
//     (sessionStorage: statements' outcomes, never SQL text or passwords).
// Only window.LocalrdsConsole (console/app.js) talks to localrds; plain DOM otherwise. No inline
// styles or handlers (the console's CSP forbids them): classes from workshop.css.
(() => {
  "use strict";
  const C = window.LocalrdsConsole;
  if (!C) {
    console.error("workshop.js: window.LocalrdsConsole is missing (load app.js first)");
    return;
  }

  // workshop.css (same origin, so the CSP's style-src 'self' allows it), once.
  if (!document.querySelector('link[href$="workshop.css"]')) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = "workshop.css";
    document.head.appendChild(link);
  }

  // --- small DOM helper -------------------------------------------------------------------------
  // h("button", {class: "x", type: "button", onclick: fn}, "text", node, ...). Attributes are set
  // with setAttribute (so `for`, `aria-*` and `data-*` work); `text` sets textContent; functions
  // become listeners; false/null attributes are left out.
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "value") node.value = value;
      else if (key === "checked") node.checked = !!value;
      else if (typeof value === "function") node.addEventListener(key.replace(/^on/, ""), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const pageTitle = (text) => h("div", {class: "page-header"}, h("h1", {text}));

  let uid = 0;
  const nextId = (prefix) => `ws-${prefix}-${++uid}`;

  // A labelled field: returns {row, input}.
  function field(label, input, hint) {
    const id = nextId("f");
    input.id = id;
    const row = h("div", {class: "field ws-field"}, h("label", {for: id, text: label}), input,
                  hint ? h("span", {class: "hint ws-hint", text: hint}) : null);
    return {row, input};
  }

  const region = () => (typeof C.region === "function" ? C.region() : undefined);
  const key = (id) => `${region() || ""}/${id}`;

  function showError(err) {
    if (typeof C.showError === "function") C.showError(err);
    else console.error(err);
  }

  function notice(text) {
    if (typeof C.showNotice === "function") C.showNotice(text);
  }

  function badge(status) {
    if (typeof C.statusBadge === "function") {
      const b = C.statusBadge(status);
      if (b instanceof Node) return b;
    }
    return h("span", {class: "ws-status", text: status || ""});
  }

  // The shell's UTC time (as every other page shows it), with the milliseconds a drill needs.
  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    return C.fmtTime(iso).replace(/ UTC$/, "") + "." +
           String(d.getUTCMilliseconds()).padStart(3, "0") + " UTC";
  }

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "—";
    return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
  }

  // --- polling ----------------------------------------------------------------------------------
  // Live panels refresh on the console's tick (every 2 s while the page is visible; the shell drops
  // a page's ticks when the route changes); a panel taken off the page (another instance tab)
  // unsubscribes at its next tick. One refresh of a panel at a time.
  function keepFresh(node, refresh) {
    let busy = false;
    let unsubscribe = null;
    const tick = async () => {
      if (!node.isConnected) {
        if (typeof unsubscribe === "function") unsubscribe();
        return;
      }
      if (busy) return;
      busy = true;
      try {
        await refresh();
      } catch (e) {
        console.warn("workshop refresh:", e);
      } finally {
        busy = false;
      }
    };
    if (typeof C.onTick === "function") {
      unsubscribe = C.onTick(tick);
    } else {
      const timer = setInterval(() => {
        if (document.visibilityState !== "hidden") tick();
      }, 2000);
      unsubscribe = () => clearInterval(timer);
    }
  }

  // --- passwords: this page's memory only ---------------------------------------------------------
  const passwords = new Map();  // region/instance -> password, forgotten on reload
  function passwordField(instanceId) {
    const input = h("input", {type: "password", autocomplete: "off", spellcheck: "false"});
    input.value = passwords.get(key(instanceId)) || "";
    input.addEventListener("input", () => {
      if (input.value) passwords.set(key(instanceId), input.value);
      else passwords.delete(key(instanceId));
    });
    return field("Password", input, "the master user's; kept in this page only, never stored");
  }

  // --- tutorial facts (sessionStorage): what the query editor saw -------------------------------
  const FACTS_KEY = "localrds.workshop.tutorial";
  function loadFacts() {
    try {
      const all = JSON.parse(sessionStorage.getItem(FACTS_KEY) || "{}");
      return all[region() || ""] || {};
    } catch (e) {
      return {};
    }
  }
  function saveFacts(facts) {
    try {
      const all = JSON.parse(sessionStorage.getItem(FACTS_KEY) || "{}");
      all[region() || ""] = facts;
      sessionStorage.setItem(FACTS_KEY, JSON.stringify(all));
    } catch (e) {
      // sessionStorage unavailable: the tutorial only loses its client-side ticks
    }
  }
  function addFact(name, instanceId) {
    const facts = loadFacts();
    const list = facts[name] || [];
    if (!list.includes(instanceId)) list.push(instanceId);
    facts[name] = list;
    saveFacts(facts);
  }
  // `SELECT count(*)` answering 0 is one row, but no rows back.
  const isZeroCount = (r) => r.rowCount === 1 && Array.isArray(r.rows) && r.rows.length === 1 &&
                             r.rows[0].length === 1 && r.rows[0][0] === "0";
  function recordSql(instance, results, error) {
    const id = instance.DBInstanceIdentifier;
    if (instance.ReadReplicaSourceDBInstanceIdentifier) addFact("replicas", id);
    for (const r of results || []) {
      const cmd = String(r.command || "").toUpperCase();
      if (cmd.startsWith("CREATE TABLE")) addFact("tableCreated", id);
      else if (cmd.startsWith("INSERT") && r.rowCount > 0) addFact("rowsInserted", id);
      else if (cmd.startsWith("DELETE") && r.rowCount > 0) addFact("rowsDeleted", id);
      else if (cmd.startsWith("SELECT") && r.rowCount > 0 && !isZeroCount(r)) {
        addFact("rowsSelected", id);
      }
    }
    if (error && error.sqlstate === "25006") addFact("readOnlyRefused", id);
  }

  async function describeInstances() {
    const out = [];
    let marker;
    do {
      const params = {MaxRecords: "100"};
      if (marker) params.Marker = marker;
      const r = await C.api("DescribeDBInstances", params, {region: region()});
      out.push(...(r.DBInstances || []));
      marker = r.Marker;
    } while (marker);
    return out;
  }

  async function describeInstance(id) {
    const r = await C.api("DescribeDBInstances", {DBInstanceIdentifier: id}, {region: region()});
    return (r.DBInstances || [])[0];
  }

  // ConsoleError carries the JSON answer's error; a SqlError's body also has the results of the
  // statements that ran before the failing one.
  const errorBody = (err) => err && (err.body || err.response || err.data || null);
  function sqlState(err) {
    const body = errorBody(err);
    return (err && err.sqlstate) || (body && body.error && body.error.sqlstate) || null;
  }
  function partialResults(err) {
    const body = errorBody(err);
    return (err && err.results) || (body && body.results) || [];
  }

  // ===============================================================================================
  // Query editor
  // ===============================================================================================
  function resultTable(result, index) {
    const parts = [];
    if (typeof result.rowCount === "number") {
      parts.push(`${result.rowCount} ${result.rowCount === 1 ? "row" : "rows"}`);
    }
    if (result.truncated) parts.push("truncated (the first 1000 rows are shown)");
    const box = h("section", {class: "ws-result", "aria-label": `Result ${index + 1}`},
                  h("h4", {class: "ws-result-title"},
                    h("span", {class: "ws-command", text: result.command || "(no command)"}),
                    parts.length ? h("span", {class: "ws-meta", text: " · " + parts.join(" · ")})
                                 : null));
    if (Array.isArray(result.columns)) {
      const table = h("table", {class: "data-table ws-table"},
                      h("thead", {}, h("tr", {}, result.columns.map((c) => h("th", {text: c})))),
                      h("tbody", {}, (result.rows || []).map((row) => h("tr", {}, row.map((v) =>
                          v === null ? h("td", {class: "ws-null", text: "NULL"})
                                     : h("td", {text: v}))))));
      box.append(h("div", {class: "ws-table-wrap"}, table));
    }
    return box;
  }

  function queryEditor(instance) {
    const id = instance.DBInstanceIdentifier;
    const root = h("div", {class: "panel ws-panel ws-query-editor"});
    const db = field("Database", h("input", {type: "text", spellcheck: "false",
                                             value: instance.DBName || "postgres"}));
    const pw = passwordField(id);
    const sql = field("SQL", h("textarea", {rows: "8", spellcheck: "false", class: "ws-sql",
                                            placeholder: "SELECT now();"}),
                      "Ctrl+Enter runs; several statements separated by ;");
    const run = h("button", {type: "button", class: "btn btn-primary ws-primary", text: "Run"});
    const summary = h("p", {class: "ws-summary", "aria-live": "polite"});
    const results = h("div", {class: "ws-results"});

    async function execute() {
      if (run.disabled) return;
      const text = sql.input.value;
      if (!text.trim()) {
        showError({code: "MissingParameter", message: "Type some SQL to run."});
        return;
      }
      run.disabled = true;
      summary.textContent = "Running…";
      const started = performance.now();
      try {
        const body = {DBInstanceIdentifier: id, password: pw.input.value, sql: text};
        if (db.input.value.trim()) body.database = db.input.value.trim();
        const answer = await C.post("sql", body, {region: region()});
        const list = answer.results || [];
        results.replaceChildren(...list.map(resultTable));
        summary.textContent = `${list.length} ${list.length === 1 ? "statement" : "statements"}` +
                              ` ran in ${answer.elapsedMs ?? Math.round(performance.now() - started)} ms`;
        recordSql(instance, list, null);
      } catch (err) {
        const before = partialResults(err);
        results.replaceChildren(...before.map(resultTable));
        summary.textContent = before.length
            ? `${before.length} ${before.length === 1 ? "statement" : "statements"} ran before the error`
            : "Failed";
        recordSql(instance, before, {sqlstate: sqlState(err)});
        showError(err);
      } finally {
        run.disabled = false;
      }
    }

    run.addEventListener("click", execute);
    sql.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        execute();
      }
    });
    const who = instance.MasterUsername ? `as ${instance.MasterUsername}` : "as the master user";
    const where = instance.Endpoint
        ? `${instance.Endpoint.Address}:${instance.Endpoint.Port}` : "its endpoint";
    root.append(
        h("p", {class: "hint ws-hint",
                text: `Runs on ${id} (${where}) ${who}, over libpq like psql.` +
                      (instance.ReadReplicaSourceDBInstanceIdentifier
                           ? " This is a read replica: it refuses writes." : "")}),
        h("div", {class: "ws-row"}, db.row, pw.row), sql.row,
        h("div", {class: "ws-actions"}, run), summary, results);
    return root;
  }

  // A select of this region's instances; onPick(instance) renders what goes with it.
  function instancePicker(container, preselect, onPick) {
    const select = h("select", {});
    const picker = field("DB instance", select);
    const refresh = h("button", {type: "button", class: "btn", text: "Refresh"});
    const body = h("div", {class: "ws-picked"});
    let instances = [];

    async function load() {
      instances = await describeInstances();
      const current = select.value || preselect;
      select.replaceChildren(h("option", {value: "", text: "Choose a DB instance"}),
                             ...instances.map((i) => h("option", {
                               value: i.DBInstanceIdentifier,
                               text: `${i.DBInstanceIdentifier} (${i.DBInstanceStatus})`})));
      if (current && instances.some((i) => i.DBInstanceIdentifier === current)) {
        select.value = current;
      }
    }
    function show() {
      const instance = instances.find((i) => i.DBInstanceIdentifier === select.value);
      body.replaceChildren(instance ? onPick(instance) : h("p", {
        class: "hint ws-hint",
        text: instances.length ? "Choose a DB instance." : "No DB instances in this Region yet."}));
    }
    select.addEventListener("change", show);
    refresh.addEventListener("click", () => load().then(show).catch(showError));
    container.append(h("div", {class: "ws-row ws-picker"}, picker.row, refresh), body);
    load().then(show).catch(showError);
  }

  function firstArg(args) {
    if (!args) return undefined;
    if (Array.isArray(args)) return args[0];
    if (typeof args === "string") return args;
    return args.id || args.DBInstanceIdentifier || undefined;
  }

  C.registerPage({
    id: "query-editor",
    title: "Query editor",
    render(container, args) {
      container.append(pageTitle("Query editor"),
                       h("p", {class: "hint ws-hint", text: "Run SQL on a DB instance as its master " +
                                                       "user, without installing psql."}));
      instancePicker(container, firstArg(args), queryEditor);
    },
  });

  C.registerInstanceTab({
    id: "query-editor",
    title: "Query editor",
    render(container, instance) {
      container.append(queryEditor(instance));
    },
  });

  // ===============================================================================================
  // DR drill
  // ===============================================================================================
  const FAULTS = [
    {fault: "crash", label: "Crash primary",
     help: "SIGKILL of the primary's postmaster, as a host crash"},
    {fault: "freeze", label: "Freeze primary", help: "SIGSTOP: the primary hangs until Thaw"},
    {fault: "thaw", label: "Thaw", help: "SIGCONT: the frozen primary runs again"},
    {fault: "backup", label: "Trigger backup window", help: "take the automated backup now"},
    {fault: "failover", label: "Reboot with failover",
     help: "RebootDBInstance with ForceFailover (Multi-AZ only)", multiAz: true},
  ];

  async function instanceEvents(id, since) {
    const params = {SourceType: "db-instance", SourceIdentifier: id, MaxRecords: "100"};
    if (since) params.StartTime = since;
    else params.Duration = "60";
    const r = await C.api("DescribeEvents", params, {region: region()});
    return r.Events || [];
  }

  function drillPanel(instance) {
    const id = instance.DBInstanceIdentifier;
    const multiAz = !!instance.MultiAZ;
    const root = h("div", {class: "panel ws-panel ws-drill"});
    const db = field("Database", h("input", {type: "text", spellcheck: "false",
                                             value: instance.DBName || "postgres"}));
    const pw = passwordField(id);
    const start = h("button", {type: "button", class: "btn btn-primary ws-primary",
                             text: "Start writer"});
    const stop = h("button", {type: "button", class: "btn", text: "Stop writer"});
    const faultButtons = FAULTS.map((f) => {
      const b = h("button", {type: "button", class: "btn btn-danger ws-fault", title: f.help,
                              text: f.label});
      if (f.multiAz && !multiAz) {
        b.disabled = true;
        b.title = "Only a Multi-AZ DB instance can reboot with failover";
      }
      b.addEventListener("click", () => act("fault", {fault: f.fault}, `${f.label}: done on ${id}.`));
      return b;
    });

    const stat = (label) => {
      const dd = h("dd", {text: "—"});
      return {dt: h("dt", {text: label}), dd};
    };
    const stats = {
      writer: stat("Writer"),
      acknowledged: stat("Acknowledged writes"),
      failed: stat("Failed writes"),
      recovery: stat("Recovery time"),
      lost: stat("Data lost"),
      lastError: stat("Last write error"),
    };
    const statsList = h("dl", {class: "ws-stats", "aria-label": "Drill results"},
                        Object.values(stats).map((s) => [s.dt, s.dd]));
    const timelineBody = h("tbody", {});
    const timeline = h("table", {class: "data-table ws-table ws-timeline", "aria-label": "Timeline"},
                       h("thead", {}, h("tr", {}, h("th", {text: "Time"}),
                                        h("th", {text: "Source"}), h("th", {text: "Event"}))),
                       timelineBody);

    let drill = null;

    function render(events) {
      const d = drill;
      stats.writer.dd.textContent = d ? (d.running ? "running" : "stopped") : "not started";
      stats.acknowledged.dd.textContent = d ? String(d.acknowledged ?? 0) : "—";
      stats.failed.dd.textContent = d ? String(d.failedWrites ?? 0) : "—";
      stats.recovery.dd.textContent =
          d && d.recoveryMs !== null && d.recoveryMs !== undefined
              ? fmtMs(d.recoveryMs)
              : (d && d.lastFaultAt ? "waiting for the first good write" : "—");
      stats.lost.dd.textContent =
          d && d.lostRows !== null && d.lostRows !== undefined
              ? `${d.lostRows} ${d.lostRows === 1 ? "row" : "rows"}` +
                    (d.verified ? " (verified)" : "")
              : (d && d.running ? "stop the writer to count" : "—");
      stats.lastError.dd.textContent = (d && d.lastError) || "—";
      start.disabled = !!(d && d.running);
      stop.disabled = !(d && d.running);

      const rows = [];
      for (const t of (d && d.timeline) || []) {
        rows.push({at: t.at, source: "Drill", kind: t.kind, text: t.text});
      }
      for (const e of events || []) {
        rows.push({at: e.Date, source: "RDS event", kind: "event", text: e.Message});
      }
      rows.sort((a, b) => new Date(a.at) - new Date(b.at));
      timelineBody.replaceChildren(...rows.map((r) => h(
          "tr", {class: `ws-tl-${r.kind}`}, h("td", {class: "ws-nowrap", text: fmtTime(r.at)}),
          h("td", {text: r.source}), h("td", {text: r.text}))));
      if (!rows.length) {
        timelineBody.append(h("tr", {}, h("td", {colspan: "3", class: "hint ws-hint",
                                                 text: "Nothing yet."})));
      }
    }

    async function refresh() {
      const answer = await C.get("drill", {region: region(), DBInstanceIdentifier: id});
      drill = answer ? answer.drill : null;
      const first = drill && drill.timeline && drill.timeline.length ? drill.timeline[0].at : null;
      let since = null;
      if (first) since = new Date(new Date(first).getTime() - 60 * 1000).toISOString();
      let events = [];
      try {
        events = await instanceEvents(id, since);
      } catch (e) {
        // the drill still shows without the events
      }
      render(events);
    }

    // One drill request at a time: its buttons wait while one runs (a double click on
    // "Stop writer" sends one stop).
    let busy = false;
    async function act(what, extra, done) {
      if (busy) return;
      busy = true;
      const buttons = [...root.querySelectorAll("button")];
      const before = buttons.map((b) => b.disabled);
      buttons.forEach((b) => { b.disabled = true; });
      const body = {DBInstanceIdentifier: id, ...extra};
      if (what === "writer") {
        body.password = pw.input.value;
        if (db.input.value.trim()) body.database = db.input.value.trim();
      }
      try {
        const answer = await C.post(`drill/${what}`, body, {region: region()});
        drill = answer ? answer.drill : drill;
        if (done) notice(done);
        await refresh();
      } catch (err) {
        showError(err);
      } finally {
        buttons.forEach((b, i) => { b.disabled = before[i]; });
        start.disabled = !!(drill && drill.running);
        stop.disabled = !(drill && drill.running);
        busy = false;
      }
    }

    start.addEventListener("click", () => act("writer", {}, null));
    stop.addEventListener("click", () => act("stop", {}, null));

    root.append(
        h("p", {class: "hint ws-hint",
                text: `A steady writer inserts a row into localrds_drill every 100 ms on ${id}; ` +
                      "break the primary and watch how long writes fail and whether any " +
                      "acknowledged row is lost." +
                      (multiAz ? " Multi-AZ: a failover must lose nothing."
                               : " Single-AZ: a crash recovers in place.")}),
        h("div", {class: "ws-row"}, db.row, pw.row),
        h("div", {class: "ws-actions"}, start, stop),
        h("div", {class: "ws-actions ws-faults", role: "group", "aria-label": "Faults"},
          faultButtons),
        statsList, h("h3", {text: "Timeline"}), timeline);
    render([]);
    refresh().catch(showError);
    keepFresh(root, refresh);
    return root;
  }

  C.registerPage({
    id: "drills",
    title: "DR drills",
    section: "workshop",
    render(container, args) {
      container.append(pageTitle("DR drills"),
                       h("p", {class: "hint ws-hint", text: "Crash, freeze or fail over an " +
                                                       "instance under a steady writer."}));
      instancePicker(container, firstArg(args), drillPanel);
    },
  });

  C.registerInstanceTab({
    id: "dr-drill",
    title: "DR drill",
    render(container, instance) {
      container.append(drillPanel(instance));
    },
  });

  // ===============================================================================================
  // Tutorial
  // ===============================================================================================
  const has = (list, id) => Array.isArray(list) && (id === undefined ? list.length > 0
                                                                      : list.includes(id));

  const STEPS = [
    {id: "created", title: "Create a DB instance with a 7-day backup retention period",
     how: "Databases → Create database → Standard create, Dev/Test template; the backup " +
          "retention period stays at 7 days.",
     done: (s) => s.instances.some((i) => Number(i.BackupRetentionPeriod) === 7 &&
                                         i.DBInstanceStatus !== "creating")},
    {id: "table", title: "Create a table and insert rows",
     how: "Query editor: CREATE TABLE todos (id serial primary key, title text); " +
          "INSERT INTO todos (title) VALUES ('a'), ('b');",
     done: (s) => has(s.facts.tableCreated) && has(s.facts.rowsInserted)},
    {id: "snapshot", title: "Take a snapshot",
     how: "Databases → your instance → Actions → Take snapshot.",
     done: (s) => s.snapshots.some((x) => x.Status === "available")},
    {id: "deleted", title: "Delete the rows",
     how: "Query editor: DELETE FROM todos;",
     done: (s) => has(s.facts.rowsDeleted)},
    {id: "restored", title: "Restore the snapshot and see the rows back",
     how: "Snapshots → select it → Actions → Restore snapshot; then SELECT * FROM todos; in the " +
          "restored instance's query editor.",
     done: (s) => s.restoredFromSnapshot.some((id) => has(s.facts.rowsSelected, id))},
    {id: "replica", title: "Create a read replica and see it refuse writes",
     how: "Actions → Create read replica; an INSERT in the replica's query editor fails with " +
          "\"cannot execute INSERT in a read-only transaction\".",
     done: (s) => (s.facts.readOnlyRefused || []).some((id) => s.wasReplica(id))},
    {id: "promoted", title: "Promote the read replica",
     how: "The replica → Actions → Promote; it then takes writes.",
     done: (s) => s.promoted.length > 0},
    {id: "failover", title: "Reboot a Multi-AZ DB instance with failover",
     how: "Create database with the Production template (Multi-AZ), then Actions → Reboot → " +
          "Reboot with failover; the endpoint stays the same.",
     done: (s) => s.failedOver.length > 0},
  ];

  async function observe() {
    const [instances, snapshots, events] = await Promise.all([
      describeInstances(),
      C.api("DescribeDBSnapshots", {SnapshotType: "manual", MaxRecords: "100"},
            {region: region()}).then((r) => r.DBSnapshots || []),
      C.api("DescribeEvents", {SourceType: "db-instance", Duration: "1440", MaxRecords: "100"},
            {region: region()}).then((r) => r.Events || []),
    ]);
    const facts = loadFacts();
    // Replica-ness is remembered: a promoted replica is no replica any more.
    for (const i of instances) {
      if (i.ReadReplicaSourceDBInstanceIdentifier && !has(facts.replicas, i.DBInstanceIdentifier)) {
        addFact("replicas", i.DBInstanceIdentifier);
      }
    }
    const fresh = loadFacts();
    const eventsOf = (pred) => [...new Set(events.filter((e) => pred(String(e.Message || "")))
                                                 .map((e) => e.SourceIdentifier))];
    const promoted = eventsOf((m) => m.startsWith("Read replica has been promoted"));
    return {
      instances,
      snapshots,
      facts: fresh,
      restoredFromSnapshot: eventsOf((m) => m.startsWith("Restored from snapshot")),
      promoted,
      failedOver: eventsOf((m) => m.startsWith("Multi-AZ instance failover completed") ||
                                  m.startsWith("Multi-AZ failover to standby complete")),
      wasReplica: (id) => has(fresh.replicas, id) || promoted.includes(id),
    };
  }

  C.registerPage({
    id: "tutorial",
    title: "Tutorial",
    section: "workshop",
    render(container) {
      const list = h("ol", {class: "ws-checklist", "aria-label": "Tutorial steps"});
      const progress = h("p", {class: "ws-progress", "aria-live": "polite"});
      const items = STEPS.map((step) => {
        const id = nextId("step");
        const box = h("input", {type: "checkbox", id, disabled: true, "data-step": step.id});
        const li = h("li", {class: "ws-step", "data-step": step.id},
                     box, h("label", {for: id, text: step.title}),
                     h("p", {class: "hint ws-hint", text: step.how}));
        list.append(li);
        return {step, box, li};
      });
      async function refresh() {
        const seen = await observe();
        let done = 0;
        for (const item of items) {
          const ok = !!item.step.done(seen);
          item.box.checked = ok;
          item.li.classList.toggle("ws-done", ok);
          if (ok) done += 1;
        }
        progress.textContent = `${done} of ${items.length} steps done`;
      }
      const reset = h("button", {type: "button", class: "btn",
                                 text: "Forget what the query editor saw"});
      reset.addEventListener("click", () => {
        saveFacts({});
        refresh().catch(showError);
      });
      container.append(
          pageTitle("Tutorial"),
          h("p", {class: "hint ws-hint",
                  text: "The Amazon RDS backup and disaster recovery tutorial. Each step ticks " +
                        "itself when the console sees it done."}),
          h("div", {class: "panel ws-panel"}, progress, list, h("div", {class: "ws-actions"}, reset)));
      refresh().catch(showError);
      keepFresh(list, refresh);
    },
  });
})();
