"""A local certificate authority and a C2PA signer certificate, made offline.

c2pa-rs accepts a signer only with the right extensions (``shared/spec/c2pa.md``): an end-entity v3
certificate with digitalSignature, an AuthorityKeyIdentifier, and the emailProtection extended key usage
(documentSigning alone is refused by c2pa-rs 0.91.3). Leaves are long-lived by default because, without a
timestamp authority, a signed file turns Invalid the day its leaf expires.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import AimarkError

CA_YEARS = 30
SIGNER_YEARS = 20
SECRET_MODE = 0o600


@dataclass(frozen=True)
class KeyPaths:
    """The files ``aimark keys init`` writes into one folder."""

    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca.key"

    @property
    def signer_chain(self) -> Path:
        return self.folder / "signer.pem"

    @property
    def signer_key(self) -> Path:
        return self.folder / "signer.key"

    def all(self) -> tuple[Path, ...]:
        return self.ca_cert, self.ca_key, self.signer_chain, self.signer_key

    def exist(self) -> bool:
        return self.signer_chain.is_file() and self.signer_key.is_file()


def default_key_folder() -> Path:
    """``$AIMARK_KEYS``, else ``$XDG_CONFIG_HOME/aimark/keys`` (``~/.config/aimark/keys``)."""
    if os.environ.get("AIMARK_KEYS"):
        return Path(os.environ["AIMARK_KEYS"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "aimark" / "keys"


def _write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only, from the first byte (no window with wider rights)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, SECRET_MODE)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])


def _key_usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                         encipher_only=False, decipher_only=False)


def make_credentials(organization: str, *, now: dt.datetime | None = None, signer_days: int | None = None):
    """(ca_cert, ca_key, signer_cert, signer_key) as cryptography objects; P-256 keys."""
    now = now or dt.datetime.now(dt.timezone.utc)
    start = now - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{organization} aimark CA", organization)
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    days = signer_days if signer_days is not None else 365 * SIGNER_YEARS
    signer_cert = (
        x509.CertificateBuilder().subject_name(_name(f"{organization} aimark signer", organization))
        .issuer_name(ca_name).public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start)
        .not_valid_after(min(now + dt.timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ca_cert, ca_key, signer_cert, signer_key


def init_keys(folder: Path, organization: str, *, force: bool = False, signer_days: int | None = None) -> KeyPaths:
    """Write a new local CA and signer into ``folder`` (0700), every file 0600. Refuses to overwrite.

    ``ca.pem`` is the trust anchor to hand to whoever verifies your files (``--trust``).
    """
    paths = KeyPaths(Path(folder))
    existing = [p for p in paths.all() if p.exists()]
    if existing and not force:
        raise AimarkError(f"keys already exist in {paths.folder} ({existing[0].name}); "
                          "pass --force to replace them (files signed before stay verifiable with the old ca.pem)")
    if not organization.strip():
        raise AimarkError("an organization name is needed for the certificates (--org)")
    paths.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_cert, ca_key, signer_cert, signer_key = make_credentials(organization, signer_days=signer_days)
    pem = serialization.Encoding.PEM
    pkcs8 = dict(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                 encryption_algorithm=serialization.NoEncryption())
    _write_secret(paths.ca_cert, ca_cert.public_bytes(pem))
    _write_secret(paths.ca_key, ca_key.private_bytes(**pkcs8))
    _write_secret(paths.signer_chain, signer_cert.public_bytes(pem))
    _write_secret(paths.signer_key, signer_key.private_bytes(**pkcs8))
    return paths
