"""C2PA Content Credentials: sign an AI-generation manifest last, and read one back with its verdict.

Facts this relies on are measured in ``shared/spec/c2pa.md`` (c2pa-python 0.38.1): thumbnails off (they
cost 25x the time and 100 KB), remote manifest fetch off (a file must not make us touch the network),
``c2pa.created`` with the IPTC source type or signing fails, and signing must come after every other write.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import c2pa as c2pa_sdk
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import jumbf
from .errors import SigningError
from .metadata import TRAINED, AigcLabel

AIGC_ASSERTION = "cn.org.tc260.aigc"  # mirrors the GB 45438 metadata label's seven keys
PARENT_INGREDIENT = "parent"
MANIFEST_MARKER = b"c2pa"  # every embedded manifest store holds a JUMBF box labelled "c2pa"
READ_SETTINGS = {"verify": {"remote_manifest_fetch": False}}
SIGN_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}, "verify": {"remote_manifest_fetch": False}}
# What c2pa-python 0.38.1 signs and reads, by our format name (measured: each signs and reads Trusted).
MIME_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff",
              "GIF": "image/gif", "AVIF": "image/avif", "HEIF": "image/heic"}
EXPIRY_WARNING = dt.timedelta(days=30)


def _algorithm(key) -> c2pa_sdk.C2paSigningAlg:
    """The C2PA signing algorithm that matches the private key's type."""
    algs = c2pa_sdk.C2paSigningAlg
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": algs.ES256, "secp384r1": algs.ES384, "secp521r1": algs.ES512}
        if key.curve.name in by_curve:
            return by_curve[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return algs.ED25519
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048:
        return algs.PS256
    raise SigningError("unsupported signing key: use EC P-256/384/521, Ed25519 or RSA >= 2048 (aimark keys init)")


class CredentialSigner:
    """Signs AI-generation manifests with one certificate chain and key; reusable across images.

    Create one per process: a c2pa Signer made before ``fork`` is unusable in the child.
    """

    def __init__(self, chain_pem: bytes, key_pem: bytes, tsa_url: str | None = None,
                 trust_anchors: str | None = None):
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
            leaf = x509.load_pem_x509_certificates(chain_pem)[0]
        except (ValueError, TypeError) as exc:
            raise SigningError(f"cannot load the signing certificate or key: {exc}") from None
        self.certificate = leaf
        self.expires = leaf.not_valid_after_utc
        now = dt.datetime.now(dt.timezone.utc)
        if self.expires <= now:
            raise SigningError(f"the signing certificate expired on {self.expires:%Y-%m-%d}; "
                               "make a new one with 'aimark keys init' or bring your own")
        self.warnings = []
        if self.expires - now < EXPIRY_WARNING and not tsa_url:
            self.warnings.append(f"signing certificate expires on {self.expires:%Y-%m-%d}; without a timestamp "
                                 "authority (--tsa-url) signed files turn Invalid then")
        pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        info = c2pa_sdk.C2paSignerInfo(_algorithm(key), chain_pem, pkcs8, tsa_url)
        try:
            self._signer = c2pa_sdk.Signer.from_info(info)
        except c2pa_sdk.C2paError as exc:
            raise SigningError(f"c2pa refused the signing credentials: {exc}") from None
        settings = json.loads(json.dumps(SIGN_SETTINGS))
        if trust_anchors:  # parents signed by these CAs are recorded as trusted in the ingredient
            settings["trust"] = {"user_anchors": trust_anchors}
        self._context = c2pa_sdk.Context.from_dict(settings)
        self.tsa_url = tsa_url
        self._arguments = (chain_pem, key_pem, tsa_url, trust_anchors)

    def __reduce__(self):
        """Pickled as its credentials: each worker process builds its own c2pa signer (one made before
        ``fork`` is unusable in the child)."""
        return (type(self), self._arguments)

    @property
    def certificate_sha256(self) -> str:
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @classmethod
    def from_files(cls, chain: Path, key: Path, tsa_url: str | None = None,
                   trust_anchors: str | None = None) -> CredentialSigner:
        from .keys import key_warnings

        try:
            signer = cls(Path(chain).read_bytes(), Path(key).read_bytes(), tsa_url, trust_anchors)
        except OSError as exc:
            raise SigningError(f"cannot read signing credentials: {exc}; run 'aimark keys init' "
                               "or pass --cert and --key") from None
        signer.warnings += key_warnings(Path(key))
        return signer

    @property
    def signer_name(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        return names[0].value if names else self.certificate.subject.rfc4514_string()

    def sign(self, data: bytes, mime: str, manifest: dict, parent: tuple[bytes, str] | None = None) -> bytes:
        """``data`` with ``manifest`` signed into it. Nothing may change the file after this.

        ``parent`` (bytes, MIME type) is added as the ``parentOf`` ingredient labelled ``parent``: its own
        manifest, if any, becomes the previous link of the chain."""
        output = io.BytesIO()
        try:
            with c2pa_sdk.Builder(manifest, context=self._context) as builder:
                if parent is not None:
                    builder.add_ingredient({"title": manifest.get("title", "parent"), "relationship": "parentOf",
                                            "label": PARENT_INGREDIENT}, parent[1], io.BytesIO(parent[0]))
                builder.sign(self._signer, mime, io.BytesIO(data), output)
        except c2pa_sdk.C2paError as exc:
            hint = f"; is the timestamp authority {self.tsa_url} reachable?" if self.tsa_url else ""
            raise SigningError(f"C2PA signing failed: {exc}{hint}") from None
        return output.getvalue()


def ai_manifest(title: str, label: AigcLabel, *, generator: str, source_type: str = TRAINED,
                soft_binding: dict | None = None, version: str = "") -> dict:
    """The manifest for a freshly generated AI image: ``c2pa.created`` + source type + the AIGC keys."""
    assertions = [
        {"label": "c2pa.actions.v2", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": source_type, "softwareAgent": {"name": generator}},
        ]}},
        {"label": AIGC_ASSERTION, "data": label.to_dict()},
    ]
    if soft_binding:
        assertions.append({"label": "c2pa.soft-binding", "data": soft_binding})
    return {
        "claim_generator_info": [{"name": "aimark", "version": version}],
        "title": title,
        "assertions": assertions,
    }


