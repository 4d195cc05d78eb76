"""The anomaly catalog (core/anomalies.py) is the one home of every anomaly name; the docs agree with it.

README's tables are the catalog's rows verbatim; docs/history-format.md's exact-rule tables name every kind with
the same fails? column; the checkers report no name outside the catalog.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.anomalies import CATALOG, INFORMATIONAL, fails, family, markdown_row

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `([^`|]+)`((?:, `[^`|]+`)*) \| (yes|no) \|", re.M)


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    level = heading.split(" ")[0]
    following = re.search(rf"^{level} ", text[start + len(heading):], re.M)
    return text[start:start + len(heading) + following.start()] if following else text[start:]


def table_rows(text: str) -> list[tuple[list[str], bool]]:
    """(names, fails) of each anomaly row of the markdown tables in `text`."""
    rows = []
    for match in ROW.finditer(text):
        names = [match.group(1), *re.findall(r"`([^`]+)`", match.group(2))]
        rows.append((names, match.group(3) == "yes"))
    return rows


def test_the_readme_tables_are_the_catalogs_rows() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = [line for heading in ("## Checks", "## Split-brain findings")
             for line in section(readme, heading).splitlines() if ROW.match(line)]
    expected = [markdown_row(name) for name in CATALOG if CATALOG[name].family != "split-brain"] + \
               [markdown_row(name) for name in family("split-brain")]
    assert shown == expected, "regenerate the README rows with core.anomalies.markdown_row"


def test_the_exact_rules_name_every_kind_with_the_catalogs_verdict() -> None:
    docs = (ROOT / "docs" / "history-format.md").read_text()
    rules = section(docs, "### Anomalies, exactly as checked") + section(docs, "### Split-brain findings")
    seen: dict[str, bool] = {}
    for names, failing in table_rows(rules):
        for name in names:
            assert name in CATALOG, f"docs/history-format.md has a rule for {name!r}, which the catalog lacks"
            assert failing == CATALOG[name].fails, f"docs/history-format.md says {name} fails={failing}"
            seen[name] = failing
    assert set(seen) == set(CATALOG), f"no exact rule for {sorted(set(CATALOG) - set(seen))}"


def test_the_vocabulary_list_names_only_catalog_kinds() -> None:
    docs = (ROOT / "docs" / "history-format.md").read_text()
    vocabulary = section(docs, "## Anomaly names")
    named = {n for line in vocabulary.splitlines() if line.startswith("| `") for n in re.findall(r"`([^`]+)`",
                                                                                               line.split("|")[1])}
    assert named and named <= set(CATALOG)


def test_every_name_a_checker_writes_is_in_the_catalog() -> None:
    # The checkers name anomalies as string literals handed to evidence(...) / found.setdefault(...).
    written = set()
    for path in (ROOT / "checkers").glob("*.py"):
        written |= set(re.findall(r'setdefault\("([^"]+)"', path.read_text()))
        written |= set(re.findall(r'found\.append\(\("([^"]+)"', path.read_text()))
    assert written, "the pattern found no anomaly names: it no longer matches how checkers write them"
    assert written <= set(CATALOG), sorted(written - set(CATALOG))


def test_reported_kinds_say_why_and_an_unknown_kind_fails() -> None:
    assert set(INFORMATIONAL) == {n for n, k in CATALOG.items() if not k.fails}
    assert all(INFORMATIONAL.values())
    assert fails("a-kind-from-a-newer-checker")


def test_the_markdown_check_sees_a_wrong_row() -> None:
    # The README test could pass on a pattern that matches nothing: a row with the wrong verdict must show.
    assert table_rows("| `lost-write` | no | whatever |\n| `G0`, `G2` | no | x |") == [
        (["lost-write"], False), (["G0", "G2"], False)]
