// The RDS backup & DR tutorial, walked in the localrds console with clicks only (the SQL typed
// into the query editor), in Debian's headless Chromium against a real localrds:
//   create (Dev/Test, 7 days) -> table + rows -> Take snapshot -> DELETE the rows ->
//   Restore snapshot -> the rows are back on the restored instance; Restore to point in time;
//   Create read replica -> its INSERT is refused (the read-only error in the banner) -> Promote ->
//   INSERT works; Multi-AZ create (Production template) -> Reboot with failover -> endpoint
//   unchanged, data intact; a DR drill on it (writer, crash, recovery time, no row lost); the
//   Tutorial page ticks all its steps.
// It saves a screenshot of each page into LOCALRDS_SCREENSHOTS (default build/browser-screenshots)
// and prints the page-load and action latencies it measured (click to the status the user waits
// for; page load = navigation to the page's content).
// The checks beside the clicks (endpoint and data through the console API) use the test's own
// console session; the walk itself never calls the API.
"use strict";

const assert = require("assert");
const fs = require("fs");
const path = require("path");
const {Localrds, sleep} = require("./lib/localrds");
const chromium = require("./lib/chromium");

const PASSWORD = "tutorial-pass-1";
const USER = "tutor";
const PRIMARY = "todo-primary";
const RESTORED = "todo-restored";
const PITR = "todo-pitr";
const REPLICA = "todo-replica";
const MULTI_AZ = "todo-multiaz";
const SNAPSHOT = "todo-snap";
const WAIT_STATUS_MS = 120000;  // generous: creation takes seconds, on a busy machine more

const latencies = [];  // {kind, what, ms}
const problems = [];   // label mismatches and page errors, reported at the end
let shotDir;
let shotCount = 0;
let page;

function record(kind, what, ms) {
  latencies.push({kind, what, ms: Math.round(ms)});
  console.log(`  [${kind}] ${what}: ${Math.round(ms)} ms`);
}

async function until(fn, timeout, desc, interval = 100) {
  const deadline = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      lastErr = undefined;
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${desc} (last value ` +
                      `${JSON.stringify(last)}${lastErr ? `, last error ${lastErr.message}` : ""})`);
    }
    await sleep(interval);
  }
}

async function shot(name) {
  await dismissNotices();
  shotCount += 1;
  const file = path.join(shotDir, `${String(shotCount).padStart(2, "0")}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
}

const escapeRe = (t) => t.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const visible = (locator) => locator.filter({visible: true}).first();

// --- the console's parts, by the labels of the contract ----------------------------------------

async function nav(name) {
  const inNav = page.getByRole("navigation").getByRole("link", {name, exact: true});
  const link = (await inNav.count()) ? inNav.first()
                                      : visible(page.getByRole("link", {name, exact: true}));
  await link.click();
}

// The page's heading: exactly `name`, or `name (count)` as the RDS console titles its lists
// (noted for the report).
async function heading(name, timeout = 15000) {
  const exact = page.getByRole("heading", {name, exact: true}).filter({visible: true});
  const counted = page.getByRole("heading", {name: new RegExp(`^${escapeRe(name)} \\(\\d+\\)$`)})
      .filter({visible: true});
  await exact.or(counted).first().waitFor({timeout});
  if (!(await exact.count())) {
    const note = `the heading of ${name} reads "${await counted.first().textContent()}"`;
    if (!problems.some((p) => p.startsWith(`the heading of ${name} `))) problems.push(note);
  }
}

// Clicks a left-navigation entry and waits for its heading and what shows it loaded.
async function openPage(name, title, loaded) {
  const t0 = performance.now();
  await nav(name);
  await heading(title);
  await contentLoaded(loaded, name);
  record("page load", name, performance.now() - t0);
}

// A page has its content when no "Loading…" placeholder is left and `loaded` (if any) holds.
async function contentLoaded(loaded, what) {
  const placeholders = page.getByRole("status").filter({hasText: /^Loading/}).filter(
      {visible: true});
  await until(async () => (await placeholders.count()) === 0 && (!loaded || await loaded()),
              30000, `${what} content`, 25);
}

