"""A minimal PostgreSQL client (protocol 3.0, SCRAM-SHA-256 / md5 / trust, simple queries):
the probe of the failover and docker benches. One attempt (new TCP connection + SCRAM + one
statement) costs a few milliseconds instead of psql's ~30 ms start-up."""

import base64
import hashlib
import hmac
import os
import socket
import struct

from .env import DB_NAME, MASTER_PASSWORD, MASTER_USER


class PgError(Exception):
    """An ErrorResponse from the server."""

    def __init__(self, fields):
        self.fields = fields
        self.sqlstate = fields.get("C", "")
        super().__init__(f"{fields.get('S', 'ERROR')} {self.sqlstate}: {fields.get('M', '')}")


_SALTED = {}  # (password, salt, iterations) -> SaltedPassword: the probe need not redo PBKDF2


class PgConn:
    """One connection over TCP. Every socket operation has `timeout` seconds. Raises OSError
    (ConnectionRefusedError, ConnectionResetError, TimeoutError, ...), EOFError when the server
    closes the connection, PgError on an ErrorResponse."""

    def __init__(self, host, port, user, password, database, timeout=3.0):
        self.buf = bytearray()
        self.sock = socket.create_connection((host, port), timeout=timeout)
        try:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._startup(user, password, database)
        except BaseException:
            self.sock.close()
            raise

    def _send(self, kind, body):
        self.sock.sendall(kind + struct.pack("!i", len(body) + 4) + body)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _message(self):
        head = self._read(5)
        return head[:1], self._read(struct.unpack("!i", head[1:])[0] - 4)

    @staticmethod
    def _error(body):
        fields = {}
        for part in body.split(b"\0"):
            if part:
                fields[chr(part[0])] = part[1:].decode(errors="replace")
        return PgError(fields)

    def _startup(self, user, password, database):
        params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in
                          (("user", user), ("database", database),
                           ("application_name", "bench_failover")))
        body = struct.pack("!i", 196608) + params + b"\0"
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        scram = None
        while True:
            kind, body = self._message()
            if kind == b"E":
                raise self._error(body)
            if kind == b"Z":
                return
            if kind != b"R":
                continue  # ParameterStatus, BackendKeyData, NoticeResponse
            code = struct.unpack("!i", body[:4])[0]
            if code == 0:
                continue
            if code == 3:  # cleartext
                self._send(b"p", password.encode() + b"\0")
            elif code == 5:  # md5
                inner = hashlib.md5(password.encode() + user.encode()).hexdigest()
                outer = hashlib.md5(inner.encode() + body[4:8]).hexdigest()
                self._send(b"p", b"md5" + outer.encode() + b"\0")
            elif code == 10:  # SASL
                if b"SCRAM-SHA-256\0" not in body[4:]:
                    raise PgError({"C": "28000", "M": f"SASL mechanisms {body[4:]!r}"})
                nonce = base64.b64encode(os.urandom(18)).decode()
                scram = {"first_bare": f"n=,r={nonce}", "nonce": nonce}
                first = ("n,," + scram["first_bare"]).encode()
                self._send(b"p", b"SCRAM-SHA-256\0" + struct.pack("!i", len(first)) + first)
            elif code == 11:  # SASLContinue: server-first-message
                server_first = body[4:].decode()
                attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
                if not attrs["r"].startswith(scram["nonce"]):
                    raise PgError({"C": "28000", "M": "SCRAM: bad server nonce"})
                salt, iters = base64.b64decode(attrs["s"]), int(attrs["i"])
                key = (password, salt, iters)
                if key not in _SALTED:
                    _SALTED[key] = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
                salted = _SALTED[key]
                client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
                stored_key = hashlib.sha256(client_key).digest()
                without_proof = "c=biws,r=" + attrs["r"]
                auth = f"{scram['first_bare']},{server_first},{without_proof}".encode()
                sig = hmac.new(stored_key, auth, hashlib.sha256).digest()
                proof = bytes(a ^ b for a, b in zip(client_key, sig))
                server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
                scram["server_sig"] = hmac.new(server_key, auth, hashlib.sha256).digest()
                self._send(b"p", (without_proof + ",p=" +
                                  base64.b64encode(proof).decode()).encode())
            elif code == 12:  # SASLFinal
                final = dict(kv.split("=", 1) for kv in body[4:].decode().split(","))
                if base64.b64decode(final.get("v", "")) != scram["server_sig"]:
                    raise PgError({"C": "28000", "M": "SCRAM: bad server signature"})
            else:
                raise PgError({"C": "28000", "M": f"unsupported authentication request {code}"})

    def query(self, sql):
        """Simple query -> rows (lists of str or None) of the last result. Returns only after
        ReadyForQuery, i.e. after the commit of an autocommit statement was acknowledged."""
        self._send(b"Q", sql.encode() + b"\0")
        rows, error = [], None
        while True:
            kind, body = self._message()
            if kind == b"D":
                n = struct.unpack("!h", body[:2])[0]
                pos, row = 2, []
                for _ in range(n):
                    ln = struct.unpack("!i", body[pos:pos + 4])[0]
                    pos += 4
                    if ln < 0:
                        row.append(None)
                    else:
                        row.append(body[pos:pos + ln].decode())
                        pos += ln
                rows.append(row)
            elif kind == b"T":
                rows = []
            elif kind == b"E":
                error = self._error(body)
            elif kind == b"Z":
                if error:
                    raise error
                return rows

    def close(self):
        try:
            self._send(b"X", b"")
        except OSError:
            pass
        self.sock.close()


def classify(e):
    """A short name for a failed attempt: refused, reset, eof, timeout, pg <SQLSTATE>, ..."""
    if isinstance(e, PgError):
        return f"pg {e.sqlstate}"
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "reset"
    if isinstance(e, EOFError):
        return "eof"
    if isinstance(e, TimeoutError):
        return "timeout"
    if isinstance(e, OSError):
        return f"os {e.errno}"
    return type(e).__name__


def connect(ep, timeout, user=MASTER_USER, database=DB_NAME):
    return PgConn(ep[0], ep[1], user, MASTER_PASSWORD, database, timeout)


def probe_once(ep, sql, timeout, user=MASTER_USER, database=DB_NAME):
    """One attempt: new connection + SCRAM + `sql` + close. -> (outcome, rows, PgError text)."""
    try:
        c = connect(ep, timeout, user, database)
        try:
            rows = c.query(sql)
        finally:
            c.close()
        return "ok", rows, None
    except (OSError, EOFError, PgError) as e:
        return classify(e), None, str(e) if isinstance(e, PgError) else None
