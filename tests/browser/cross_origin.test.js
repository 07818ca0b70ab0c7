// A page of another origin can neither drive the console nor read anything from it.
//
// A real localrds with one instance, `victim` (made through the console API by this test's own
// session), and a page served from 127.0.0.2 (another origin, as an attacker's site in the
// user's browser would be). The page's own script, in Debian's Chromium, tries:
//   - CORS fetches (readable if they worked) of /console/api/info, /console/api/session,
//     /console/api/rds and /console/api/sql, with and without a made-up token header;
//   - no-cors fetches (the "simple" requests a browser sends without asking) and auto-submitted
//     <form> POSTs to the same endpoints: CreateDBInstance, DeleteDBInstance, a DROP over /sql;
//   - an <iframe> of /console/ (X-Frame-Options: DENY and CSP frame-ancestors 'none' must keep
//     the console out of any frame) and reading it.
// Then: nothing was readable by the page, the console never rendered inside the frame, and
// localrds holds exactly what it held before (victim alone, available, its table untouched, no
// `attacker` instance).
"use strict";

const fs = require("fs");
const http = require("http");
const assert = require("assert");
const {Localrds, freePort, sleep} = require("./lib/localrds");
const chromium = require("./lib/chromium");

const PASSWORD = "victim-pass-1";
let server;
let browser;
const sites = [];

function attackPage(api) {
  // Served from 127.0.0.2: its script is a file of that origin (no inline code needed there, but
  // the attacker's page would not care either way).
  const forms = [
    {id: "f-create", action: `${api}/console/api/rds?region=us-east-1`, fields: {
      Action: "CreateDBInstance", Version: "2014-10-31", DBInstanceIdentifier: "attacker",
      Engine: "postgres", DBInstanceClass: "db.t3.micro", AllocatedStorage: "20",
      MasterUsername: "root", MasterUserPassword: "attacker-pass"}},
    {id: "f-delete", action: `${api}/console/api/rds?region=us-east-1`, fields: {
      Action: "DeleteDBInstance", Version: "2014-10-31", DBInstanceIdentifier: "victim",
      SkipFinalSnapshot: "true"}},
    {id: "f-session", action: `${api}/console/api/session`, enctype: "text/plain",
     fields: {'{"x":"': '"}'}},
    {id: "f-sql", action: `${api}/console/api/sql?region=us-east-1`, enctype: "text/plain",
     fields: {[`{"DBInstanceIdentifier":"victim","password":"${PASSWORD}","sql":"DROP TABLE ` +
              'precious","x":"']: '"}'}},
  ];
  const formHtml = forms.map((f) => `<iframe name="t-${f.id}"></iframe>` +
      `<form id="${f.id}" method="POST" action="${f.action}" target="t-${f.id}"` +
      (f.enctype ? ` enctype="${f.enctype}"` : "") + ">" +
      Object.entries(f.fields).map(([k, v]) =>
          `<input type="hidden" name='${k.replace(/'/g, "&#39;")}' value='${v.replace(/'/g, "&#39;")}'>`).join("") +
      "</form>").join("\n");
  return `<!doctype html><html><head><title>attacker</title></head><body>
<h1>An innocent page</h1>
${formHtml}
<iframe id="framed" name="framed" src="${api}/console/"></iframe>
<script src="/attack.js"></script>
</body></html>`;
}

