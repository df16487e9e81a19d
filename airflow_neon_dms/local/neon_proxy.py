"""A local stand-in for Neon's proxy: PostgreSQL wire protocol, TLS, endpoint id rules.

It terminates TLS with a self-signed certificate made at start-up (``cryptography``), refuses
clients without TLS as Neon does, finds the endpoint id in the TLS SNI name, the ``options``
startup parameter (``endpoint=<id>``) or the password (``endpoint=<id>$<password>``, or ``;``),
answers Neon's own error when there is none, then logs in to the backend PostgreSQL with the real
password (trust, cleartext, md5 or SCRAM-SHA-256 via ``scramp``) and pipes bytes both ways.

The backend connection negotiates TLS as libpq's ``sslmode`` does (``backend_sslmode``: ``prefer``
by default, ``require`` or ``disable``) and sends the backend's host name as SNI, so the proxy can
front a TLS-only PostgreSQL or a real Neon endpoint. Like libpq's ``require``, it encrypts but does
not verify the backend's certificate. Neon's rules come from ``local/neon_rules.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import logging
import select
import shutil
import socket
import ssl
import struct
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from airflow_neon_dms.local.neon_rules import (
    INSECURE_MESSAGE,
    MISSING_ENDPOINT_MESSAGE,
    check_endpoint_id,
    endpoint_from_options,
    endpoint_from_sni,
    is_ip_address,
    options_without_endpoint,
    split_password,
)

log = logging.getLogger(__name__)

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
PROTOCOL_3 = 196608
#: How the proxy connects to its backend, with libpq's meanings (PostgreSQL docs, "SSL Support",
#: sslmode): disable = plaintext; prefer = TLS when the server offers it; require = TLS or fail.
BACKEND_SSLMODES = ("disable", "prefer", "require")
DEFAULT_BACKEND_SSLMODE = "prefer"


class ProxyError(Exception):
    """A reason to refuse the client, sent to it as a PostgreSQL ErrorResponse."""

    def __init__(self, message: str, sqlstate: str = "08004") -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate


def mismatch_message(asked: str, served: str) -> str:
    """The error a client gets when it names another endpoint than the one this proxy serves."""
    return (
        f'Endpoint ID mismatch: the connection asks for endpoint "{asked}" but this Neon proxy '
        f'serves "{served}". Use endpoint={served}$<password> as the password (or the host that '
        "starts with the endpoint id)."
    )


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!I", len(payload) + 4) + payload


def error_response(message: str, sqlstate: str = "08004") -> bytes:
    """A PostgreSQL ErrorResponse message."""
    fields = b"SFATAL\0VFATAL\0C" + sqlstate.encode() + b"\0M" + message.encode() + b"\0\0"
    return _message(b"E", fields)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        data += chunk
    return data


def _read_message(sock: socket.socket) -> tuple[bytes, bytes]:
    header = _recv_exact(sock, 5)
    length = struct.unpack("!I", header[1:])[0]
    return header[:1], _recv_exact(sock, length - 4)


def make_self_signed_cert(directory: Path, host_names: list[str]) -> tuple[Path, Path]:
    """Write a self-signed certificate and key for ``host_names``; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt_names: list[x509.GeneralName] = [x509.DNSName(h) for h in host_names]
    alt_names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "proxy.crt"
    key_path = directory / "proxy.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _remember_sni(sock: ssl.SSLSocket | ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
    sock.neon_sni = name  # type: ignore[union-attr]


def check_backend_sslmode(value: str) -> str:
    """Return ``value`` lower-cased when it is one of :data:`BACKEND_SSLMODES`; else raise ValueError."""
    mode = (value or "").strip().lower()
    if mode not in BACKEND_SSLMODES:
        raise ValueError(
            f"Backend sslmode {value!r} is not one of {', '.join(BACKEND_SSLMODES)}. Use prefer (TLS "
            "when the backend offers it), require (TLS or fail; real Neon) or disable (plaintext)."
        )
    return mode


def _backend_tls_context() -> ssl.SSLContext:
    # libpq's sslmode=require/prefer: encrypt, but do not verify the certificate or the host name.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # Neon and PostgreSQL 12+ refuse older versions
    return context


