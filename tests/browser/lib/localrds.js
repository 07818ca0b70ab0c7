// One localrds server for a browser test, as tests/e2e/harness.py runs it: the binary of
// LOCALRDS_BIN (default build/localrds of this repository), a fresh data directory under /tmp,
// its own API port and block of instance ports, RDS's default port 5432 held while it runs (so
// every instance port is ours alone), and a teardown that resets, stops and kills whatever
// PostgreSQL of this data directory is left.
//
//   const server = await Localrds.start({name: "tutorial"});
//   server.url("/console/") ... await server.stop();
//
// Environment:
//   LOCALRDS_BIN                 the binary
//   LOCALRDS_BROWSER_PORT        the API port (default: a free one from the kernel)
//   LOCALRDS_BROWSER_PORT_RANGE  the instance ports, lo-hi (default: a free block in 20000-29999)
//   LOCALRDS_BROWSER_KEEP=1      keep the data directory and log
"use strict";

const childProcess = require("child_process");
const fs = require("fs");
const http = require("http");
const net = require("net");
const os = require("os");
const path = require("path");

const REPO = path.resolve(__dirname, "..", "..", "..");
const BIN = process.env.LOCALRDS_BIN || path.join(REPO, "build", "localrds");
const RDS_DEFAULT_PORT = 5432;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function portIsFree(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({port, host, exclusive: true}, () => s.close(() => resolve(true)));
  });
}

function freePort(host = "127.0.0.1") {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen({port: 0, host}, () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function pickPortBlock(size = 100) {
  const blocks = [];
  for (let lo = 20000; lo < 30000; lo += size) blocks.push(lo);
  blocks.sort(() => Math.random() - 0.5);
  for (const lo of blocks) {
    let free = true;
    for (let p = lo; p < lo + 5 && free; p++) free = await portIsFree(p);
    if (free) return [lo, lo + size - 1];
  }
  return [blocks[0], blocks[0] + size - 1];
}

// A small HTTP request to localrds: {status, headers, body (string), json (or null)}.
function request(port, method, urlPath, {headers = {}, body = null, timeout = 30000} = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({host: "127.0.0.1", port, method, path: urlPath, headers, timeout},
                             (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json = null;
        try {
          json = JSON.parse(text);
        } catch (e) {
          json = null;
        }
        resolve({status: res.statusCode, headers: res.headers, body: text, json});
      });
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on("error", reject);
    if (body !== null) req.write(body);
    req.end();
  });
}

// The PostgreSQL processes whose command line names this data directory.
function postgresOf(dataDir) {
  const out = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmd;
    try {
      cmd = fs.readFileSync(`/proc/${name}/cmdline`, "utf8").replace(/\0/g, " ");
    } catch (e) {
      continue;
    }
    const exe = cmd.split(" ", 1)[0];
    if (cmd.includes(dataDir) && exe.endsWith("postgres")) out.push(Number(name));
  }
  return out;
}