function attackScript(api) {
  return `
const API = ${JSON.stringify(api)};
const results = [];
async function attempt(name, fn) {
  try {
    const r = await fn();
    let body = null;
    try { body = await r.text(); } catch (e) { body = "(unreadable: " + e + ")"; }
    results.push({name, outcome: "answered", type: r.type, status: r.status, body});
  } catch (e) {
    results.push({name, outcome: "blocked", error: String(e)});
  }
}
const json = (o) => JSON.stringify(o);
const form = "Action=CreateDBInstance&Version=2014-10-31&DBInstanceIdentifier=attacker" +
  "&Engine=postgres&DBInstanceClass=db.t3.micro&AllocatedStorage=20&MasterUsername=root" +
  "&MasterUserPassword=attacker-pass";
const del = "Action=DeleteDBInstance&Version=2014-10-31&DBInstanceIdentifier=victim" +
  "&SkipFinalSnapshot=true";
const sql = json({DBInstanceIdentifier: "victim", password: ${JSON.stringify(PASSWORD)},
                  sql: "DROP TABLE precious"});
(async () => {
  // Reads (CORS): the answers would be readable if localrds allowed this origin.
  await attempt("cors GET info", () => fetch(API + "/console/api/info"));
  await attempt("cors GET console", () => fetch(API + "/console/"));
  await attempt("cors POST session", () => fetch(API + "/console/api/session",
      {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"}));
  await attempt("cors POST session text/plain", () => fetch(API + "/console/api/session",
      {method: "POST", headers: {"Content-Type": "text/plain"}, body: "{}"}));
  await attempt("cors POST rds with token", () => fetch(API + "/console/api/rds?region=us-east-1",
      {method: "POST", headers: {"X-Localrds-Console-Token": "00", "Content-Type":
       "application/x-www-form-urlencoded"}, body: "Action=DescribeDBInstances&Version=2014-10-31"}));
  await attempt("cors POST rds DescribeDBInstances", () => fetch(API +
      "/console/api/rds?region=us-east-1", {method: "POST", headers: {"Content-Type":
       "application/x-www-form-urlencoded"}, body: "Action=DescribeDBInstances&Version=2014-10-31"}));
  await attempt("cors GET drill", () => fetch(API +
      "/console/api/drill?region=us-east-1&DBInstanceIdentifier=victim"));
  // Writes a browser sends without asking (no-cors "simple" requests): opaque answers.
  await attempt("no-cors POST session", () => fetch(API + "/console/api/session",
      {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: "{}"}));
  await attempt("no-cors POST rds create", () => fetch(API + "/console/api/rds?region=us-east-1",
      {method: "POST", mode: "no-cors", headers: {"Content-Type":
       "application/x-www-form-urlencoded"}, body: form}));
  await attempt("no-cors POST rds delete", () => fetch(API + "/console/api/rds?region=us-east-1",
      {method: "POST", mode: "no-cors", headers: {"Content-Type":
       "application/x-www-form-urlencoded"}, body: del}));
  await attempt("no-cors POST sql", () => fetch(API + "/console/api/sql?region=us-east-1",
      {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: sql}));
  await attempt("no-cors POST drill fault", () => fetch(API + "/console/api/drill/fault?region=us-east-1",
      {method: "POST", mode: "no-cors", headers: {"Content-Type": "text/plain"},
       body: json({DBInstanceIdentifier: "victim", fault: "crash"})}));
  await attempt("no-cors POST rds via Query API path", () => fetch(API + "/",
      {method: "POST", mode: "no-cors", headers: {"Content-Type":
       "application/x-www-form-urlencoded"}, body: form}));
  // Forms: navigations of the hidden frames.
  for (const f of document.querySelectorAll("form")) f.submit();
  await new Promise((r) => setTimeout(r, 1500));
  for (const frame of document.querySelectorAll("iframe")) {
    let read;
    try {
      const doc = frame.contentDocument;
      read = doc ? "readable: " + (doc.body ? doc.body.innerText.slice(0, 200) : "(no body)")
                 : "null";
    } catch (e) {
      read = "blocked: " + e;
    }
    let framedConsole;
    try {
      framedConsole = !!(frame.contentWindow && frame.contentWindow.LocalrdsConsole);
    } catch (e) {
      framedConsole = "blocked";
    }
    results.push({name: "read frame " + (frame.id || frame.name), outcome: read,
                  framedConsole: String(framedConsole)});
  }
  window.attackResults = results;
})();
`;
}

// Opens the attacker's page in a fresh browser context and checks that the page could read
// nothing, that the console never rendered in its frame, and that localrds refused every request.
async function attackFrom(origin, sameSite) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  const refusedFrames = [];
  tab.on("console", (m) => {
    if (/frame|X-Frame-Options|frame-ancestors/i.test(m.text())) refusedFrames.push(m.text());
  });
  const logStart = fs.statSync(server.logPath).size;
  await tab.goto(`${origin}/`);
  await tab.waitForFunction(() => window.attackResults, null, {timeout: 60000});
  const results = await tab.evaluate(() => window.attackResults);

  console.log("attempts from %s (%s):", origin, sameSite ? "same site, another port"
                                                        : "another site");
  for (const r of results) {
    console.log("  %s: %s%s", r.name, r.outcome,
                r.outcome === "answered" ? ` (type ${r.type}, status ${r.status}, ` +
                                           `${(r.body || "").length} bytes readable)` : "");
  }
  for (const r of results) {
    if (r.outcome === "answered") {
      // An opaque answer: the browser sent it, the page learns nothing from it.
      assert.strictEqual(r.type, "opaque", `${r.name}: the page read an answer: ${r.status} ` +
                                           `${r.body}`);
      assert.strictEqual(r.status, 0, r.name);
      assert.strictEqual(r.body, "", `${r.name}: readable body ${r.body}`);
    } else if (r.name.startsWith("read frame")) {
      assert.ok(!r.outcome.startsWith("readable: "), `${r.name}: ${r.outcome}`);
      assert.notStrictEqual(r.framedConsole, "true", `${r.name}: the console ran in a frame`);
    } else {
      assert.strictEqual(r.outcome, "blocked", `${r.name}: ${r.outcome}`);
    }
  }
  // Playwright sees into every frame, whatever the origin: the console never rendered in the
  // attacker's <iframe> (localrds refused it, or Chromium showed its error page instead).
  const framed = tab.frames().find((f) => f.name() === "framed");
  assert.ok(framed, "the attacker's iframe exists");
  let framedConsole = false;
  try {
    framedConsole = await framed.evaluate(() => !!window.LocalrdsConsole ||
                                                !!document.querySelector("nav, #main"));
  } catch (e) {
    framedConsole = false;
  }
  console.log("  framed /console/: frame at %s, console rendered: %s%s", framed.url(),
              framedConsole, refusedFrames.length ? `; Chromium: ${refusedFrames[0]}` : "");
  assert.ok(!framedConsole, "the console rendered inside another origin's frame");

  // Each request reached localrds and was refused there (an attack that never arrived would pass
  // the checks above too): its log line, written while the attacks ran. The frame's GET of
  // /console/ from the same site may be served: the browser, not localrds, refuses to show it.
  const log = fs.readFileSync(server.logPath, "utf8").slice(logStart);
  const expected = [["POST", "/console/api/session"], ["POST", "/console/api/rds"],
                    ["POST", "/console/api/sql"], ["POST", "/console/api/drill/fault"],
                    ["GET", "/console/api/info"], ["POST", "/"]];
  if (!sameSite) expected.push(["GET", "/console/"]);
  for (const [method, p] of expected) {
    assert.ok(log.includes(`refused ${method} "${p}"`),
              `localrds logged no refusal of ${method} ${p}:\n${log}`);
  }
  const refusals = log.split("\n").filter((l) => l.includes("[api] refused")).length;
  console.log("  localrds refused %d requests of the page", refusals);
  await context.close();
}