function instanceRow(id) {
  return page.getByRole("row").filter({has: page.getByRole("link", {name: id, exact: true})});
}

// The text of a table cell of the row, by its column header (whatever the table's other columns).
async function cell(row, column) {
  if (!(await row.count())) return null;
  return row.first().evaluate((tr, col) => {
    const table = tr.closest("table");
    const heads = [...table.querySelectorAll("thead th, thead td")];
    const i = heads.findIndex((th) => th.textContent.trim() === col);
    if (i < 0) return `(no column ${col})`;
    const cells = tr.querySelectorAll("th, td");
    return cells[i] ? cells[i].textContent.trim() : null;
  }, column);
}

// On the Databases page (auto-refreshing): waits until the instance's Status reads `status`.
async function waitInstanceStatus(id, status, timeout = WAIT_STATUS_MS, pred) {
  return until(async () => {
    const s = await cell(instanceRow(id), "Status");
    if (!s || s.toLowerCase() !== status) return false;
    return pred ? pred() : true;
  }, timeout, `${id} ${status} on the Databases page`);
}

async function openInstance(id) {
  await openPage("Databases", "Databases", async () => (await instanceRow(id).count()) > 0);
  const t0 = performance.now();
  await instanceRow(id).first().getByRole("link", {name: id, exact: true}).click();
  await heading(id);
  await visible(page.getByRole("tab", {name: "Connectivity & security", exact: true})).waitFor();
  await contentLoaded(null, `${id} details`);
  record("page load", "Instance details", performance.now() - t0);
}

async function openTab(name) {
  const tab = visible(page.getByRole("tab", {name, exact: true}));
  await tab.click();
  await until(async () => (await tab.getAttribute("aria-selected")) === "true", 5000,
              `tab ${name} selected`);
}

// Success notices (role=status) the user has read: dismissed, as they would, before the next
// dialog (the console keeps them until dismissed, and a pile of them can cover a dialog).
async function dismissNotices() {
  const notices = page.getByRole("status").filter({visible: true})
      .filter({has: page.getByRole("button", {name: "Dismiss"})});
  for (let n = await notices.count(); n > 0; n = await notices.count()) {
    await notices.first().getByRole("button", {name: "Dismiss"}).click();
  }
}

async function action(item) {
  await dismissNotices();
  await visible(page.getByRole("button", {name: "Actions", exact: true})).click();
  await page.getByRole("menuitem", {name: item, exact: true}).click();
  const dialog = visible(page.getByRole("dialog"));
  await dialog.waitFor();
  return dialog;
}

// A dialog's text box by its label; the first text box when the label differs (reported).
async function dialogField(dialog, label) {
  const byLabel = dialog.getByLabel(label, {exact: true});
  if (await byLabel.count()) return byLabel.first();
  problems.push(`dialog "${await dialog.getAttribute("aria-label") || "?"}": no field ` +
                `labelled "${label}" (used its first text box)`);
  return dialog.getByRole("textbox").first();
}

// A control by its label: exactly the contract's label, or else (noted for the report) a label
// that starts with it, such as a radio whose label also holds its description.
async function byLabel(label, scope = page, timeout = 15000) {
  const exact = scope.getByLabel(label, {exact: true});
  const loose = scope.getByLabel(new RegExp(`^\\s*${escapeRe(label)}`));
  await until(async () => (await exact.count()) + (await loose.count()) > 0, timeout,
              `a control labelled "${label}"`);
  if (await exact.count()) return exact.first();
  const name = await loose.first().evaluate((e) => (e.labels && e.labels[0]
      ? e.labels[0].textContent : e.getAttribute("aria-label") || "").replace(/\s+/g, " ").trim());
  const note = `the control labelled "${label}" has the accessible name "${name}" (not exactly ` +
               "the contract's label)";
  if (!problems.includes(note)) problems.push(note);
  return loose.first();
}

