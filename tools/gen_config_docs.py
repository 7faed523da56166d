"""Write the README's configuration tables from `authz.config.Settings`.

    python tools/gen_config_docs.py          # rewrite the tables in README.md
    python tools/gen_config_docs.py --check  # exit 1 when README.md differs (a test runs this)

The tables sit between `<!-- config:serve -->` ... `<!-- /config:serve -->` (the settings of
`authz serve`) and `<!-- config:client -->` ... `<!-- /config:client -->` (those of the client
commands). Add a setting to Settings, then run this."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from authz.config import Settings, bundled_policies  # noqa: E402

README = ROOT / "README.md"


def _default(item) -> str:
    if item.name == "policies":
        return "the bundled policies"
    if item.default == "":
        return ""
    if isinstance(item.default, str):
        return f"`{item.default}`"
    return f"{item.default:g}" if isinstance(item.default, float) else str(item.default)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def table(client: bool) -> str:
    rows = ["| flag | environment | default | meaning |", "| --- | --- | --- | --- |"]
    for item in fields(Settings):
        meta = item.metadata
        if client and not meta["client"]:
            continue
        if not client and not meta["serve"]:
            continue
        meaning = meta["client"] if client else meta["help"]
        flag = f"`{Settings.flag(item.name)}`" if meta["flag"] else "(none)"
        rows.append(f"| {flag} | `{Settings.env_name(item.name)}` | {_default(item)} | "
                    f"{_escape(meaning)} |")
    return "\n".join(rows)


def render(text: str) -> str:
    for name, client in (("serve", False), ("client", True)):
        pattern = re.compile(rf"(<!-- config:{name} -->\n).*?(<!-- /config:{name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- config:{name} --> ... <!-- /config:{name} --> markers")
        text = pattern.sub(lambda m, client=client: m.group(1) + table(client) + "\n" + m.group(2), text)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is not up to date")
    args = parser.parse_args()
    current = README.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("README.md's configuration tables are stale: run python tools/gen_config_docs.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    assert bundled_policies().is_dir()
    sys.exit(main())
