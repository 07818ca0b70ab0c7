"""A web page cannot drive localrds: attacks made by a real headless Chromium.

localrds listens on loopback and does not verify signatures, so the one stranger that can reach
it is a web page in the user's browser. These tests make a real Chromium (/usr/bin/chromium,
Debian's package; scripts/install-deps.sh --test installs it) run attack pages against a real
localrds with one real instance, `victim`, and check that nothing happened to it:

- pages of another origin (127.0.0.2, localhost, and 127.0.0.1 on another port) send it
  presigned-looking <img> and no-cors fetch requests, auto-submitted forms to the controls,
  and a CORS fetch with an Authorization header (whose preflight must fail);
- a DNS rebinding attack, made real with a relay and --host-resolver-rules, makes
  SAME-ORIGIN requests, whose answers the page can read;
- plain-Python controls show the refusals come from the Host rule (--allowed-hosts lifts it),
  and that presigned mutations and CORS preflights are refused without any browser header;
- a page reaching a localrds under an allowed LAN-style name, which Chromium sends no
  Sec-Fetch-* to, and with no Referer: only the presigned rule stands, and holds.

Each attack must be seen refused in localrds' log (`[api] refused <METHOD> "<path>" (<reason>)`),
in the part of the log written while that attack ran: an attack that never reached localrds
would otherwise pass. Chromium's own network log says what it sent; it is printed as evidence.
"""

import http.client
import os
import re
import sys
import urllib.parse

import browser
import harness
from harness import (API_VERSION, MASTER_PASSWORD, MASTER_USER, LocalrdsTestCase, free_port,
                     parse_error, psql)

VICTIM = "victim"
ATTACKER_PASSWORD = "attacker-pass"
FAKE_SIGNATURE = "a1b2c3d4e5f60718" * 4  # 64 hex digits: the shape of a SigV4 signature

# What a presigned URL carries (nobody can check it: localrds has no secret keys).
PRESIGN = [
    ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
    ("X-Amz-Credential", "AKIDEXAMPLE/20260101/us-east-1/rds/aws4_request"),
    ("X-Amz-Date", "20260101T000000Z"),
    ("X-Amz-SignedHeaders", "host"),
    ("X-Amz-Signature", FAKE_SIGNATURE),
]
DELETE_VICTIM = [("Action", "DeleteDBInstance"), ("DBInstanceIdentifier", VICTIM),
                 ("SkipFinalSnapshot", "true"), ("Version", API_VERSION)]
MODIFY_VICTIM = [("Action", "ModifyDBInstance"), ("DBInstanceIdentifier", VICTIM),
                 ("MasterUserPassword", ATTACKER_PASSWORD), ("ApplyImmediately", "true"),
                 ("Version", API_VERSION)]
PRESIGNED_DELETE_QUERY = urllib.parse.urlencode(DELETE_VICTIM + PRESIGN)
PRESIGNED_MODIFY_BODY = urllib.parse.urlencode(MODIFY_VICTIM + PRESIGN)

# The Authorization header a rebinding page can send to its "own" origin (no preflight).
PAGE_AUTH = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/rds/"
                     "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "X-Amz-Date": "20260101T000000Z",
}
FORM = "application/x-www-form-urlencoded"

# `[api] refused GET "/" (cross-site-request)`
REFUSAL = re.compile(r'\bapi\]?:? refused (?P<method>[A-Z]+) "(?P<path>[^"]*)" '
                     r'\((?P<reason>[a-z-]+)\)')
BROWSER_REASONS = {"cross-site-request", "presigned-mutation"}


def log_size(h):
    try:
        return os.path.getsize(h.log_path)
    except OSError:
        return 0


def refusals_between(h, start, end):
    """[(method, path, reason)] of the refusal lines localrds logged between two log offsets."""
    with open(h.log_path, "rb") as f:
        f.seek(start)
        text = f.read(max(0, end - start)).decode("utf-8", "replace")
    return [(m["method"], m["path"], m["reason"]) for m in REFUSAL.finditer(text)]


