#!/usr/bin/env bash
# Make docs/scan-report.jpg and docs/scan-report-accused.jpg: label two corpus photos into a registry, repost
# them four ways (bench/reposts.py: two that take the author's ID away, two honest ones), scan the reposts,
# and screenshot the HTML report in headless Chromium (Debian: apt-get install chromium) — whole, and
# filtered by the report's own URL parameters to the IDs taken away inside the frame
# (report.html?accused=1&kind=author-id-removed). CJK text needs a CJK font (Debian: fonts-noto-cjk).
#   bash docs/make_scan_report_figure.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
export AIMARK_KEYS="$work/keys"
cd "$work"
"$repo/.venv/bin/aimark" keys init --org "Example Studio" >/dev/null
"$repo/.venv/bin/aimark" label "$repo/../shared/corpus/Storm.jpg" "$repo/../shared/corpus/china.jpg" --out labelled \
  --producer 001191110102MACQD9K64010000 --author-id 1234567890 --author-template '小红书号：{id}' \
  --registry originals.sqlite 2>/dev/null
"$repo/.venv/bin/python" - "$repo" <<'PY'
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from PIL import Image
from bench.reposts import SUITE
Path("reposts").mkdir()
for line in open("labelled/aimark-label.jsonl"):
    record = json.loads(line)
    if record.get("status") != "labelled":
        continue
    image, box = Image.open(record["output"]), tuple(record["marks"]["author-id"]["box"])
    for case in ("chain_social", "cover_id", "jpeg75", "half_jpeg75"):
        SUITE[case].apply(image, box=box).save(f"reposts/{Path(record['output']).stem}_{case}.jpg", quality=92)
PY
"$repo/.venv/bin/aimark" scan reposts --registry originals.sqlite --out scan 2>/dev/null || true
shoot() {  # shoot QUERY HEIGHT OUTPUT
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$work/chromium" --window-size=1280,"$2" \
    --screenshot="$work/report.png" "file://$work/scan/report.html$1" 2>/dev/null
  "$repo/.venv/bin/python" -c "from PIL import Image; Image.open('$work/report.png').convert('RGB').save('$3', quality=82)"
  echo "wrote $3"
}
shoot "" 2400 "$repo/docs/scan-report.jpg"
shoot "?accused=1&kind=author-id-removed" 1500 "$repo/docs/scan-report-accused.jpg"