def connect_backend(host: str, port: int, sslmode: str, timeout: float = 10) -> socket.socket:
    """Open a connection to a PostgreSQL server, negotiating TLS as libpq's ``sslmode`` does.

    With ``prefer`` or ``require`` it sends an SSLRequest (PostgreSQL docs, "Message Flow", SSL
    Session Encryption); on ``S`` it starts TLS with ``host`` as the SNI name (none for an IP
    address, RFC 6066), on ``N`` it goes on in plaintext (``prefer``) or raises ProxyError
    (``require``). Returns a blocking socket.
    """
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        raise ProxyError(
            f"The Neon proxy cannot reach its backend PostgreSQL {host}:{port}: {err.strerror or err}. "
            "Check that the server runs and the --backend/--neon address is right.",
            "08001",
        ) from None
    try:
        if sslmode != "disable":
            sock.sendall(struct.pack("!II", 8, SSL_REQUEST))
            answer = _recv_exact(sock, 1)
            if answer == b"S":
                server_name = None if is_ip_address(host) else host
                try:
                    sock = _backend_tls_context().wrap_socket(sock, server_hostname=server_name)
                except ssl.SSLError as err:
                    raise ProxyError(
                        f"The TLS handshake with the backend PostgreSQL {host}:{port} failed: "
                        f"{err.reason or err}. Check that the backend speaks TLS 1.2 or later, or use "
                        "--backend-sslmode disable for a server without TLS.",
                        "08006",
                    ) from None
            elif answer != b"N":
                raise ProxyError(
                    f"The backend {host}:{port} answered the SSLRequest with {answer!r}, not S or N; "
                    "is it a PostgreSQL server?",
                    "08P01",
                )
            elif sslmode == "require":
                raise ProxyError(
                    f"The backend PostgreSQL {host}:{port} does not offer TLS, but the proxy's backend "
                    "sslmode is require. Turn ssl on in the backend's postgresql.conf, or use "
                    "--backend-sslmode prefer (or disable) for a local server without TLS.",
                    "08006",
                )
        sock.settimeout(None)
        return sock
    except BaseException:
        sock.close()
        raise


