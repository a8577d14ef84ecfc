"""Content Credentials, in a moderator's words. Several different things can happen to a manifest, and only
one of them takes a label away:

- **stripped**: no manifest, though the image was labelled — a removal (any re-save by an image tool
  drops it, so it is reported at medium confidence at most);
- **modified**: the manifest was kept but the pixels changed after signing (a data-hash mismatch) — an
  edit or re-encode that kept the credentials; they describe the picture before that edit;
- **invalid**: the signature or the claim does not verify (or the store cannot be read) — the credentials
  were damaged, altered or forged, so nothing they say can be relied on; a signing certificate that only
  expired leaves the claim intact, and is said so;
- **remote**: the file points to credentials at a URL, which aimark never fetches.

A creator's CAWG identity assertion is judged apart from the claim: a valid claim with a broken identity
is valid credentials whose named creator cannot be confirmed.
"""

from __future__ import annotations

from aimark.labeller.vocabulary import Confidence, FindingKind, MarkKind

from ..findings import Finding
from .base import Case, Judge

# Failure codes that say the bytes the manifest hashed changed, not the manifest itself.
HARD_BINDING_CODES = ("assertion.dataHash.mismatch", "assertion.bmffHash.mismatch", "assertion.boxesHash.mismatch",
                      "assertion.collectionHash.mismatch")


def modified_only(codes: list[str]) -> bool:
    return bool(codes) and all(code in HARD_BINDING_CODES for code in codes)


class C2paJudge(Judge):
    def judge(self, case: Case) -> list[Finding]:
        credentials, labelled = case.inspection.c2pa, case.labelled_with(MarkKind.C2PA)
        if credentials is None:
            return []
        found = credentials.source_type_found_in
        source = f"; AI source type declared in {found}" if found and found != "the active manifest" else ""
        if credentials.state in ("Trusted", "Valid") and not credentials.failures:
            note = "signer not in the trust list" if credentials.untrusted else "signer trusted"
            findings = [Finding(FindingKind.C2PA_UNTRUSTED if credentials.untrusted else FindingKind.C2PA_VALID,
                                Confidence.HIGH, f"C2PA credentials hold ({note}{source})", ("C2PA",))]
            findings += self._identity(credentials) + self._ingredients(credentials)
            return findings
        if credentials.state == "Invalid" and modified_only(credentials.failures):
            return [Finding(FindingKind.C2PA_MODIFIED, Confidence.HIGH,
                            "the C2PA credentials were kept but the pixels changed after signing ("
                            + ", ".join(credentials.failures) + "): an edit or re-encode that kept the manifest; "
                            "the credentials describe the picture before that edit", ("C2PA",))]
        if credentials.state == "Invalid" and credentials.integrity_intact:
            return [Finding(FindingKind.C2PA_INVALID, Confidence.HIGH,
                            "the C2PA claim is intact but its signing certificate does not hold ("
                            + ", ".join(credentials.failures) + f"){source}", ("C2PA",))]
        if credentials.state in ("Invalid", "unreadable"):
            codes = ", ".join(credentials.failures) or credentials.error or "invalid"
            return [Finding(FindingKind.C2PA_INVALID, Confidence.HIGH,
                            f"the C2PA credentials do not verify ({codes}): damaged, altered or forged, so nothing "
                            "they claim can be relied on", ("C2PA",))]
        if credentials.state == "remote":
            return [Finding(FindingKind.C2PA_REMOTE, Confidence.HIGH,
                            f"the file points to C2PA credentials at {credentials.remote_url} (remote manifests "
                            "are never fetched)", ("C2PA",))]
        if credentials.state == "absent" and labelled:
            confidence = min(Confidence.MEDIUM, labelled.confidence)
            return [Finding(FindingKind.C2PA_STRIPPED, confidence, f"no C2PA manifest, though {labelled.reason} "
                            "(any re-save by an image tool drops it)", labelled.rests_on)]
        return []

    @staticmethod
    def _identity(credentials) -> list[Finding]:
        findings = []
        for identity in credentials.identity:
            if identity["valid"]:
                trust = "" if identity["trusted"] else " (its issuer or credential is not in the trust list)"
                findings.append(Finding(FindingKind.C2PA_IDENTITY_VALID, Confidence.HIGH,
                                        f"the creator identity assertion verifies{trust}", ("CAWG identity",)))
            else:
                findings.append(Finding(FindingKind.C2PA_IDENTITY_INVALID, Confidence.HIGH,
                                        "the credentials hold, but the creator identity assertion does not verify ("
                                        + ", ".join(identity["failures"]) + "): the named creator is unconfirmed",
                                        ("CAWG identity",)))
        return findings

    @staticmethod
    def _ingredients(credentials) -> list[Finding]:
        findings = []
        for ingredient in credentials.ingredients:
            if ingredient["failures"]:
                findings.append(Finding(FindingKind.C2PA_PARENT_INVALID, Confidence.HIGH,
                                        f"an ingredient ({ingredient['title']}, {ingredient['relationship']}) does "
                                        "not verify: " + ", ".join(ingredient["failures"]), ("C2PA ingredient",)))
            elif ingredient["untrusted"] and ingredient["relationship"] == "parentOf":
                findings.append(Finding(FindingKind.C2PA_PARENT_UNTRUSTED, Confidence.MEDIUM,
                                        f"the parent ingredient ({ingredient['title']}) was signed by a signer "
                                        "the re-signer did not trust", ("C2PA ingredient",)))
        return findings
