"""README.md is the reference: every directive in the module's directive table
and every DD_* environment variable the code reads is documented there, with
the contexts and argument form the code accepts, and the README documents
nothing the code does not accept."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()

CONTEXT_FLAGS = {"NGX_HTTP_MAIN_CONF": "http", "NGX_HTTP_SRV_CONF": "server", "NGX_HTTP_LOC_CONF": "location"}


def code_directive_table():
    """{name: (contexts, flags)} from the ngx_command_t table."""
    source = (REPO / "src/module/ngx_http_datadog_module.cpp").read_text()
    table = source[source.index("ngx_command_t datadog_commands[]"):source.index("ngx_null_command")]
    entries = re.findall(r'\{ngx_string\("(datadog_[a-z_0-9]+)"\),\s*([^,]+),', table)
    directives = {}
    for name, flags in entries:
        assert name not in directives, f"{name} twice in the directive table"
        names = set(re.findall(r"[A-Za-z_]+", flags))
        if "any_level" in names:
            names |= set(CONTEXT_FLAGS)
        directives[name] = ({CONTEXT_FLAGS[f] for f in names if f in CONTEXT_FLAGS}, names)
    return directives


def readme_directive_rows():
    """{name: (syntax, contexts)} from the README's directive table."""
    rows = re.findall(r"^\| `(datadog_[a-z_0-9]+)` \| (.*) \| (.*) \| (.*) \|$", README, re.M)
    names = [row[0] for row in rows]
    assert len(names) == len(set(names)), "a directive has two rows in README.md"
    return {name: (syntax, {c.strip() for c in contexts.split(",")}) for name, syntax, _, contexts in rows}


def test_directive_table_in_readme_matches_the_code():
    in_code = code_directive_table()
    assert len(in_code) > 20, "the directive table was not found in the source"
    in_readme = readme_directive_rows()
    assert sorted(set(in_code) - set(in_readme)) == [], "directives missing from README.md"
    assert sorted(set(in_readme) - set(in_code)) == [], "README.md documents directives the module does not have"


def test_readme_gives_each_directive_the_contexts_the_code_allows():
    in_code = code_directive_table()
    in_readme = readme_directive_rows()
    wrong = {name: (sorted(in_readme[name][1]), sorted(contexts))
             for name, (contexts, _) in in_code.items() if in_readme[name][1] != contexts}
    assert wrong == {}, "README context column (README, code) differs"


def test_readme_syntax_matches_the_argument_form():
    in_code = code_directive_table()
    in_readme = readme_directive_rows()
    for name, (_, flags) in in_code.items():
        syntax = in_readme[name][0]
        assert syntax.startswith(f"`{name}"), (name, syntax)
        if "NGX_CONF_FLAG" in flags:
            assert "on \\| off" in syntax, (name, syntax)
        if "NGX_CONF_NOARGS" in flags:
            assert syntax == f"`{name};`", (name, syntax)
        if "NGX_CONF_BLOCK" in flags:
            assert "{" in syntax, (name, syntax)


def environment_section():
    section = README[README.index("## Environment variables"):]
    return section[:section.index("\n## ", 5)]


def code_environment_variables():
    names = set()
    for path in (REPO / "src").rglob("*.cpp"):
        names |= set(re.findall(r'"(DD_[A-Z_]+)"', path.read_text()))
    return names


def test_every_environment_variable_read_by_the_code_is_documented():
    names = code_environment_variables()
    assert "DD_RUM_ENABLED" in names and "DD_SERVICE" in names
    section = environment_section()
    undocumented = {name for name in names if f"`{name}`" not in section}
    assert undocumented == set()


def test_every_documented_environment_variable_is_read_by_the_code():
    section = environment_section()
    documented = set(re.findall(r"`(DD_[A-Z_]+)`", section))
    assert len(documented) > 10
    assert documented - code_environment_variables() == set(), "README.md documents DD_* variables the code ignores"