class NeonProxy:
    """A Neon proxy stand-in in front of one PostgreSQL server; a context manager.

    ``NeonProxy("ep-local-123", "127.0.0.1", 5432)`` listens on 127.0.0.1 (a free port unless
    ``listen_port`` is given; read ``.port``) and serves endpoint ``ep-local-123`` only.
    ``backend_sslmode`` (prefer, require, disable) says how it reaches the backend; with a host
    name as ``backend_host`` it sends that name as SNI, as a real Neon endpoint needs.
    """

    def __init__(
        self,
        endpoint_id: str,
        backend_host: str,
        backend_port: int,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        backend_sslmode: str = DEFAULT_BACKEND_SSLMODE,
    ) -> None:
        self.endpoint_id = check_endpoint_id(endpoint_id)
        self.backend_host = backend_host
        self.backend_port = int(backend_port)
        self.backend_sslmode = check_backend_sslmode(backend_sslmode)
        self.listen_host = listen_host
        self._listen_port = listen_port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._tmp: Path | None = None
        self._context: ssl.SSLContext | None = None
        self.cert_path: Path | None = None

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("NeonProxy is not started")
        return int(self._sock.getsockname()[1])

    def start(self) -> NeonProxy:
        self._tmp = Path(tempfile.mkdtemp(prefix="neon-proxy-"))
        self.cert_path, key_path = make_self_signed_cert(
            self._tmp, [f"{self.endpoint_id}.local.neon.test", "localhost"]
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        context.sni_callback = _remember_sni
        self._context = context
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.listen_host, self._listen_port))
        sock.listen(64)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name=f"neon-proxy-{self.port}", daemon=True)
        self._thread.start()
        log.info(
            "Neon proxy for endpoint %s listening on %s:%s -> %s:%s (backend sslmode %s)",
            self.endpoint_id,
            self.listen_host,
            self.port,
            self.backend_host,
            self.backend_port,
            self.backend_sslmode,
        )
        return self

    def stop(self) -> None:
        """Stop accepting connections and remove the certificate files; safe to call twice."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> NeonProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            client.settimeout(None)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    # ------------------------------------------------------------- one client
    def _serve(self, raw: socket.socket) -> None:
        client: socket.socket = raw
        backend: socket.socket | None = None
        try:
            client, params, sni = self._handshake(raw)
            backend = self._login(client, params, sni)
            self._pipe(client, backend)
        except ProxyError as err:
            log.info("Neon proxy refused a client: %s", err.message)
            with contextlib.suppress(OSError):
                client.sendall(error_response(err.message, err.sqlstate))
        except (ConnectionError, OSError, ssl.SSLError, struct.error) as err:
            log.debug("Neon proxy connection ended: %s", err)
        finally:
            for sock in (backend, client):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _handshake(self, raw: socket.socket) -> tuple[socket.socket, dict[str, str], str | None]:
        assert self._context is not None
        client = raw
        tls = False
        while True:
            length = struct.unpack("!I", _recv_exact(client, 4))[0]
            body = _recv_exact(client, length - 4)
            code = struct.unpack("!I", body[:4])[0]
            if code == SSL_REQUEST and not tls:
                client.sendall(b"S")
                client = self._context.wrap_socket(raw, server_side=True)
                tls = True
                continue
            if code == GSSENC_REQUEST:
                client.sendall(b"N")
                continue
            if code == CANCEL_REQUEST:
                # The client holds the backend's own process id and key (BackendKeyData passed
                # through untouched), so the request is forwarded as it is.
                with self._connect_backend() as backend:
                    backend.sendall(struct.pack("!I", length) + body)
                if isinstance(client, ssl.SSLSocket):
                    client.settimeout(2)
                    with contextlib.suppress(OSError, ssl.SSLError):
                        client.unwrap()  # close_notify, so the client sees a clean end
                raise ConnectionError("cancel request forwarded")
            if code != PROTOCOL_3:
                raise ProxyError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}", "08P01")
            if not tls:
                raise ProxyError(INSECURE_MESSAGE, "28000")
            parts = body[4:].split(b"\0")
            params = {
                parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]
            }
            return client, params, getattr(client, "neon_sni", None)

    def _login(self, client: socket.socket, params: dict[str, str], sni: str | None) -> socket.socket:
        endpoint = endpoint_from_sni(sni) or endpoint_from_options(params.get("options", ""))
        client.sendall(_message(b"R", struct.pack("!I", 3)))  # AuthenticationCleartextPassword
        kind, payload = _read_message(client)
        if kind != b"p":
            raise ProxyError("expected a password message", "08P01")
        password = payload.rstrip(b"\0").decode()
        from_password, real_password = split_password(password)
        endpoint = endpoint or from_password
        if not endpoint:
            raise ProxyError(MISSING_ENDPOINT_MESSAGE, "08004")
        if endpoint != self.endpoint_id:
            raise ProxyError(mismatch_message(endpoint, self.endpoint_id), "08004")
        backend = self._connect_backend()
        try:
            self._backend_auth(client, backend, params, real_password)
        except BaseException:
            backend.close()
            raise
        return backend

    def _backend_auth(
        self, client: socket.socket, backend: socket.socket, params: dict[str, str], password: str
    ) -> None:
        user = params.get("user", "")
        startup = {k: v for k, v in params.items() if k != "options"}
        rest = options_without_endpoint(params.get("options", ""))
        if rest:
            startup["options"] = rest
        payload = struct.pack("!I", PROTOCOL_3)
        payload += b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in startup.items()) + b"\0"
        backend.sendall(struct.pack("!I", len(payload) + 4) + payload)
        scram = None
        while True:
            kind, body = _read_message(backend)
            if kind == b"E":
                client.sendall(_message(kind, body))
                raise ConnectionError("backend refused the login")
            if kind != b"R":
                raise ProxyError("unexpected message from the backend during login", "08P01")
            code = struct.unpack("!I", body[:4])[0]
            if code == 0:  # AuthenticationOk: from here on the client talks to the backend
                client.sendall(_message(kind, body))
                return
            if code == 3:
                backend.sendall(_message(b"p", password.encode() + b"\0"))
            elif code == 5:
                salt = body[4:8]
                inner = hashlib.md5((password + user).encode()).hexdigest()  # the md5 auth protocol itself
                outer = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
                backend.sendall(_message(b"p", outer.encode() + b"\0"))
            elif code == 10:
                from scramp import ScramClient

                mechanisms = [m.decode() for m in body[4:].split(b"\0") if m]
                scram = ScramClient([m for m in mechanisms if m == "SCRAM-SHA-256"], user, password)
                first = scram.get_client_first().encode()
                message = b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first
                backend.sendall(_message(b"p", message))
            elif code == 11 and scram is not None:
                scram.set_server_first(body[4:].decode())
                backend.sendall(_message(b"p", scram.get_client_final().encode()))
            elif code == 12 and scram is not None:
                scram.set_server_final(body[4:].decode())
            else:
                raise ProxyError(f"the backend asks for an authentication method ({code}) the proxy lacks")

    def _connect_backend(self) -> socket.socket:
        return connect_backend(self.backend_host, self.backend_port, self.backend_sslmode)

    def _pipe(self, client: socket.socket, backend: socket.socket) -> None:
        sockets: list[socket.socket] = [client, backend]
        while not self._stopping.is_set():
            # TLS may hold decrypted bytes that select() cannot see; read those first.
            ready: list[socket.socket] = [s for s in sockets if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready = select.select(sockets, [], [], 0.5)[0]
            for sock in ready:
                data = sock.recv(1 << 16)
                if not data:
                    return
                (backend if sock is client else client).sendall(data)
