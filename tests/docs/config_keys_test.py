#!/usr/bin/python3
"""Every key the config loader accepts appears in docs/configuration.md.

The keys come from the decoders themselves: every string literal a yaml::MapDecoder is asked for
(`map.get("key")`, `.optional`, `.required`, `.positive`, `.secret`, `.accept`, `.has`) and every
literal passed to a helper that takes the decoder first (`helper(map, "key", ...)`, and `decode_matchers`' prefixed keys), in the files
that decode the main config file. A key is documented when it appears in backquotes in the doc
(alone, as `key:`, or as the last part of a dotted path such as `query.timeout`).
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])

# The sources that decode tocsin.yaml (rule files, SLO files and state files have their own docs).
sources = [
    "src/config/config.cpp",
    "src/alerting/config.cpp",
    "src/remote_write/config.cpp",
    "src/http/web_config.cpp",
    "src/collectors/common.cpp",
    "src/collectors/scrape/targets.cpp",
] + sorted(str(p.relative_to(root)) for p in root.glob("src/collectors/*/config.cpp"))

method = re.compile(r'\b\w+\s*\.\s*(?:optional|required|get|positive|secret|accept|has)\s*\(\s*"([A-Za-z_][A-Za-z0-9_]*)"')
helper = re.compile(r'\b\w+\s*\(\s*\w+\s*,\s*"([A-Za-z_][A-Za-z0-9_]*)"')
# decode_matchers(map, "source_", ...) reads source_match, source_match_re and source_matchers.
matcher_prefix = re.compile(r'decode_matchers\s*\(\s*\w+\s*,\s*"(\w*)"')
# A secret `key` is also accepted as `key_file`.
secret = re.compile(r'\.\s*secret\s*\(\s*"([A-Za-z_][A-Za-z0-9_]*)"')

keys = {}
for rel in sources:
    text = (root / rel).read_text()
    for pattern in (method, helper):
        for m in pattern.finditer(text):
            keys.setdefault(m.group(1), rel)
    for m in matcher_prefix.finditer(text):
        keys.pop(m.group(1), None)
        for suffix in ("match", "match_re", "matchers"):
            keys.setdefault(m.group(1) + suffix, rel)
    for m in secret.finditer(text):
        keys.setdefault(m.group(1) + "_file", rel)

if len(keys) < 150:
    sys.exit(f"only {len(keys)} keys found in the decoders: the patterns no longer match the code")

doc = (root / "docs/configuration.md").read_text()
documented = set()
for m in re.finditer(r"`([^`\n]+)`", doc):
    for part in re.split(r"[\s,{}\[\]]+", m.group(1)):
        part = part.rstrip(":")
        documented.add(part)
        documented.update(part.split("."))

missing = sorted(k for k in keys if k not in documented)
for k in missing:
    print(f"docs/configuration.md: key `{k}` (decoded in {keys[k]}) is not documented")
print(f"{len(keys) - len(missing)} of {len(keys)} config keys documented")
sys.exit(1 if missing else 0)
