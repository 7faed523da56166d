"""The README's code blocks, as the README test runs them.

Every ```console block runs: each `$ COMMAND` line is run by bash in a working directory of its
own, against a real `authz serve` started there, and what it prints (stdout and stderr) must be
the lines below it. Binding ids are normalised (32 hex digits in the output, `01a2…` in the
README), and any other `…` stands for the rest of a line the README leaves out.

Other blocks run when an HTML comment right before them says so, `<!-- readme-test: OPTIONS -->`:
  server=NAME   run the block against server NAME (default `example`; each is fresh and runs its
                blocks in README order; the `example` server is where `authz load-example` goes)
  run           run an ```sh block with bash (an `authz serve ...` line in it starts the server
                with its flags instead) or a ```python block with Python (its `# -> TEXT` lines are
                the lines it must print)
  file=NAME     write the block to NAME in the server's working directory
  setup=NAME    call the setup function NAME (tests/e2e/test_readme.py) in that directory first
  by=TEST       leave the block to tests/e2e/TEST.py, which runs it with what it needs (promtool,
                the repository as working directory); the README test passes over it
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!--\s*readme-test:\s*(.*?)\s*-->\s*$")
ID = re.compile(r"\b[0-9a-f]{32}\b")
README_ID = re.compile(r"\b[0-9a-f]{4}…")


@dataclass
class Block:
    language: str
    text: str
    line: int
    options: dict[str, str] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return self.options.get("server", "example")

    @property
    def runs(self) -> bool:
        if "by" in self.options:
            return False
        return self.language == "console" or bool({"run", "file", "setup"} & set(self.options))

    def commands(self) -> list[tuple[str, str]]:
        """(command, expected output) for each `$ ` line of a console block."""
        result: list[tuple[str, list[str]]] = []
        for line in self.text.splitlines():
            if line.startswith("$ "):
                result.append((line[2:], []))
            elif result:
                result[-1][1].append(line)
        return [(command, "\n".join(lines).strip("\n")) for command, lines in result]


def blocks(path: Path = README) -> list[Block]:
    text = path.read_text()
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        options: dict[str, str] = {}
        marker = MARKER.match(before[-1].strip()) if before else None
        if marker:
            for word in marker.group(1).split():
                key, _, value = word.partition("=")
                options[key] = value
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(match.group(1), match.group(2), line, options))
    return [block for block in found if block.runs]


def _line_pattern(line: str) -> str:
    return "".join("[^\n]*" if part == "…" else re.escape(part) for part in re.split("(…)", line))


def matches(expected: str, actual: str) -> bool:
    """Whether `actual` is what the README shows as `expected`: ids normalised, a `…` within a
    line stands for the rest of it, and a line that is only `…` for any run of lines."""
    actual = ID.sub("<id>", actual.strip("\n")) + "\n"
    expected = README_ID.sub("<id>", expected)
    pattern = "".join("(?:[^\n]*\n)*" if line.strip() == "…" else _line_pattern(line) + "\n"
                      for line in expected.split("\n"))
    return re.fullmatch(pattern, actual) is not None


def normalised(text: str) -> str:
    return README_ID.sub("<id>", ID.sub("<id>", text.strip("\n")))
