"""The README's Scripts table names every script in scripts/ (the reference a user reads first)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_script_is_in_the_readme_scripts_table() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Scripts\n", 1)[1].split("\n\n", 1)[0]
    listed = {line.split("`")[1].split()[0] for line in table.splitlines() if line.startswith("| `")}
    scripts = {f"scripts/{p.name}" for p in (ROOT / "scripts").iterdir() if p.is_file() and p.suffix != ".conf"}
    assert scripts - listed == set()
