"""Generation parameters that image generators write into the files they make: a disclosure of AI generation
in the tool's own form, never a GB 45438 label.

Stable Diffusion's front ends (and Midjourney) save their settings with every picture, and those files are
reposted as they came: AUTOMATIC1111's web UI, Forge and SD.Next (a PNG text chunk ``parameters``, or EXIF
UserComment in a JPEG or WebP: the prompt, then ``Steps: 20, Sampler: ..., Seed: ..., Model: ...``),
ComfyUI (PNG chunks ``prompt`` and ``workflow``: its node graph as JSON), NovelAI (``Software: NovelAI``
and ``Source``, in text chunks or, in V3/V4, hidden in the alpha channel's lowest bits:
``hidden_in_picture``), InvokeAI (``invokeai_metadata``, earlier ``sd-metadata`` and ``Dream``), Fooocus
(``fooocus_scheme``) and Midjourney's web downloads (a ``Description`` that ends ``Job ID: <uuid>``, and
the ``Author``). Each recogniser asks for the structure the tool writes, not a word: a photo whose caption
says "Steps: 3" is no disclosure. What is reported is the tool and its model, sampler, steps, seed and size
— never the prompt, which can be long and is the uploader's text, not evidence.
"""

from __future__ import annotations

import json
import re
import zlib

import numpy as np
from PIL import Image

from .vocabulary import Disclosure

# A1111's settings line: "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: v1-5".
_A1111_LINE = re.compile(r"^Steps: \d+, (?:.*, )?(?:Sampler|CFG scale|Seed|Size|Model): ", re.MULTILINE)
_A1111_PAIR = re.compile(r'(?:^|, )([A-Za-z][\w /-]*): ("(?:[^"\\]|\\.)*"|[^,]*)')
A1111_FIELDS = ("Model", "Model hash", "Sampler", "Steps", "Seed", "Size", "Version")
FOOOCUS_FIELDS = ("base_model", "Base Model", "sampler", "Sampler", "steps", "Steps", "seed", "Seed",
                  "resolution", "Resolution", "version", "Version")
_DREAM_OPTION = re.compile(r"(?:^|\s)-([sSWHAC]) (\S+)")
DREAM_FIELDS = {"s": "steps", "S": "seed", "W": "width", "H": "height", "A": "sampler", "C": "cfg_scale"}
_MIDJOURNEY_JOB = re.compile(r"Job ID: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s*$")
_MIDJOURNEY_VERSION = re.compile(r"--(v|niji) (\d+(?:\.\d+)?)")
MAX_TEXT = 1 << 20  # a parameters text of a megabyte is already far beyond any real one


# NovelAI hides its metadata in the lowest bit of a PNG's alpha, column by column (V3/V4 "stealth"), and a
# web UI extension does the same in alpha or in the three colour channels: a 15-byte name, the length in
# bits (32 bits, big-endian), then the text, gzipped in the "comp" forms. The name is 120 bits a picture
# does not hold by chance, and only a lossless, untouched file keeps them.
STEALTH_ALPHA = {b"stealth_pnginfo": False, b"stealth_pngcomp": True}
STEALTH_RGB = {b"stealth_rgbinfo": False, b"stealth_rgbcomp": True}
STEALTH_HEAD = 8 * 15 + 32
MAX_STEALTH_BYTES = 1 << 20  # hidden text, and its inflated size, beyond any real one


def found_in(texts: list[tuple[str, str, str]]) -> list[Disclosure]:
    """The generators' parameters among a file's texts, given as (keyword, text, carrier): PNG text chunks
    by their keyword, EXIF UserComment as ``UserComment``; each a disclosure naming the tool as its vendor."""
    by_keyword = {keyword: (text, carrier) for keyword, text, carrier in texts if len(text) <= MAX_TEXT}
    found = []
    for keyword, (text, carrier) in by_keyword.items():
        reading = _read(keyword, text, by_keyword)
        if reading is not None:
            tool, fields = reading
            found.append(Disclosure(tool, carrier, fields, _says(tool, fields)))
    return found


def hidden_in_picture(picture: Image.Image) -> list[tuple[str, str, str]]:
    """The texts a "stealth" PNG hides in its pixels' lowest bits (``STEALTH_ALPHA``, ``STEALTH_RGB``), as
    (keyword, text, carrier) for ``found_in``: a NovelAI JSON's own keys, or an AUTOMATIC1111 text as its
    ``parameters``. Only the first columns are read (the name from the first's top pixels), so a picture
    without one costs nothing and one with it no copy of the whole picture."""
    planes = [("alpha", STEALTH_ALPHA, (3, 4))] if picture.mode == "RGBA" else []
    if picture.mode in ("RGB", "RGBA"):
        planes.append(("colour", STEALTH_RGB, (0, 3)))
    for where, names, (first, last) in planes:
        def columns(count: int, first=first, last=last) -> np.ndarray:
            box = (0, 0, min(picture.width, count), picture.height)
            return np.asarray(picture.crop(box))[..., first:last]
        text = _stealth_text(columns, picture.size, last - first, names)
        if text is None:
            continue
        carrier = f"PNG {where} channel's lowest bits (stealth)"
        value = _json(text)
        if isinstance(value, dict):
            return [(str(key), item if isinstance(item, str) else json.dumps(item), carrier)
                    for key, item in value.items()]
        return [("parameters", text, carrier)]
    return []


