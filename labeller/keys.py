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
    """Write ``path`` readable by its owner only, from the first byte (no window with wider rights), through
    a new temporary file renamed into place: an existing link at ``path`` is replaced, never written through."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, SECRET_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def loose_mode(path: Path) -> int:
    """The group/other permission bits of ``path`` (0 when only its owner may use it)."""
    return path.stat().st_mode & 0o077


def _secure_folder(folder: Path) -> None:
    """Make ``folder`` (0700, parents too when we create them) or refuse an existing one others can use."""
    if folder.is_symlink():
        raise AimarkError(f"{folder} is a symbolic link: keys go in a real folder (choose another --dir)")
    if folder.exists():
        if not folder.is_dir():
            raise AimarkError(f"{folder} exists and is not a folder")
        if loose_mode(folder):
            raise AimarkError(f"{folder} is open to other users (mode {folder.stat().st_mode & 0o777:04o}): "
                              f"run 'chmod 700 {folder}' or choose another --dir")
        return
    missing = [folder] + [p for p in folder.parents if not p.exists()]
    for created in reversed(missing):
        created.mkdir(mode=0o700)
        os.chmod(created, 0o700)  # mkdir's mode is filtered by the umask


def key_warnings(key_file: Path) -> list[str]:
    """Warnings about a private key file others can read."""
    try:
        mode = loose_mode(Path(key_file))
    except OSError:
        return []
    if mode & 0o044:
        return [f"the private key {key_file} is readable by other users: run 'chmod 600 {key_file}'"]
    return []


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
    existing = [p for p in paths.all() if p.exists() or p.is_symlink()]
    if existing and not force:
        raise AimarkError(f"keys already exist in {paths.folder} ({existing[0].name}); "
                          "pass --force to replace them (files signed before stay verifiable with the old ca.pem)")
    if not organization.strip():
        raise AimarkError("an organization name is needed for the certificates (--org)")
    _secure_folder(paths.folder)
    ca_cert, ca_key, signer_cert, signer_key = make_credentials(organization, signer_days=signer_days)
    pem = serialization.Encoding.PEM
    pkcs8 = dict(encoding=pem, format=serialization.PrivateFormat.PKCS8,
                 encryption_algorithm=serialization.NoEncryption())
    _write_secret(paths.ca_cert, ca_cert.public_bytes(pem))
    _write_secret(paths.ca_key, ca_key.private_bytes(**pkcs8))
    _write_secret(paths.signer_chain, signer_cert.public_bytes(pem))
    _write_secret(paths.signer_key, signer_key.private_bytes(**pkcs8))
    return paths


# --- policy: where signing credentials and trust anchors come from, for the CLI and the library alike ----

def find_signer(key_dir: Path | None = None, cert: Path | None = None, key: Path | None = None,
                tsa_url: str | None = None, trust_anchors: str | None = None):
    """The C2PA signer the CLI would use: ``cert``/``key`` when given, else the keys of ``aimark keys init``
    in ``key_dir`` (default: ``default_key_folder()``). Raises ``AimarkError`` saying what to do."""
    from .c2pa import CredentialSigner

    if bool(cert) != bool(key):
        raise AimarkError("--cert and --key go together")
    if cert:
        return CredentialSigner.from_files(cert, key, tsa_url, trust_anchors)
    paths = KeyPaths(Path(key_dir) if key_dir else default_key_folder())
    if not paths.exist():
        raise AimarkError(f"no signing keys in {paths.folder}: run 'aimark keys init --org NAME', "
                          "pass --cert/--key, or --no-c2pa to skip Content Credentials")
    return CredentialSigner.from_files(paths.signer_chain, paths.signer_key, tsa_url, trust_anchors)


def trust_anchors(files=(), key_dir: Path | None = None) -> str | None:
    """PEM trust anchors for reading C2PA: the given files, else your own ``ca.pem`` from ``aimark keys
    init`` (in ``key_dir``, default ``default_key_folder()``) if there is one. The CLI's default too, so the
    library and the CLI give the same trust answer for the same file."""
    if files:
        try:
            return "\n".join(Path(p).read_text() for p in files)
        except OSError as exc:
            raise AimarkError(f"cannot read the trust anchors: {exc}") from None
    own = KeyPaths(Path(key_dir) if key_dir else default_key_folder()).ca_cert
    return own.read_text() if own.is_file() else None