async function runSql(sql, {password = PASSWORD, expectError = null, keyboard = false} = {}) {
  await visible((await byLabel("Password"))).fill(password);
  const editor = visible((await byLabel("SQL")));
  await editor.fill(sql);
  const t0 = performance.now();
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/console/api/sql"), {timeout: 60000}),
    keyboard ? editor.press("Control+Enter")
             : visible(page.getByRole("button", {name: "Run", exact: true})).click(),
  ]);
  const summary = visible(page.locator(".ws-summary"));
  await until(async () => !/Running/.test(await summary.textContent()), 10000, "the SQL result");
  const ms = performance.now() - t0;
  const results = await page.locator(".ws-results").first().evaluate((box) =>
    [...box.querySelectorAll(".ws-result")].map((s) => ({
      command: s.querySelector(".ws-command").textContent,
      rows: [...s.querySelectorAll("tbody tr")].map((tr) =>
        [...tr.querySelectorAll("td")].map((td) => td.textContent)),
    })));
  if (expectError) {
    const alert = visible(page.getByRole("alert"));
    await until(async () => (await alert.textContent()).includes(expectError), 10000,
                `the error banner saying "${expectError}"`);
    await alert.getByRole("button", {name: "Dismiss"}).click();
    assert.strictEqual(response.status(), 400);
  } else {
    assert.strictEqual(response.status(), 200, `SQL failed: ${await response.text()}`);
  }
  return {results, ms};
}

async function readStat(label) {
  return visible(page.locator(".ws-stats")).evaluate((dl, l) => {
    const dt = [...dl.querySelectorAll("dt")].find((d) => d.textContent === l);
    return dt ? dt.nextElementSibling.textContent : null;
  }, label);
}

// Fills the Create database form and clicks Create; returns when the instance is available.
async function createDatabase(id, template) {
  await openPage("Databases", "Databases");
  const opened = performance.now();
  await visible(page.getByRole("button", {name: "Create database", exact: true})).click();
  await heading("Create database");
  await contentLoaded(async () => (await page.getByLabel("DB instance identifier").count()) > 0,
                      "Create database");
  record("page load", "Create database", performance.now() - opened);
  await (await byLabel("Standard create")).check();
  await (await byLabel(template)).check();
  if (template === "Production") {
    assert.ok(await (await byLabel("Multi-AZ DB instance")).isChecked(),
              "the Production template turns Multi-AZ DB instance on");
  }
  await (await byLabel("DB instance identifier")).fill(id);
  await (await byLabel("Master username")).fill(USER);
  const auto = (await byLabel("Auto generate a password"));
  if (await auto.isChecked()) await auto.uncheck();
  await (await byLabel("Master password")).fill(PASSWORD);
  await (await byLabel("Confirm master password")).fill(PASSWORD);
  await (await byLabel("Initial database name")).fill("tutorial");
  const retention = await (await byLabel("Backup retention period")).inputValue();
  assert.strictEqual(retention, "7", "the console's default backup retention is 7 days");
  if (template === "Dev/Test") await shot("create-database");
  const t0 = performance.now();
  await page.getByRole("button", {name: "Create database", exact: true}).last().click();
  // The console goes to the Databases page (as RDS's does) or the new instance's.
  await until(async () => !(await page.evaluate(() => location.hash)).includes("create-database"),
              30000, "leaving the Create database page");
  if (!(await page.evaluate(() => location.hash)).startsWith("#/databases")) {
    await nav("Databases");
  }
  await heading("Databases").catch(async () => {
    await nav("Databases");
    await heading("Databases");
  });
  await waitInstanceStatus(id, "available");
  record("action", `Create database (${template}) → available`, performance.now() - t0);
}

// Clicks the dialog's button and waits on the Databases page for `status` of `id`.
async function confirmAndWait(dialog, button, id, status, what, pred) {
  const t0 = performance.now();
  await dialog.getByRole("button", {name: button, exact: true}).click();
  await dialog.waitFor({state: "hidden", timeout: 30000});
  await openPage("Databases", "Databases");
  await waitInstanceStatus(id, status, WAIT_STATUS_MS, pred);
  record("action", what, performance.now() - t0);
}

async function endpointOf(id) {
  const r = await server.rds({Action: "DescribeDBInstances", DBInstanceIdentifier: id});
  const e = r.DBInstances[0].Endpoint;
  return `${e.Address}:${e.Port}`;
}