def propagation_manifest(title: str, label: AigcLabel, *, platform: str, source_type: str | None,
                         edited: str | None, version: str = "") -> dict:
    """The manifest a platform signs over an upload it republishes: the upload is the parent ingredient
    (``c2pa.opened``), the label it now carries is asserted, and any pixel change is declared."""
    actions = [{"action": "c2pa.opened", "parameters": {"ingredientIds": [PARENT_INGREDIENT]},
                "softwareAgent": {"name": platform}}]
    if source_type:
        actions[0]["digitalSourceType"] = source_type
    if edited:
        actions.append({"action": "c2pa.edited", "description": edited, "softwareAgent": {"name": platform}})
    return {
        "claim_generator_info": [{"name": "aimark", "version": version}],
        "title": title,
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}},
                       {"label": AIGC_ASSERTION, "data": label.to_dict()}],
    }


# --- reading --------------------------------------------------------------------------------------------

@dataclass
class C2paReport:
    """What a file's Content Credentials say, and whether they hold.

    ``state`` is the claim's own validity: ``Trusted`` / ``Valid`` / ``Invalid``, ``absent`` (no manifest),
    ``remote`` (the file points to a manifest at ``remote_url``, which aimark never fetches) or
    ``unreadable`` (a manifest is there but cannot be parsed). It rests on the claim's failure codes only:
    CAWG identity assertions (``cawg.*``) are judged apart, in ``identity``, so a valid claim with a broken
    creator identity reads Valid with an invalid identity — as c2pa-rs reports it — where c2pa-python's
    own state (``sdk_state``) folds both into Invalid. ``failures`` holds every failure code of the active
    manifest, from its own results and from the store's status (assertion-level ones included).
    """

    state: str
    failures: list[str] = field(default_factory=list)
    untrusted: bool = False
    manifest: dict | None = None
    ingredients: list[dict] = field(default_factory=list)
    error: str | None = None
    sdk_state: str | None = None
    identity: list[dict] = field(default_factory=list)
    source_type_found_in: str | None = None
    source_type_found: str | None = None
    remote_url: str | None = None
    informational: list[str] = field(default_factory=list)  # the active manifest's informational codes

    @property
    def aigc(self) -> dict | None:
        return self.assertion(AIGC_ASSERTION)

    @property
    def digital_source_type(self) -> str | None:
        """The IPTC source type the credentials declare: the active manifest's, else the nearest
        ingredient's up the chain (``source_type_found_in`` says where)."""
        return self.source_type_found or source_type_of(self.manifest)

    def assertion(self, label: str) -> dict | None:
        for assertion in (self.manifest or {}).get("assertions", []):
            if assertion.get("label") == label:
                return assertion.get("data")
        return None

    def as_record(self) -> dict:
        return {"state": self.state, "failures": self.failures, "untrusted": self.untrusted,
                "signer": (self.manifest or {}).get("signature_info", {}).get("issuer"),
                "digital_source_type": self.digital_source_type, "source_type_found_in": self.source_type_found_in,
                "aigc": self.aigc, "identity": self.identity, "ingredients": self.ingredients,
                "informational": self.informational, "sdk_state": self.sdk_state, "remote_url": self.remote_url,
                "error": self.error}

    @property
    def integrity_intact(self) -> bool:
        """The claim and its bindings verify; at most the signing certificate is unknown or expired."""
        return self.state in ("Trusted", "Valid") or (
            self.state == "Invalid" and all(code in CREDENTIAL_ONLY for code in self.failures))


