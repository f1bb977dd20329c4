"""Self-signed TLS certificates for the test XAPI server, made with the `openssl` command.

(The `cryptography` package is not a dependency; every CI image has `openssl`.)
"""

from __future__ import annotations

import hashlib
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SANS = ("IP:127.0.0.1", "IP:127.0.0.2", "DNS:localhost")


@dataclass(frozen=True)
class CertPair:
    cert: Path  # PEM certificate: also usable as a --ca-bundle (it is self-signed)
    key: Path  # PEM private key, unencrypted

    @property
    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert.read_text())

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, lowercase hex without separators."""
        return hashlib.sha256(self.der).hexdigest()

    @property
    def fingerprint_colons(self) -> str:
        """The `openssl x509 -fingerprint -sha256` spelling: AB:CD:…"""
        fp = self.fingerprint.upper()
        return ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))


def make_self_signed(directory: Path, name: str = "xapi", *, cn: str = "migready-test",
                     sans: tuple[str, ...] = DEFAULT_SANS) -> CertPair:
    """A fresh EC P-256 key and a self-signed certificate valid for two days."""
    if shutil.which("openssl") is None:  # pragma: no cover - environment problem
        raise RuntimeError("the tests need the openssl command to make certificates")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", f"/CN={cn}", "-addext", "subjectAltName=" + ",".join(sans)],
        check=True, capture_output=True,
    )
    return CertPair(cert, key)
