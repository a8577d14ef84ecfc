"""Content Credentials: valid (trusted or not), a parent that fails, tampered, or stripped."""

from __future__ import annotations

from aimark.labeller.vocabulary import Confidence, FindingKind

from ..findings import Finding
from .base import Case, Judge


class C2paJudge(Judge):
    def judge(self, case: Case) -> list[Finding]:
        credentials, labelled = case.inspection.c2pa, case.labelled
        if credentials is None:
            return []
        if credentials.state in ("Trusted", "Valid") and not credentials.failures:
            note = "signer not in the trust list" if credentials.untrusted else "signer trusted"
            findings = [Finding(FindingKind.C2PA_UNTRUSTED if credentials.untrusted else FindingKind.C2PA_VALID,
                                Confidence.HIGH, f"C2PA credentials hold ({note})", ("C2PA",))]
            for ingredient in credentials.ingredients:
                if ingredient["failures"]:
                    findings.append(Finding(FindingKind.C2PA_TAMPERED, Confidence.HIGH,
                                            f"a parent ingredient ({ingredient['title']}) fails validation: "
                                            + ", ".join(ingredient["failures"]), ("C2PA ingredient",)))
                elif ingredient["untrusted"]:
                    findings.append(Finding(FindingKind.C2PA_PARENT_UNTRUSTED, Confidence.MEDIUM,
                                            f"the parent ingredient ({ingredient['title']}) was signed by a signer "
                                            "the re-signer did not trust", ("C2PA ingredient",)))
            return findings
        if credentials.state in ("Invalid", "unreadable"):
            codes = ", ".join(credentials.failures) or credentials.error or "invalid"
            return [Finding(FindingKind.C2PA_TAMPERED, Confidence.HIGH,
                            f"C2PA credentials are present but broken: {codes}", ("C2PA",))]
        if credentials.state == "absent" and labelled:
            return [Finding(FindingKind.C2PA_STRIPPED, Confidence.MEDIUM, f"no C2PA manifest, though {labelled[0]} "
                            "(any re-save by an image tool drops it)", (labelled[1],))]
        return []