def source_type_of(manifest: dict | None) -> str | None:
    for label in ("c2pa.actions.v2", "c2pa.actions"):
        for assertion in (manifest or {}).get("assertions", []):
            if assertion.get("label") == label:
                for action in (assertion.get("data") or {}).get("actions", []):
                    if isinstance(action, dict) and action.get("digitalSourceType"):
                        return action["digitalSourceType"]
    return None


# Trust anchors as the CLI takes them when none are named: your own ca.pem from 'aimark keys init', if any.
DEFAULT_TRUST = "default"


@lru_cache(maxsize=8)
def read_context(trust_anchors: str | None = None) -> c2pa_sdk.Context:
    """Reader settings: never fetch remote manifests; trust ``trust_anchors`` (PEM) when given, or with
    ``DEFAULT_TRUST`` the CLI's default anchors (``keys.trust_anchors()``), so library and CLI agree.

    Cached: a context is immutable once built and costs a third of a read to make."""
    if trust_anchors == DEFAULT_TRUST:
        from .keys import trust_anchors as default_anchors

        trust_anchors = default_anchors()
    settings = json.loads(json.dumps(READ_SETTINGS))
    if trust_anchors:
        settings["trust"] = {"user_anchors": trust_anchors}
    return c2pa_sdk.Context.from_dict(settings)


def _codes(results: dict | None, kind: str) -> list[str]:
    return [entry.get("code", "") for entry in (results or {}).get(kind, []) if isinstance(entry, dict)]


def _entries(results: dict | None, kind: str) -> list[dict]:
    return [entry for entry in (results or {}).get(kind, []) if isinstance(entry, dict)]


UNTRUSTED = "signingCredential.untrusted"
# Failures about the signer's certificate alone: the signed claim itself is intact.
CREDENTIAL_ONLY = ("signingCredential.expired", "signingCredential.revoked", "signingCredential.ocsp.unknown")
MAX_CHAIN = 16  # ingredient manifests walked for a source type


def read_c2pa(data: bytes, mime: str, context: c2pa_sdk.Context | None = None) -> C2paReport:
    """Read and validate the C2PA manifest in ``data`` (never raises for a bad file: it says so)."""
    context = context or read_context()
    store = jumbf.manifest_store(data)
    problem = jumbf.store_problem(store) if store is not None else None
    if problem:
        return C2paReport(state="unreadable", error=f"malformed manifest store: {problem}")
    try:
        reader = c2pa_sdk.Reader(mime, io.BytesIO(data), context=context)
    except c2pa_sdk.C2paError.ManifestNotFound:
        return C2paReport(state="absent")
    except c2pa_sdk.C2paError as exc:
        error = f"{type(exc).__name__}: {exc}"
        if "must fetch remote manifests" in str(exc):  # the manifest lives at a URL: never fetched
            return C2paReport(state="remote", error=error, remote_url=str(exc).rsplit(" ", 1)[-1])
        if MANIFEST_MARKER not in data:  # a broken image with no manifest in it: nothing was tampered with
            return C2paReport(state="absent", error=error)
        return C2paReport(state="unreadable", error=error)
    try:
        with reader:
            sdk_state = str(reader.get_validation_state() or "Invalid")
            results = reader.get_validation_results() or {}
            store = json.loads(reader.json())
            try:
                manifest = reader.get_active_manifest()
            except (KeyError, ValueError, c2pa_sdk.C2paError):  # a store whose active manifest cannot be resolved
                manifest = None
    except Exception as exc:  # noqa: BLE001 - a malformed store must be a result, never a crash
        return C2paReport(state="unreadable", error=f"{type(exc).__name__}: {str(exc)[:200]}")
    return _report(store, results, manifest, sdk_state)