// --- the walk ------------------------------------------------------------------------------------

let server;

async function walk() {
  // First load: / redirects to /console/ (page load = navigation to the first page's content).
  let t0 = performance.now();
  await page.goto(server.url("/"));
  await until(async () => page.url().includes("/console/"), 15000, "the redirect to /console/");
  await visible(page.getByRole("navigation")).waitFor({timeout: 15000});
  await visible(page.getByRole("heading")).waitFor({timeout: 15000});
  record("page load", "/ → /console/ (first load)", performance.now() - t0);
  await shot("dashboard");

  console.log("1. Create database: Dev/Test, 7 days");
  await createDatabase(PRIMARY, "Dev/Test");
  await shot("databases");

  console.log("2. Table and rows in the query editor");
  await openInstance(PRIMARY);
  for (const tab of ["Connectivity & security", "Monitoring", "Logs & events", "Configuration",
                     "Maintenance & backups", "Tags"]) {
    await openTab(tab);
    await sleep(300);  // let the tab fetch what it shows before the picture
    await shot(`details-${tab.toLowerCase().replace(/[^a-z]+/g, "-")}`);
  }
  await openTab("Query editor");
  let sql = await runSql("CREATE TABLE todos (id serial PRIMARY KEY, title text NOT NULL);\n" +
                         "INSERT INTO todos (title) VALUES ('buy milk'), ('write tests'), " +
                         "('ship it');\nSELECT id, title FROM todos ORDER BY id;");
  record("action", "Run SQL (CREATE TABLE; INSERT; SELECT) → results", sql.ms);
  assert.deepStrictEqual(sql.results.map((r) => r.command),
                         ["CREATE TABLE", "INSERT 0 3", "SELECT 3"]);
  assert.deepStrictEqual(sql.results[2].rows,
                         [["1", "buy milk"], ["2", "write tests"], ["3", "ship it"]]);
  await shot("details-query-editor");

  console.log("3. Take snapshot");
  let dialog = await action("Take snapshot");
  await (await dialogField(dialog, "Snapshot name")).fill(SNAPSHOT);
  t0 = performance.now();
  await dialog.getByRole("button", {name: "Take snapshot", exact: true}).click();
  await dialog.waitFor({state: "hidden", timeout: 30000});
  const snapshotRow = () => page.getByRole("row").filter({hasText: SNAPSHOT});
  await openPage("Snapshots", "Snapshots");
  await openTab("Manual");
  await until(async () => (await cell(snapshotRow(), "Status") || "").toLowerCase() ===
                          "available", WAIT_STATUS_MS, `${SNAPSHOT} available`);
  record("action", "Take snapshot → available", performance.now() - t0);
  await shot("snapshots");

  console.log("4. DELETE the rows");
  await openInstance(PRIMARY);
  await openTab("Query editor");
  sql = await runSql("DELETE FROM todos;\nSELECT count(*) FROM todos;");
  assert.deepStrictEqual(sql.results.map((r) => r.command), ["DELETE 3", "SELECT 1"]);
  assert.deepStrictEqual(sql.results[1].rows, [["0"]]);
  const deletedAt = new Date();

  console.log("5. Restore snapshot; the rows are back");
  await openPage("Snapshots", "Snapshots");
  await openTab("Manual");
  const row = snapshotRow().first();
  const pick = row.getByRole("radio").or(row.getByRole("checkbox"));
  if (await pick.count()) await pick.first().check();
  else await row.click();
  dialog = await action("Restore snapshot");
  await (await dialogField(dialog, "DB instance identifier")).fill(RESTORED);
  await confirmAndWait(dialog, "Restore DB instance", RESTORED, "available",
                       "Restore snapshot → available");
  await openInstance(RESTORED);
  await openTab("Query editor");
  sql = await runSql("SELECT id, title FROM todos ORDER BY id;");
  assert.deepStrictEqual(sql.results[0].rows,
                         [["1", "buy milk"], ["2", "write tests"], ["3", "ship it"]],
                         "the restored instance has the rows back");

  console.log("6. Restore to point in time (latest restorable time, after the DELETE)");
  // As the attendee watches Maintenance & backups: the latest restorable time passes the DELETE
  // once its WAL is archived (--wal-ship-seconds 1 below).
  await openInstance(PRIMARY);
  await openTab("Maintenance & backups");
  await until(async () => {
    const r = await server.rds({Action: "DescribeDBInstances", DBInstanceIdentifier: PRIMARY});
    return new Date(r.DBInstances[0].LatestRestorableTime) > deletedAt;
  }, 60000, "the latest restorable time after the DELETE");
  dialog = await action("Restore to point in time");
  await (await byLabel("Latest restorable time", dialog)).check();
  await (await dialogField(dialog, "DB instance identifier")).fill(PITR);
  await confirmAndWait(dialog, "Restore to point in time", PITR, "available",
                       "Restore to point in time → available");
  await openInstance(PITR);
  await openTab("Query editor");
  sql = await runSql("SELECT count(*) FROM todos;");
  assert.deepStrictEqual(sql.results[0].rows, [["0"]],
                         "the latest restorable time has the table, after the DELETE");

  console.log("7. Create read replica; it refuses writes; Promote; it takes writes");
  await openInstance(PRIMARY);
  dialog = await action("Create read replica");
  await (await dialogField(dialog, "DB instance identifier")).fill(REPLICA);
  await confirmAndWait(dialog, "Create read replica", REPLICA, "available",
                       "Create read replica → available");
  assert.strictEqual(await cell(instanceRow(REPLICA), "Role"), "Replica");
  assert.strictEqual(await cell(instanceRow(PRIMARY), "Role"), "Primary");
  await shot("databases-with-replica");
  await openInstance(REPLICA);
  await openTab("Query editor");
  const refused = await runSql("INSERT INTO todos (title) VALUES ('from the replica');",
                               {expectError: "cannot execute INSERT in a read-only transaction"});
  record("action", "Run SQL on the replica → read-only error shown", refused.ms);
  dialog = await action("Promote");
  await confirmAndWait(dialog, "Promote read replica", REPLICA, "available",
                       "Promote read replica → available, Role Instance",
                       async () => (await cell(instanceRow(REPLICA), "Role")) === "Instance");
  await openInstance(REPLICA);
  await openTab("Query editor");
  sql = await runSql("INSERT INTO todos (title) VALUES ('after the promotion');");
  assert.deepStrictEqual(sql.results.map((r) => r.command), ["INSERT 0 1"]);

  console.log("8. Multi-AZ (Production template); Reboot with failover");
  await createDatabase(MULTI_AZ, "Production");
  assert.strictEqual(await cell(instanceRow(MULTI_AZ), "Multi-AZ"), "Yes");
  await openInstance(MULTI_AZ);
  await openTab("Query editor");
  await runSql("CREATE TABLE orders (id int PRIMARY KEY, item text);\n" +
               "INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 100) g;");
  await openTab("Connectivity & security");
  const shownBefore = await visible(page.getByRole("tabpanel")).innerText();
  const before = await endpointOf(MULTI_AZ);
  const [host, port] = before.split(":");
  assert.ok(shownBefore.includes(host) && shownBefore.includes(port),
            `Connectivity shows the endpoint ${before}`);
  dialog = await action("Reboot");
  await (await byLabel("Reboot with failover", dialog)).check();
  let rebooting = false;
  await confirmAndWait(dialog, "Reboot", MULTI_AZ, "available", "Reboot with failover → available",
                       async () => {
                         // the failover's event is there (not a status read before the reboot)
                         const ev = await server.rds({Action: "DescribeEvents",
                                                      SourceType: "db-instance",
                                                      SourceIdentifier: MULTI_AZ});
                         rebooting = ev.Events.some((e) => /failover completed/i.test(e.Message));
                         return rebooting;
                       });
  assert.strictEqual(await endpointOf(MULTI_AZ), before, "the endpoint is unchanged");
  await openInstance(MULTI_AZ);
  await openTab("Connectivity & security");
  const shownAfter = await visible(page.getByRole("tabpanel")).innerText();
  assert.ok(shownAfter.includes(host) && shownAfter.includes(port),
            "Connectivity shows the same endpoint after the failover");
  await openTab("Query editor");
  sql = await runSql("SELECT count(*), sum(id) FROM orders;");
  assert.deepStrictEqual(sql.results[0].rows, [["100", "5050"]], "data intact after failover");

  console.log("9. DR drill on the Multi-AZ instance: writer, crash, recovery, nothing lost");
  await openTab("DR drill");
  await visible((await byLabel("Password"))).fill(PASSWORD);
  await visible(page.getByRole("button", {name: "Start writer", exact: true})).click();
  await until(async () => Number(await readStat("Acknowledged writes")) >= 20, 60000,
              "20 acknowledged writes");
  // The failover after the crash ends by replacing the standby (RDS-EVENT-0053); until then the
  // instance, available again, takes no other operation (the backup window below).
  const timeline = visible(page.locator(".ws-timeline"));
  const countIn = async (re) => ((await timeline.innerText()).match(re) || []).length;
  const recoveredEvent = /Multi-AZ instance recovery completed/g;
  const recoveriesBefore = await countIn(recoveredEvent);
  t0 = performance.now();
  await visible(page.getByRole("button", {name: "Crash primary", exact: true})).click();
  const recovery = await until(async () => {
    const r = await readStat("Recovery time");
    return /\d/.test(r || "") ? r : false;
  }, 120000, "the measured recovery time");
  record("action", `DR drill: Crash primary → recovery shown (drill measured ${recovery})`,
         performance.now() - t0);
  await visible(page.getByRole("button", {name: "Stop writer", exact: true})).click();
  const lost = await until(async () => {
    const r = await readStat("Data lost");
    return /\d/.test(r || "") ? r : false;
  }, 60000, "the rows lost");
  assert.match(lost, /^0 rows/, "a Multi-AZ instance loses no acknowledged write");
  await until(async () => (await countIn(recoveredEvent)) > recoveriesBefore, 120000,
              "the failover's end (its standby replaced) in the drill timeline");
  // The backup window, now (works without a writer): the fault in the drill's timeline, then the
  // instance's own "Finished DB Instance backup" event beside it (DescribeEvents, merged by time).
  // A refusal shows in the error banner: that fails at once, with RDS's message.
  const backupDone = /Finished DB Instance backup/g;
  const backupsBefore = await countIn(backupDone);
  const banners = page.locator(".banner-error");
  for (const earlier of await banners.all()) {  // only the click's own error counts below
    problems.push(`an error banner before the backup window: ${await earlier.innerText()}`);
    await earlier.getByRole("button", {name: "Dismiss"}).click();
  }
  await visible(page.getByRole("button", {name: "Trigger backup window", exact: true})).click();
  const backedUp = await until(async () => {
    if (await banners.count()) return {refused: await banners.first().innerText()};
    return (await countIn(backupDone)) > backupsBefore;
  }, 60000, "the instance's new backup event in the drill timeline");
  if (backedUp !== true) throw new Error(`the backup window was refused: ${backedUp.refused}`);
  const timelineText = await timeline.innerText();
  assert.match(timelineText, /RDS event/, "the timeline shows the instance's events");
  console.log(`  drill: acknowledged ${await readStat("Acknowledged writes")}, failed ` +
              `${await readStat("Failed writes")}, recovery ${recovery}, lost ${lost}`);
  await shot("details-dr-drill");

  console.log("10. The workshop pages");
  await openPage("Query editor", "Query editor", async () =>
    (await (await byLabel("DB instance")).locator("option").count()) > 1);
  await (await byLabel("DB instance")).selectOption(PRIMARY);
  await visible((await byLabel("SQL"))).waitFor();
  sql = await runSql("SELECT now() AS server_time, current_user, version();", {keyboard: true});
  assert.strictEqual(sql.results[0].rows[0][1], USER, "the query editor runs as the master user");
  await shot("query-editor");
  await openPage("DR drills", "DR drills", async () =>
    (await (await byLabel("DB instance")).locator("option").count()) > 1);
  await (await byLabel("DB instance")).selectOption(MULTI_AZ);
  await visible(page.locator(".ws-timeline tbody tr")).waitFor();
  await sleep(500);
  await shot("dr-drills");
  await openPage("Tutorial", "Tutorial", async () =>
    /of \d+ steps done/.test(await page.locator(".ws-progress").textContent()));
  const steps = page.locator(".ws-checklist input[type=checkbox]");
  await until(async () => {
    const states = await steps.evaluateAll((boxes) => boxes.map((b) => b.checked));
    return states.length === 8 && states.every(Boolean);
  }, 20000, "every tutorial step ticked").catch(async (e) => {
    const left = await page.locator(".ws-step:not(.ws-done) label").allTextContents();
    throw new Error(`${e.message}; not ticked: ${left.join("; ")}`);
  });
  await shot("tutorial");
  // The remaining pages, each with its rows (the automated backups and events of the walk, the
  // Region's default groups), for their screenshots.
  for (const name of ["Automated backups", "Events", "Parameter groups", "Subnet groups",
                      "Option groups"]) {
    await openPage(name, name, async () =>
      (await page.locator("table tbody tr").filter({visible: true}).count()) > 0);
    await shot(name.toLowerCase().replace(/[^a-z]+/g, "-"));
  }
  await openPage("Snapshots", "Snapshots");
  await openPage("Databases", "Databases", async () => (await instanceRow(MULTI_AZ).count()) > 0);
  await shot("databases-all");
}