async function main() {
  const started = Date.now();
  server = await Localrds.start({name: "cross-origin"});
  let failed = false;
  try {
    const api = server.url("");
    // The victim: an instance with a table, made by the test's own console session.
    await server.rds({Action: "CreateDBInstance", DBInstanceIdentifier: "victim",
                      Engine: "postgres", DBInstanceClass: "db.t3.micro",
                      AllocatedStorage: "20", MasterUsername: "root",
                      MasterUserPassword: PASSWORD, BackupRetentionPeriod: "0"});
    const deadline = Date.now() + 120000;
    for (;;) {
      const r = await server.rds({Action: "DescribeDBInstances", DBInstanceIdentifier: "victim"});
      if (r.DBInstances[0].DBInstanceStatus === "available") break;
      if (Date.now() > deadline) throw new Error("victim did not become available");
      await sleep(200);
    }
    const made = await server.consoleApi("POST", "sql?region=us-east-1", {
      DBInstanceIdentifier: "victim", password: PASSWORD,
      sql: "CREATE TABLE precious (v text); INSERT INTO precious VALUES ('keep me')"});
    assert.strictEqual(made.status, 200, `victim's table: ${made.status} ${made.body}`);

    // The console's own answers carry the headers that keep it out of frames.
    const page = await server.request("GET", "/console/");
    assert.strictEqual(page.status, 200);
    assert.strictEqual(String(page.headers["x-frame-options"]).toUpperCase(), "DENY");
    assert.match(String(page.headers["content-security-policy"]), /frame-ancestors 'none'/);
    for (const p of ["/console/api/info", "/console/api/session"]) {
      const r = await server.request("OPTIONS", p, {headers: {
        "Origin": "http://127.0.0.2", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-localrds-console-token"}});
      assert.ok(!r.headers["access-control-allow-origin"],
                `OPTIONS ${p} allowed another origin: ${JSON.stringify(r.headers)}`);
    }

    browser = await chromium.launch();
    // Two attackers: a site on another host (cross-site), and a page on localrds' own host but
    // another port (same-site, another origin), which a browser treats more kindly: there,
    // X-Frame-Options and frame-ancestors are what keep the console out of the frame.
    for (const host of ["127.0.0.2", "127.0.0.1"]) {
      const sitePort = await freePort(host);
      const html = attackPage(api);
      const js = attackScript(api);
      const site = http.createServer((req, res) => {
        res.writeHead(200, {"Content-Type": req.url === "/attack.js" ? "text/javascript"
                                                                     : "text/html"});
        res.end(req.url === "/attack.js" ? js : html);
      });
      sites.push(site);
      await new Promise((resolve) => site.listen(sitePort, host, resolve));
      await attackFrom(`http://${host}:${sitePort}`, host === "127.0.0.1");
    }

    // Nothing changed in localrds (each attack's requests were seen refused above).
    const after = await server.rds({Action: "DescribeDBInstances"});
    const ids = after.DBInstances.map((i) => `${i.DBInstanceIdentifier}:${i.DBInstanceStatus}`);
    assert.deepStrictEqual(ids, ["victim:available"], `instances after the attacks: ${ids}`);
    const table = await server.consoleApi("POST", "sql?region=us-east-1", {
      DBInstanceIdentifier: "victim", password: PASSWORD, sql: "SELECT v FROM precious"});
    assert.strictEqual(table.status, 200, `victim's table after the attacks: ${table.body}`);
    assert.deepStrictEqual(table.json.results[0].rows, [["keep me"]]);
    const drill = await server.consoleApi("GET",
                                          "drill?region=us-east-1&DBInstanceIdentifier=victim");
    assert.ok(!drill.json || !drill.json.drill || !(drill.json.drill.timeline || []).some(
                  (t) => t.kind === "fault"), `a fault was recorded: ${drill.body}`);
    console.log(`PASS cross-origin: nothing readable, nothing changed ` +
                `(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed = true;
    console.error("FAIL cross-origin:", e && e.stack || e);
    console.error("--- localrds log (tail) ---\n" + server.logTail());
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const site of sites) site.close();
    await server.stop();
  }
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
