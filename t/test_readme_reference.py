"""README.md is the reference: every directive in the module's directive table
and every DD_* environment variable the code reads is documented there, and the
README documents nothing the code does not accept."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def code_directives():
    source = (REPO / "src/module/ngx_http_datadog_module.cpp").read_text()
    return set(re.findall(r'ngx_string\("(datadog_[a-z_0-9]+)"\)', source))


def readme_table_directives():
    readme = (REPO / "README.md").read_text()
    return set(re.findall(r"^\| `(datadog_[a-z_0-9]+)` \|", readme, re.M))


def test_directive_table_in_readme_matches_the_code():
    in_code = code_directives()
    assert len(in_code) > 20, "the directive table was not found in the source"
    in_readme = readme_table_directives()
    assert in_code - in_readme == set(), "directives missing from README.md"
    assert in_readme - in_code == set(), "README.md documents directives the module does not have"


def test_every_environment_variable_read_by_the_code_is_documented():
    names = set()
    for path in (REPO / "src").rglob("*.cpp"):
        names |= set(re.findall(r'"(DD_[A-Z_]+)"', path.read_text()))
    assert "DD_RUM_ENABLED" in names and "DD_SERVICE" in names
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Environment variables"):]
    section = section[:section.index("\n## ", 5)]
    undocumented = {name for name in names if f"`{name}`" not in section}
    assert undocumented == set()