function printLatencies() {
  const rows = [];
  const loads = new Map();
  for (const l of latencies) {
    if (l.kind !== "page load") {
      rows.push([l.kind, l.what, String(l.ms), ""]);
      continue;
    }
    if (!loads.has(l.what)) loads.set(l.what, []);
    loads.get(l.what).push(l.ms);
  }
  const pageRows = [...loads].map(([what, ms]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    const median = sorted[Math.floor((sorted.length - 1) / 2)];
    return ["page load", what, String(median),
            sorted.length > 1 ? `n=${sorted.length}, max ${sorted[sorted.length - 1]}` : ""];
  });
  const table = [["kind", "what", "ms", "note"], ...pageRows, ...rows];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
                                .join(" | ")} |`;
  console.log(`\nLatencies measured in the browser (Chromium ` +
              `${page ? page.context().browser().version() : "?"}, localrds --timing fast; ` +
              "page load: click in the navigation to the page's content, median of n; " +
              "action: click to the status the user waits for):");
  console.log(line(table[0]));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of table.slice(1)) console.log(line(r));
  fs.writeFileSync(path.join(shotDir, "latencies.json"), JSON.stringify(latencies, null, 2));
}

async function main() {
  const started = Date.now();
  shotDir = chromium.screenshotDir();
  for (const f of fs.readdirSync(shotDir)) {
    if (f.endsWith(".png")) fs.rmSync(path.join(shotDir, f));
  }
  server = await Localrds.start({name: "tutorial", extraArgs: ["--wal-ship-seconds", "1"]});
  let browser;
  let failed = false;
  const pageErrors = [];
  try {
    browser = await chromium.launch();
    const context = await browser.newContext({viewport: {width: 1280, height: 800}});
    page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on("pageerror", (e) => pageErrors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) {
        pageErrors.push(`console.error: ${m.text()}`);
      }
    });
    await walk();
    const csp = pageErrors.filter((e) => /Content Security Policy/i.test(e));
    assert.deepStrictEqual(csp, [], "the console breaks none of its CSP");
    console.log(`PASS tutorial walk (${((Date.now() - started) / 1000).toFixed(1)} s); ` +
                `screenshots in ${shotDir}`);
  } catch (e) {
    failed = true;
    console.error("FAIL tutorial walk:", e && e.stack || e);
    if (page) await page.screenshot({path: path.join(shotDir, "failure.png"), fullPage: true})
        .catch(() => {});
    console.error("--- localrds log (tail) ---\n" + server.logTail(40));
  } finally {
    if (page) printLatencies();
    for (const p of problems) console.log(`note: ${p}`);
    for (const e of pageErrors) console.log(`note: ${e}`);
    if (browser) await browser.close().catch(() => {});
    await server.stop();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