def _report(store: dict, results: dict, manifest: dict | None, sdk_state: str) -> C2paReport:
    manifests = store.get("manifests") or {}
    active_label = store.get("active_manifest")
    manifest = manifest or manifests.get(active_label)
    active = results.get("activeManifest") or {}
    here = f"/c2pa/{active_label}/" if active_label else None
    status = [entry for entry in store.get("validation_status") or [] if isinstance(entry, dict)]
    failure_entries = _entries(active, "failure") + [e for e in status if here is None or here in e.get("url", "")
                                                     or not e.get("url")]
    codes = list(dict.fromkeys(e.get("code", "") for e in failure_entries))
    identity_codes = [c for c in codes if c.startswith("cawg.")]
    claim_failures = [c for c in codes if not c.startswith("cawg.") and c != UNTRUSTED]
    untrusted = UNTRUSTED in codes + _codes(active, "informational")
    if sdk_state == "Invalid" and not claim_failures and not identity_codes and not untrusted:
        claim_failures = ["claim.invalid"]  # c2pa says Invalid without a code we could place
    state = "Invalid" if claim_failures else "Valid" if untrusted else "Trusted"
    report = C2paReport(state=state, failures=claim_failures, untrusted=untrusted, manifest=manifest,
                        sdk_state=sdk_state, identity=_identity(active, identity_codes),
                        ingredients=_ingredients(manifest, results, status),
                        informational=list(dict.fromkeys(c for c in _codes(active, "informational")
                                                         if not c.startswith("cawg."))))
    declared = source_type_of(manifest)
    if declared is None:
        report.source_type_found, report.source_type_found_in = _source_type_up_the_chain(manifest, manifests)
    elif declared:
        report.source_type_found_in = "the active manifest"
    return report


def _identity(active: dict, failures: list[str]) -> list[dict]:
    """CAWG identity assertions as their own evidence: valid unless a failure code says otherwise (a trust
    code — an issuer or credential not in the trust list — leaves it valid but untrusted)."""
    seen = {e.get("code") for kind in ("success", "informational", "failure") for e in _entries(active, kind)
            if str(e.get("code", "")).startswith("cawg.")} | set(failures)
    if not seen:
        return []
    broken = sorted(c for c in failures if "untrusted" not in c)
    trust = sorted(c for c in seen if "untrusted" in c)
    return [{"assertion": "cawg.identity", "valid": not broken, "trusted": not trust, "failures": broken,
             "codes": sorted(seen)}]


def _ingredients(manifest: dict | None, results: dict, status: list[dict]) -> list[dict]:
    deltas = [d for d in results.get("ingredientDeltas") or [] if isinstance(d, dict)]
    found = []
    for index, ingredient in enumerate((manifest or {}).get("ingredients", [])):
        own = _codes(ingredient.get("validation_results", {}).get("activeManifest"), "failure")
        own += [s.get("code") for s in ingredient.get("validation_status", []) if isinstance(s, dict) and s.get("code")]
        if index < len(deltas):
            own += _codes(deltas[index].get("validationDeltas"), "failure")
        label = ingredient.get("active_manifest")
        if label:
            own += [e.get("code") for e in status if f"/c2pa/{label}/" in e.get("url", "")]
        codes = list(dict.fromkeys(c for c in own if c))
        found.append({"title": ingredient.get("title"), "relationship": ingredient.get("relationship"),
                      "failures": [c for c in codes if c != UNTRUSTED and not c.startswith("cawg.")],
                      "untrusted": UNTRUSTED in codes, "has_manifest": bool(label), "manifest": label})
    return found


def _source_type_up_the_chain(manifest: dict | None, manifests: dict) -> tuple[str | None, str | None]:
    """The nearest digital source type declared by an ingredient's manifest, and where (breadth first)."""
    queue = [(ingredient, "") for ingredient in (manifest or {}).get("ingredients", [])]
    for _ in range(MAX_CHAIN):
        if not queue:
            break
        ingredient, path = queue.pop(0)
        where = f"{path}ingredient {ingredient.get('title')!r} ({ingredient.get('relationship')})"
        found = manifests.get(ingredient.get("active_manifest") or "")
        declared = source_type_of(found)
        if declared:
            return declared, f"the manifest of {where}"
        queue += [(inner, where + " > ") for inner in (found or {}).get("ingredients", [])]
    return None, None