def http_exchange(port, method, path, body=None, headers=None, timeout=30):
    """One request by hand: (status, {lower-case header: value}, body text). Sends exactly the
    headers given (Host too, when given), nothing of the harness' defaults."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        skip_host = any(k.lower() == "host" for k in hdrs)
        conn.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        if isinstance(body, str):
            body = body.encode()
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        res = conn.getresponse()
        data = res.read().decode("utf-8", "replace")
        return res.status, {k.lower(): v for k, v in res.getheaders()}, data
    finally:
        conn.close()


class BrowserTest(LocalrdsTestCase):
    """One localrds with one instance, `victim`, attacked from a real Chromium."""

    victim_pid = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.rds.create_db_instance(
                DBInstanceIdentifier=VICTIM, Engine="postgres", DBInstanceClass="db.t3.micro",
                MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD,
                AllocatedStorage=20, BackupRetentionPeriod=0)
            cls.rds.get_waiter("db_instance_available").wait(
                DBInstanceIdentifier=VICTIM, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            status, details = cls.h.control("GET", "/_localrds/instances/%s" % VICTIM)
            assert status == 200 and details["server"]["running"], details
            cls.victim_pid = details["server"]["pid"]
            cls.victim_port = details["port"]
        except BaseException:
            sys.stderr.write(cls.h.log_tail())
            cls.h.stop()
            raise

    # -- helpers --

    def require_browser(self):
        why = browser.chromium_missing()
        if why:
            self.fail(why)  # a failure, not a skip: CI must prove the install script provides it

    def api(self, path=""):
        return "http://127.0.0.1:%d/%s" % (self.h.api_port, path.lstrip("/"))

    def assertVictimIntact(self):
        """`victim` exists, is available, its PostgreSQL server was not restarted or killed,
        and its master password is still the original one."""
        found = self.rds.describe_db_instances()["DBInstances"]
        names = [i["DBInstanceIdentifier"] for i in found]
        self.assertIn(VICTIM, names, "victim is gone")
        self.assertEqual(self.describe(VICTIM)["DBInstanceStatus"], "available")
        status, details = self.h.control("GET", "/_localrds/instances/%s" % VICTIM)
        self.assertEqual(status, 200, details)
        self.assertTrue(details["server"]["running"], details)
        self.assertEqual(details["server"]["pid"], self.victim_pid,
                         "victim's postmaster was replaced (crashed or restarted): %r" % details)
        rc, out, err = psql(self.victim_port, MASTER_USER, MASTER_PASSWORD, "postgres",
                            "SELECT 1")
        self.assertEqual((rc, out), (0, "1"), "the original password no longer works: %s" % err)
        rc, out, err = psql(self.victim_port, MASTER_USER, ATTACKER_PASSWORD, "postgres",
                            "SELECT 1")
        self.assertNotEqual(rc, 0, "the attacker's password works")
        self.assertIn("password authentication failed", err)

    def assertEachReachedAndRefused(self, reports, start, expected, reasons):
        """For each vector (name → (method, path)), the log written while it ran (between the
        page's previous report and its own) has a refusal of that method and path, for one of
        `reasons`. The page reports a vector only after the browser saw its outcome, and
        localrds logs a refusal before answering, so the line cannot fall into another part."""
        seen = {}
        prev = start
        for report, mark in reports:
            seen[report["step"]] = refusals_between(self.h, prev, mark)
            prev = mark
        for name, (method, path) in expected.items():
            with self.subTest(attack=name, refusal_logged=True):
                self.assertIn(name, seen, "the page never reported %r" % name)
                lines = seen[name]
                matching = [l for l in lines if l[0] == method and l[1] == path]
                self.assertTrue(matching, "%s: no `refused %s \"%s\"` line in localrds' log "
                                "while it ran (the attack did not reach localrds, or was not "
                                "refused); refusals seen then: %r" % (name, method, path, lines))
                for line in matching:
                    self.assertIn(line[2], reasons, "%s refused for the wrong reason" % name)
        return seen

    def run_pages(self, bind_host, url_host, pages):
        """Serves `pages` ({path: html(report_url)}) from bind_host:<free port>, opens
        http://url_host:<port>/ in Chromium and waits for the page's final report. Returns
        (reports, log offset before the browser started, the Chromium)."""
        self.require_browser()
        port = free_port()
        site = browser.PageServer(bind_host, port, snapshot=lambda: log_size(self.h))
        site.pages = {path: page(site.url("/report", url_host)) for path, page in pages.items()}
        start = log_size(self.h)
        with site:
            chrome = browser.Chromium(site.url("/", url_host))
            with chrome:
                try:
                    reports = site.wait_for("done", timeout=60)
                except AssertionError as e:
                    self.fail("%s\n--- chromium output ---\n%s" % (e, chrome.output_tail()))
        return reports, start, chrome

    # -- 1. pages of another origin --

    def cross_origin_attack(self, bind_host, url_host, expected_site):
        base = self.api()
        first = [
            {"name": "img-presigned-delete", "kind": "img",
             "url": base + "?" + PRESIGNED_DELETE_QUERY},
            {"name": "no-cors-get-presigned-delete", "kind": "no-cors",
             "url": base + "?" + PRESIGNED_DELETE_QUERY},
            {"name": "no-cors-post-presigned-modify", "kind": "no-cors", "method": "POST",
             "url": base, "headers": {"Content-Type": FORM}, "body": PRESIGNED_MODIFY_BODY},
            {"name": "form-post-reset", "kind": "form", "url": self.api("/_localrds/reset"),
             "fields": {"confirm": "yes"}},
            {"name": "form-post-crash", "kind": "form",
             "url": self.api("/_localrds/instances/%s/crash" % VICTIM), "fields": {"x": "1"}},
            {"name": "sandboxed-form-post-presigned-modify", "kind": "sandboxed-form",
             "url": base, "fields": dict(MODIFY_VICTIM + PRESIGN)},
            {"name": "cors-post-with-authorization", "kind": "read", "method": "POST",
             "url": base, "headers": dict(PAGE_AUTH, **{"Content-Type": FORM}),
             "body": urllib.parse.urlencode(DELETE_VICTIM)},
        ]
        second = [  # the same page again, sending no Referer at all
            {"name": "img-presigned-delete-no-referrer", "kind": "img",
             "url": base + "?" + PRESIGNED_DELETE_QUERY},
            {"name": "no-cors-post-presigned-modify-no-referrer", "kind": "no-cors",
             "method": "POST", "url": base, "headers": {"Content-Type": FORM},
             "body": PRESIGNED_MODIFY_BODY},
        ]
        pages = {
            "/": lambda report: browser.attack_page(first, report, next_url="/no-referrer"),
            "/no-referrer": lambda report: browser.attack_page(second, report,
                                                                no_referrer=True),
        }
        reports, start, chrome = self.run_pages(bind_host, url_host, pages)
        sent = chrome.requests_to("127.0.0.1:%d" % self.h.api_port)
        sys.stderr.write(browser.describe_requests(sent, "page on %s" % url_host))

        outcomes = {r["step"]: r for r, _ in reports}
        with self.subTest(check="what the page saw"):
            page_origin = "http://%s:" % url_host
            for name, r in outcomes.items():
                self.assertTrue(r["page"].startswith(page_origin), r)
                self.assertNotEqual(r.get("outcome"), "timeout", "%s: %r" % (name, r))
            # The preflight of a request with an Authorization header fails: the page gets
            # nothing, not even an opaque answer.
            cors = outcomes["cors-post-with-authorization"]
            self.assertEqual(cors.get("outcome"), "exception", cors)
            self.assertTrue(cors.get("error", "").startswith("TypeError"), cors)

        expected = {
            "img-presigned-delete": ("GET", "/"),
            "no-cors-get-presigned-delete": ("GET", "/"),
            "no-cors-post-presigned-modify": ("POST", "/"),
            "form-post-reset": ("POST", "/_localrds/reset"),
            "form-post-crash": ("POST", "/_localrds/instances/%s/crash" % VICTIM),
            "sandboxed-form-post-presigned-modify": ("POST", "/"),
            "cors-post-with-authorization": ("OPTIONS", "/"),  # only the preflight goes out
            "img-presigned-delete-no-referrer": ("GET", "/"),
            "no-cors-post-presigned-modify-no-referrer": ("POST", "/"),
        }
        self.assertEachReachedAndRefused(reports, start, expected, BROWSER_REASONS)

        with self.subTest(check="what Chromium sent and got back"):
            self.assertChromiumSaw(sent, len(expected), expected_site)
        with self.subTest(check="victim intact"):
            self.assertVictimIntact()

    def assertChromiumSaw(self, sent, count, expected_site):
        """Chromium's network log of the attack: a 4xx for every request (the preflight too) and
        never an Access-Control-Allow-* header; the page was the kind of site claimed, the
        sandboxed form said `Origin: null`, the no-referrer page sent no Referer."""
        def brief(r):
            return "%s %s -> %s %s" % (r["method"], r["url"][:90], r["status"],
                                       sorted(r["response_headers"]))
        self.assertGreaterEqual(len(sent), count, [brief(r) for r in sent])
        for r in sent:
            self.assertIsNotNone(r["status"], brief(r))
            self.assertTrue(400 <= r["status"] < 500, brief(r))
            self.assertFalse([k for k in r["response_headers"]
                              if k.startswith("access-control-allow")], brief(r))
        self.assertIn("OPTIONS", [r["method"] for r in sent])
        opaque = [r for r in sent if r["request_headers"].get("origin") == "null"]
        self.assertEqual(len(opaque), 1, "the sandboxed form should say Origin: null: %r"
                         % [brief(r) for r in sent])
        self.assertEqual(opaque[0]["request_headers"].get("sec-fetch-site"), "cross-site")
        sites = {r["request_headers"].get("sec-fetch-site") for r in sent if r not in opaque}
        self.assertEqual(sites, {expected_site}, "Chromium's Sec-Fetch-Site: %r" % sites)
        no_ref_post = [r for r in sent if r["method"] == "POST"][-1]
        self.assertNotIn("referer", no_ref_post["request_headers"], no_ref_post)

    def test_1a_cross_site_page_on_127_0_0_2(self):
        self.cross_origin_attack("127.0.0.2", "127.0.0.2", "cross-site")

    def test_1b_page_on_localhost_other_port(self):
        # localhost and 127.0.0.1 are different hosts, so different sites for the browser.
        self.cross_origin_attack("127.0.0.1", "localhost", "cross-site")

    def test_1c_same_site_page_on_127_0_0_1_other_port(self):
        # Same host, another port: same-site but cross-origin.
        self.cross_origin_attack("127.0.0.1", "127.0.0.1", "same-site")

    # -- 2. DNS rebinding --

    def test_2_dns_rebinding_same_origin_requests_are_refused(self):
        self.require_browser()
        port = self.h.api_port
        evil = "evil.example:%d" % port
        vectors = [
            {"name": "health", "kind": "read", "url": "/_localrds/health"},
            {"name": "instance-details", "kind": "read",
             "url": "/_localrds/instances/%s" % VICTIM},
            {"name": "describe-signed", "kind": "read",
             "url": "/?Action=DescribeDBInstances&Version=%s" % API_VERSION,
             "headers": PAGE_AUTH},
            {"name": "delete-signed", "kind": "read", "method": "POST", "url": "/",
             "headers": dict(PAGE_AUTH, **{"Content-Type": FORM}),
             "body": urllib.parse.urlencode(DELETE_VICTIM)},
            {"name": "crash", "kind": "read", "method": "POST",
             "url": "/_localrds/instances/%s/crash" % VICTIM},
        ]
        expected = {
            "health": ("GET", "/_localrds/health"),
            "instance-details": ("GET", "/_localrds/instances/%s" % VICTIM),
            "describe-signed": ("GET", "/"),
            "delete-signed": ("POST", "/"),
            "crash": ("POST", "/_localrds/instances/%s/crash" % VICTIM),
        }
        # Reports go to another server of the attacker (relayed connections reach localrds).
        reports_at = browser.PageServer("127.0.0.2", free_port(),
                                        snapshot=lambda: log_size(self.h))
        page = browser.attack_page(vectors, reports_at.url("/report"))
        start = log_size(self.h)
        with reports_at, browser.RebindingRelay("127.0.0.2", port, page, "127.0.0.1",
                                                port) as relay:
            chrome = browser.Chromium("http://%s/" % evil,
                                      ["--host-resolver-rules=MAP evil.example 127.0.0.2"])
            with chrome:
                try:
                    reports = reports_at.wait_for("done", timeout=60)
                except AssertionError as e:
                    self.fail("%s\n--- chromium output ---\n%s" % (e, chrome.output_tail()))
        sent = chrome.requests_to(evil)
        sys.stderr.write(browser.describe_requests(sent, "rebinding page on " + evil))

        self.assertTrue(relay.page_served.is_set(), "the relay never served the attack page")
        self.assertTrue(relay.relayed, "the relay passed nothing on to localrds")
        outcomes = {r["step"]: r for r, _ in reports}
        for name in expected:
            with self.subTest(attack=name):
                self.assertRefusedAndReadable(name, outcomes.get(name), "http://%s/" % evil)
        self.assertEachReachedAndRefused(reports, start, expected, {"host-not-allowed"})
        with self.subTest(check="victim intact"):
            self.assertVictimIntact()

    def assertRefusedAndReadable(self, name, r, page):
        """The rebinding page's report of one same-origin request: it could read the answer
        (that is what rebinding buys), and the answer is a 403 AccessDenied that tells nothing."""
        self.assertIsNotNone(r, "the page never reported %r" % name)
        self.assertEqual(r["page"], page, r)
        self.assertEqual(r.get("outcome"), "response", r)
        self.assertEqual(r.get("type"), "basic", r)  # a same-origin, readable response
        self.assertEqual(r["status"], 403, r)
        err = parse_error(r["body"])
        self.assertIsNotNone(err, "not an AWS error envelope: %r" % r["body"])
        self.assertEqual((err["Type"], err["Code"]), ("Sender", "AccessDenied"), err)
        self.assertTrue(err["RequestId"], err)
        for secret in (self.h.root, VICTIM, "DBInstance"):
            self.assertNotIn(secret, r["body"], "leaked %r" % secret)
        self.assertFalse([k for k, _ in r["headers"] if k.startswith("access-control")], r)

    # -- 3. the Host rule, without a browser --

    def test_3_host_rule_is_what_refuses_rebinding(self):
        port = self.h.api_port
        describe = "/?Action=DescribeDBInstances&Version=%s" % API_VERSION
        delete_missing = urllib.parse.urlencode([
            ("Action", "DeleteDBInstance"), ("DBInstanceIdentifier", "no-such-instance"),
            ("SkipFinalSnapshot", "true"), ("Version", API_VERSION)])

        def page_like(host, origin=False):
            # What the rebinding page's browser sends: its own Host, same-origin fetches, the
            # Authorization header it may add to them, Origin on a POST.
            h = dict(PAGE_AUTH, **{"Host": host, "Sec-Fetch-Site": "same-origin"})
            if origin:
                h["Origin"] = "http://" + host
                h["Content-Type"] = FORM
            return h

        def requests(host):
            return [
                ("GET", "/_localrds/health", None, page_like(host)),
                ("GET", describe, None, page_like(host)),
                ("POST", "/", delete_missing, page_like(host, origin=True)),
                ("POST", "/", urllib.parse.urlencode(DELETE_VICTIM),
                 page_like(host, origin=True)),
            ]

        evil = "evil.example:%d" % port
        start = log_size(self.h)
        for method, path, body, headers in requests(evil):
            status, hdrs, text = http_exchange(port, method, path, body, headers)
            err = parse_error(text)
            self.assertEqual(status, 403, "%s %s with Host %s: %s" % (method, path, evil, text))
            self.assertIsNotNone(err, text)
            self.assertEqual((err["Type"], err["Code"]), ("Sender", "AccessDenied"), err)
            self.assertNotIn(self.h.data_dir, text)
        lines = refusals_between(self.h, start, log_size(self.h))
        self.assertEqual([l[2] for l in lines], ["host-not-allowed"] * 4, lines)

        # The same requests naming this server go through: the Host is what was refused.
        own = "127.0.0.1:%d" % port
        reqs = requests(own)
        status, _, text = http_exchange(port, *reqs[0][:2], reqs[0][2], reqs[0][3])
        self.assertEqual(status, 200, text)
        self.assertIn(self.h.data_dir, text)  # what the rebinding page would have read
        status, _, text = http_exchange(port, *reqs[1][:2], reqs[1][2], reqs[1][3])
        self.assertEqual(status, 200, text)
        self.assertIn("<DBInstanceIdentifier>%s</DBInstanceIdentifier>" % VICTIM, text)
        status, _, text = http_exchange(port, *reqs[2][:2], reqs[2][2], reqs[2][3])
        self.assertEqual((status, (parse_error(text) or {}).get("Code")),
                         (404, "DBInstanceNotFound"), text)

        # And a localrds told that evil.example is its name answers it.
        other = harness.Localrds(name="allowed-hosts", hold_default_port=False,
                                 extra_args=["--allowed-hosts", "evil.example"])
        self.addCleanup(other.stop)
        other.start()
        o_evil = "evil.example:%d" % other.api_port
        o_reqs = requests(o_evil)
        status, _, text = http_exchange(other.api_port, *o_reqs[0][:2], o_reqs[0][2],
                                        o_reqs[0][3])
        self.assertEqual(status, 200, text)
        status, _, text = http_exchange(other.api_port, *o_reqs[1][:2], o_reqs[1][2],
                                        o_reqs[1][3])
        self.assertEqual(status, 200, text)
        self.assertIn("<DescribeDBInstancesResult", text)
        status, _, text = http_exchange(other.api_port, *o_reqs[2][:2], o_reqs[2][2],
                                        o_reqs[2][3])
        self.assertEqual((status, (parse_error(text) or {}).get("Code")),
                         (404, "DBInstanceNotFound"), text)
        # ... and only that name.
        status, _, text = http_exchange(other.api_port, "GET", describe, None,
                                        page_like("evil2.example:%d" % other.api_port))
        self.assertEqual((status, (parse_error(text) or {}).get("Code")), (403, "AccessDenied"),
                         text)
        self.assertVictimIntact()

    # -- 4. presigned requests and preflights, without a browser --

    def test_4_presigned_mutations_and_preflights_are_refused(self):
        port = self.h.api_port
        no_auth = {"Host": "127.0.0.1:%d" % port}  # no Authorization, no browser headers
        start = log_size(self.h)
        status, _, text = http_exchange(port, "GET", "/?" + PRESIGNED_DELETE_QUERY, None, no_auth)
        self.assertEqual((status, (parse_error(text) or {}).get("Code")), (403, "AccessDenied"),
                         text)
        status, _, text = http_exchange(port, "POST", "/", PRESIGNED_MODIFY_BODY,
                                        dict(no_auth, **{"Content-Type": FORM}))
        self.assertEqual((status, (parse_error(text) or {}).get("Code")), (403, "AccessDenied"),
                         text)
        lines = refusals_between(self.h, start, log_size(self.h))
        self.assertEqual(lines, [("GET", "/", "presigned-mutation"),
                                 ("POST", "/", "presigned-mutation")])
        # A presigned read is fine (Describe*, List*, Download*).
        query = urllib.parse.urlencode([("Action", "DescribeDBInstances"),
                                        ("Version", API_VERSION)] + PRESIGN)
        status, _, text = http_exchange(port, "GET", "/?" + query, None, no_auth)
        self.assertEqual(status, 200, text)
        # A preflight, from a page or not, gets a 4xx and no Access-Control-Allow-* header.
        for headers in ({"Origin": "http://127.0.0.2:8000",
                         "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "authorization"}, {}):
            for path in ("/", "/_localrds/reset"):
                status, hdrs, text = http_exchange(port, "OPTIONS", path, None,
                                                   dict(no_auth, **headers))
                self.assertTrue(400 <= status < 500, (path, headers, status, text))
                self.assertFalse([k for k in hdrs if k.startswith("access-control")], hdrs)
        self.assertVictimIntact()


    # -- 5. where only the presigned rule stands: no Origin, no Referer, no Sec-Fetch-* --

    def test_5_presigned_get_without_any_browser_header_is_refused(self):
        """Chromium sends Sec-Fetch-* only to potentially trustworthy URLs (127.0.0.1 and
        localhost are), so a page can send a request that carries no browser header at all to
        a localrds reached under another name (here rds.lan.example, allowed with
        --allowed-hosts, as a team sharing one localrds would): a no-referrer <img> or no-cors
        GET. Only rule 3 refuses its presigned DeleteDBInstance."""
        self.require_browser()
        lan = harness.Localrds(name="lan", hold_default_port=False,
                               extra_args=["--allowed-hosts", "rds.lan.example"])
        self.addCleanup(lan.stop)
        lan.start()
        rds = lan.client()
        rds.create_db_instance(
            DBInstanceIdentifier=VICTIM, Engine="postgres", DBInstanceClass="db.t3.micro",
            MasterUsername=MASTER_USER, MasterUserPassword=MASTER_PASSWORD, AllocatedStorage=20,
            BackupRetentionPeriod=0, Port=lan.port_lo)
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=VICTIM, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        target = "rds.lan.example:%d" % lan.api_port
        url = "http://%s/?%s" % (target, PRESIGNED_DELETE_QUERY)
        vectors = [
            {"name": "img-presigned-delete", "kind": "img", "url": url},
            {"name": "no-cors-get-presigned-delete", "kind": "no-cors", "url": url},
        ]
        site = browser.PageServer("127.0.0.2", free_port(), snapshot=lambda: log_size(lan))
        evil = "evil.example:%d" % site.port
        site.pages = {"/": browser.attack_page(vectors, "http://%s/report" % evil,
                                               no_referrer=True)}
        start = log_size(lan)
        with site:
            chrome = browser.Chromium(
                "http://%s/" % evil,
                ["--host-resolver-rules=MAP evil.example 127.0.0.2,"
                 "MAP rds.lan.example 127.0.0.1"])
            with chrome:
                try:
                    reports = site.wait_for("done", timeout=60)
                except AssertionError as e:
                    self.fail("%s\n--- chromium output ---\n%s" % (e, chrome.output_tail()))
        sent = chrome.requests_to(target)
        sys.stderr.write(browser.describe_requests(sent, "no-referrer page on " + evil))

        with self.subTest(check="the requests carried no browser header"):
            self.assertEqual(len(sent), len(vectors), sent)
            for r in sent:
                self.assertEqual(r["request_headers"].get("host"), target, r)
                for name in ("origin", "referer", "sec-fetch-site", "sec-fetch-mode"):
                    self.assertNotIn(name, r["request_headers"], r)
                self.assertEqual(r["status"], 403, r)
        prev = start
        for report, mark in reports:
            if report["step"] != "done":
                with self.subTest(attack=report["step"]):
                    self.assertIn(("GET", "/", "presigned-mutation"),
                                  refusals_between(lan, prev, mark), report)
            prev = mark
        with self.subTest(check="victim intact"):
            found = rds.describe_db_instances()["DBInstances"]
            self.assertEqual([(i["DBInstanceIdentifier"], i["DBInstanceStatus"]) for i in found],
                             [(VICTIM, "available")])

if __name__ == "__main__":
    import unittest
    unittest.main()