class Localrds {
  constructor(name) {
    this.name = name;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), `localrds-browser-${name}-`));
    this.dataDir = path.join(this.root, "data");
    this.logPath = path.join(this.root, "localrds.log");
    this.proc = null;
    this.portGuard = null;
    this.guardTimer = null;
  }

  static async start({name = "browser", extraArgs = []} = {}) {
    const server = new Localrds(name);
    try {
      await server._start(extraArgs);
    } catch (e) {
      await server.stop();
      throw e;
    }
    return server;
  }

  async _start(extraArgs) {
    if (!fs.existsSync(BIN)) {
      throw new Error(`${BIN} does not exist: build it (make -C build localrds) or set ` +
                      "LOCALRDS_BIN");
    }
    this.port = Number(process.env.LOCALRDS_BROWSER_PORT) || await freePort();
    const range = process.env.LOCALRDS_BROWSER_PORT_RANGE;
    [this.portLo, this.portHi] = range ? range.split("-").map(Number) : await pickPortBlock();
    this._holdDefaultPort();
    this.args = ["serve", "--host", "127.0.0.1", "--port", String(this.port),
                 "--data-dir", this.dataDir, "--port-range", `${this.portLo}-${this.portHi}`,
                 ...extraArgs];
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith("LOCALRDS_")) env[k] = v;  // the flags say everything
    }
    const log = fs.openSync(this.logPath, "a");
    this.proc = childProcess.spawn(BIN, this.args, {stdio: ["ignore", log, log], env});
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.proc.once("exit", (code, sig) => resolve(
        code ?? sig)));
    const deadline = Date.now() + 60000;
    for (;;) {
      if (this.proc.exitCode !== null) {
        throw new Error(`localrds exited with ${this.proc.exitCode}\n${this.logTail()}`);
      }
      try {
        const r = await request(this.port, "GET", "/_localrds/health", {timeout: 2000});
        if (r.status === 200) return;
      } catch (e) {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`localrds did not answer\n${this.logTail()}`);
      await sleep(50);
    }
  }

  // Instances without an explicit port ask for 5432 and fall back to the port range when it is
  // taken: hold it while we run (keep trying if someone else has it now).
  _holdDefaultPort() {
    const tryHold = () => {
      const s = net.createServer();
      s.once("error", () => {
        this.guardTimer = setTimeout(tryHold, 200);
      });
      s.listen({port: RDS_DEFAULT_PORT, host: "127.0.0.1", exclusive: true}, () => {
        this.portGuard = s;
      });
      s.unref();
    };
    tryHold();
  }

  url(p = "/") {
    return `http://127.0.0.1:${this.port}${p}`;
  }

  request(method, urlPath, opts) {
    return request(this.port, method, urlPath, opts);
  }

  // The console's JSON API as the test's own client (a session of its own).
  async consoleApi(method, apiPath, body = null) {
    if (!this.token) {
      const s = await this.request("POST", "/console/api/session", {
        headers: {"Content-Type": "application/json"}, body: "{}"});
      if (s.status !== 200 || !s.json || !s.json.token) {
        throw new Error(`POST /console/api/session: ${s.status} ${s.body}`);
      }
      this.token = s.json.token;
    }
    const headers = {"X-Localrds-Console-Token": this.token};
    if (body !== null) headers["Content-Type"] = typeof body === "string"
        ? "application/x-www-form-urlencoded" : "application/json";
    return this.request(method, `/console/api/${apiPath}`, {
      headers, body: body === null ? null : (typeof body === "string" ? body : JSON.stringify(body))});
  }

  async rds(params) {
    const form = new URLSearchParams({Version: "2014-10-31", ...params}).toString();
    const r = await this.consoleApi("POST", "rds?region=us-east-1", form);
    if (r.status !== 200) throw new Error(`${params.Action}: ${r.status} ${r.body}`);
    return r.json.result;
  }

  logTail(lines = 60) {
    try {
      return fs.readFileSync(this.logPath, "utf8").split("\n").slice(-lines).join("\n");
    } catch (e) {
      return "";
    }
  }

  async stop() {
    clearTimeout(this.guardTimer);
    if (this.portGuard) this.portGuard.close();
    if (this.proc && this.proc.exitCode === null) {
      try {
        await this.request("POST", "/_localrds/reset", {timeout: 120000});
      } catch (e) {
        // it is stopped below anyway
      }
      this.proc.kill("SIGTERM");
      const done = await Promise.race([this.exited, sleep(60000).then(() => "timeout")]);
      if (done === "timeout") {
        this.proc.kill("SIGKILL");
        await this.exited;
      }
    }
    const deadline = Date.now() + 20000;
    for (let victims = postgresOf(this.dataDir); victims.length && Date.now() < deadline;
         victims = postgresOf(this.dataDir)) {
      for (const pid of victims) {
        try {
          process.kill(pid, "SIGKILL");
        } catch (e) {
          // gone already
        }
      }
      await sleep(100);
    }
    if (process.env.LOCALRDS_BROWSER_KEEP !== "1") {
      fs.rmSync(this.root, {recursive: true, force: true});
    }
  }
}

module.exports = {Localrds, freePort, request, sleep};