def _stealth_text(columns, size: tuple[int, int], depth: int, names: dict) -> str | None:
    """The hidden text after one of ``names``, read column by column from ``columns(n)`` (the first ``n``
    columns of the plane, ``depth`` samples per pixel), or None."""
    width, height = size
    def bits(count: int) -> np.ndarray:  # the first ``count`` lowest bits, column by column
        plane = columns(-(-count // (height * depth)))
        return (plane.transpose(1, 0, 2).reshape(-1)[:count] & 1).astype(np.uint8)
    if width * height * depth < STEALTH_HEAD:
        return None
    head = bits(STEALTH_HEAD)
    name = np.packbits(head[:120]).tobytes()
    if name not in names:
        return None
    length = int.from_bytes(np.packbits(head[120:]).tobytes(), "big")
    if length <= 0 or length % 8 or length > 8 * MAX_STEALTH_BYTES:
        return None
    if STEALTH_HEAD + length > width * height * depth:
        return None
    data = np.packbits(bits(STEALTH_HEAD + length)[STEALTH_HEAD:]).tobytes()
    if names[name]:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip, inflated no further than the limit
        try:
            data = inflater.decompress(data, MAX_STEALTH_BYTES)
        except zlib.error:
            return None
    return data.decode("utf-8", "replace")


def _read(keyword: str, text: str, others: dict) -> tuple[str, dict] | None:
    if keyword in ("parameters", "UserComment"):
        fields = a1111_fields(text)
        if fields is not None:
            return "Stable Diffusion web UI", fields
        value = _json(text)
        if keyword == "parameters" and "fooocus_scheme" in others and isinstance(value, dict):
            return "Fooocus", _pick(value, FOOOCUS_FIELDS)
    if keyword == "prompt":
        graph = _json(text)
        nodes = list(graph.values()) if isinstance(graph, dict) else []
        if nodes and all(isinstance(node, dict) and "class_type" in node for node in nodes):
            return "ComfyUI", _comfy_fields(graph)
    if keyword == "workflow" and "prompt" not in others:
        graph = _json(text)
        if isinstance(graph, dict) and isinstance(graph.get("nodes"), list) and graph["nodes"]:
            return "ComfyUI", {"nodes": len(graph["nodes"])}
    if keyword == "Software" and text.strip().lower().startswith("novelai"):
        source = others.get("Source", ("", ""))[0].strip()
        return "NovelAI", {"Source": source[:120]} if source else {}
    if keyword == "invokeai_metadata":
        value = _json(text)
        if isinstance(value, dict) and ("model" in value or "generation_mode" in value):
            model = value.get("model")
            if isinstance(model, dict):  # {"name": ...} or, from 3.x, {"model_name": ..., "base_model": ...}
                model = model.get("name") or model.get("model_name")
            return "InvokeAI", {"model": str(model)[:120] if model else None,
                                **_pick(value, ("steps", "seed", "scheduler", "width", "height"))}
    # InvokeAI 2.x's command line, where its later JSON is not beside it: '"<prompt>" -s 50 -S 29807 -A k_lms'
    if keyword == "Dream" and not {"sd-metadata", "invokeai_metadata"} & others.keys():
        options = dict(_DREAM_OPTION.findall(text))
        if "s" in options and "S" in options:
            return "InvokeAI", {name: options[flag] for flag, name in DREAM_FIELDS.items() if flag in options}
    if keyword == "Description":  # Midjourney's downloads: "<prompt> --ar 2:1 --v 6 Job ID: <uuid>"
        job = _MIDJOURNEY_JOB.search(text)
        if job is not None:
            version = _MIDJOURNEY_VERSION.findall(text)
            author = others.get("Author", ("", ""))[0].strip()
            fields = {"job_id": job.group(1)}
            fields.update({"version": "".join(version[-1])} if version else {})
            fields.update({"author": author[:60]} if author else {})
            return "Midjourney", fields
    if keyword == "sd-metadata" and "invokeai_metadata" not in others:
        value = _json(text)
        if isinstance(value, dict) and isinstance(value.get("image"), dict) and "model" in value:
            return "InvokeAI", _pick(value, ("model", "model_weights", "app_version"))
    return None


def a1111_fields(text: str) -> dict | None:
    """The settings of an AUTOMATIC1111-format text (its last ``Steps: ...`` line), or None without one."""
    lines = list(_A1111_LINE.finditer(text))
    if not lines:
        return None
    line = text[lines[-1].start():].splitlines()[0]
    pairs = {key.strip(): value.strip().strip('"') for key, value in _A1111_PAIR.findall(line)}
    return {key: pairs[key][:120] for key in A1111_FIELDS if pairs.get(key)}


def _comfy_fields(graph: dict) -> dict:
    """ComfyUI's checkpoints and samplers, by the node inputs that name them."""
    checkpoints, samplers = [], []
    for node in graph.values():
        inputs = node.get("inputs") if isinstance(node.get("inputs"), dict) else {}
        for key in ("ckpt_name", "unet_name", "model_name"):
            if isinstance(inputs.get(key), str):
                checkpoints.append(inputs[key][:120])
        sampler = inputs.get("sampler_name")
        if "sampler" in str(node.get("class_type", "")).lower() and isinstance(sampler, str):
            samplers.append(sampler[:60])
    fields = {"nodes": len(graph)}
    if checkpoints:
        fields["models"] = sorted(set(checkpoints))[:5]
    if samplers:
        fields["samplers"] = sorted(set(samplers))[:5]
    return fields


def _pick(value: dict, keys: tuple[str, ...]) -> dict:
    return {key: str(value[key])[:120] for key in keys
            if key in value and not isinstance(value[key], (dict, list))}


def _says(tool: str, fields: dict) -> str:
    named = [fields.get(key) for key in ("Model", "model", "Source", "base_model", "Base Model", "version")]
    model = next((name for name in named if name), None) or ", ".join(fields.get("models", [])) or None
    return f"generation parameters written by {tool}" + (f", model {model}" if model else "")


def _json(text: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
