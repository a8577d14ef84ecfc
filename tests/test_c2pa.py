"""C2PA: our keys are accepted, signatures verify with c2pa-python itself, and every failure is named."""

import datetime as dt
import io
import json
import stat

import c2pa as c2pa_sdk
import pytest
from PIL import Image

from aimark.labeller import c2pa, keys, metadata
from aimark.labeller.errors import AimarkError, SigningError

from .conftest import PRODUCER, encode, image_data_start

LABEL = metadata.AigcLabel.for_producer(PRODUCER, "abc123")


@pytest.fixture(scope="module")
def signed(signer, small_photo) -> bytes:
    manifest = c2pa.ai_manifest("china.jpg", LABEL, generator="test-model 1.0")
    return signer.sign(small_photo.read_bytes(), "image/jpeg", manifest)


def sdk_reader(data: bytes, anchors: str | None):
    """c2pa-python's own Reader, configured directly (not through our read_c2pa)."""
    settings = {"verify": {"remote_manifest_fetch": False}}
    if anchors:
        settings["trust"] = {"user_anchors": anchors}
    return c2pa_sdk.Reader("image/jpeg", io.BytesIO(data), context=c2pa_sdk.Context.from_dict(settings))


def test_manifest_reads_trusted_with_our_ca_in_c2pa_python(signed, keys):
    reader = sdk_reader(signed, keys.ca_cert.read_text())
    assert reader.get_validation_state() == "Trusted"
    manifest = reader.get_active_manifest()
    actions = next(a for a in manifest["assertions"] if a["label"] == "c2pa.actions.v2")["data"]["actions"]
    assert actions[0]["action"] == "c2pa.created"
    assert actions[0]["digitalSourceType"] == metadata.TRAINED
    aigc = next(a for a in manifest["assertions"] if a["label"] == c2pa.AIGC_ASSERTION)["data"]
    assert aigc == LABEL.to_dict()
    assert "thumbnail" not in json.dumps(manifest).lower()


def test_unknown_ca_is_valid_but_untrusted(signed):
    report = c2pa.read_c2pa(signed, "image/jpeg")
    assert report.state == "Valid" and report.untrusted and report.failures == []
    assert report.aigc == LABEL.to_dict()


def test_pixel_edit_after_signing_is_a_data_hash_mismatch(signed, keys):
    segments_end = image_data_start(signed)  # edit inside the entropy-coded data, keep every segment
    tampered = bytearray(signed)
    tampered[segments_end + 400] ^= 0x55
    report = c2pa.read_c2pa(bytes(tampered), "image/jpeg", c2pa.read_context(keys.ca_cert.read_text()))
    assert report.state == "Invalid" and "assertion.dataHash.mismatch" in report.failures


def test_reencoded_copy_has_no_manifest(signed):
    reencoded = encode(Image.open(io.BytesIO(signed)), "JPEG", quality=90)
    assert c2pa.read_c2pa(reencoded, "image/jpeg").state == "absent"


@pytest.mark.parametrize("cut", [0.002, 0.01])
def test_truncated_manifest_is_unreadable_not_a_crash(signed, cut):
    start = signed.index(b"c2pa")
    report = c2pa.read_c2pa(signed[: start + int(len(signed) * cut)], "image/jpeg")
    assert report.state == "unreadable" and "could not be parsed" in report.error


def test_file_truncated_in_its_pixels_fails_the_hard_binding(signed):
    report = c2pa.read_c2pa(signed[: len(signed) // 2], "image/jpeg")
    assert report.state == "Invalid" and "assertion.dataHash.mismatch" in report.failures


def test_garbage_without_a_manifest_is_absent_and_says_why():
    report = c2pa.read_c2pa(b"\x00" * 100, "image/jpeg")
    assert report.state == "absent" and report.error


def test_keys_are_private_and_not_overwritten(tmp_path):
    paths = keys.init_keys(tmp_path / "k", "Studio")
    assert stat.S_IMODE(paths.folder.stat().st_mode) == 0o700
    for path in paths.all():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    with pytest.raises(AimarkError, match="already exist"):
        keys.init_keys(paths.folder, "Studio")


def test_expired_certificate_is_refused_with_what_to_do(tmp_path):
    from cryptography.hazmat.primitives import serialization

    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=400)
    _, _, cert, key = keys.make_credentials("Old", now=long_ago, signer_days=30)
    chain = cert.public_bytes(serialization.Encoding.PEM)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with pytest.raises(SigningError, match="expired on .*aimark keys init"):
        c2pa.CredentialSigner(chain, pem)


def test_png_and_webp_sign_and_verify(signer, keys, small_photo):
    image = Image.open(small_photo).resize((200, 133))
    for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp")):
        data = signer.sign(encode(image, fmt), mime, c2pa.ai_manifest("x", LABEL, generator="g"))
        assert c2pa.read_c2pa(data, mime, c2pa.read_context(keys.ca_cert.read_text())).state == "Trusted"


def test_unreachable_timestamp_authority_fails_signing_clearly(keys, small_photo):
    signer = c2pa.CredentialSigner.from_files(keys.signer_chain, keys.signer_key, tsa_url="http://127.0.0.1:9/tsa")
    with pytest.raises(SigningError, match="C2PA signing failed.*timestamp authority http://127.0.0.1:9/tsa reachable"):
        signer.sign(small_photo.read_bytes(), "image/jpeg", c2pa.ai_manifest("x", LABEL, generator="g"))
