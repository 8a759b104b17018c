"""Every shell command README.md presents as runnable works as written.

README's shell blocks are read here, command by command. Each one must be
named in CHECKED below with where it is run: in this file (a scratch prefix
or port stands in for a system path), or by another test or script that runs
exactly that command. A command added to README without a check fails
`test_every_readme_command_is_checked`, so the list cannot silently rot.
"""

import json
import re
import subprocess
import tarfile
import time
from pathlib import Path

from harness.nginx import NGINX_BIN, REPO, free_port

README = REPO / "README.md"

# command as README writes it (comment stripped) -> where it is checked.
# "here: <test>" names a test in this file; "<path>::<test>" another test;
# "scripts/test" the suite's own steps (it runs those commands itself).
CHECKED = {
    "scripts/demo": "here: test_demo_command_shows_an_injected_page_and_traces_then_stops",
    "scripts/test": "scripts/test (.ci/run runs it as written)",
    "scripts/package": "t/test_package.py::test_installed_package_is_loaded_through_modules_enabled_and_purges_cleanly",
    "dpkg -i dist/libnginx-mod-http-datadog_0.1.0_amd64.deb":
        "t/test_package.py::test_installed_package_is_loaded_through_modules_enabled_and_purges_cleanly",
    "nginx -t && systemctl reload nginx":
        "t/test_package.py::test_installed_package_is_loaded_through_modules_enabled_and_purges_cleanly",
    "scripts/setup": "scripts/test (its first step)",
    "scripts/build": "scripts/test (its second step)",
    "cp build/ngx_http_datadog_module.so /usr/lib/nginx/modules/":
        "here: test_copied_module_loads_with_the_readme_load_module_line",
    "cd /usr/share/nginx/src": "t/test_module_loading.py::test_nginx_addon_build_path_produces_a_loadable_module",
    'source conf_flags && ./configure "${NGX_CONF_FLAGS[@]}" --add-dynamic-module=/path/to/this/repo':
        "t/test_module_loading.py::test_nginx_addon_build_path_produces_a_loadable_module",
    "make -f objs/Makefile modules": "t/test_module_loading.py::test_nginx_addon_build_path_produces_a_loadable_module",
    "DD_SPAN_SAMPLING_RULES='[{\"service\": \"nginx\", \"name\": \"nginx.request\", \"resource\": \"GET /api/*\", "
    "\"max_per_second\": 50}]'": "here: test_span_sampling_rules_example_is_accepted",
    "curl -s http://127.0.0.1/datadog-status | python3 -m json.tool":
        "here: test_demo_command_shows_an_injected_page_and_traces_then_stops",
    "scripts/nginx-tests": "scripts/test (its last step)",
    "scripts/nginx-tests h2.t 'proxy_*.t'": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "scripts/nginx-tests --all": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "NGINX_TESTS_RUM=off scripts/nginx-tests range.t": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "scripts/fuzz --time 60": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "scripts/fuzz --time 600 csp_policy": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "scripts/fuzz --smoke": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "scripts/fuzz --time 600 http": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "scripts/fuzz --time 600 --seed 7 http": "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    'HTTP_FUZZ_FLAGS="--no-http09 --exclude long-query" scripts/fuzz --time 600 http':
        "here: test_nginx_tests_and_fuzz_commands_accept_readmes_arguments",
    "cd t && /usr/bin/python3 -m harness.http_fuzz --help": "here: test_http_fuzz_commands_run_as_written",
    "cd t && /usr/bin/python3 -m harness.http_fuzz --print-case 42": "here: test_http_fuzz_commands_run_as_written",
}


def readme_commands():
    """The commands of README's sh/bash blocks, comments stripped."""
    text = README.read_text()
    commands = []
    for block in re.findall(r"```(?:sh|bash|shell|console)\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def test_every_readme_command_is_checked():
    commands = readme_commands()
    assert "scripts/demo" in commands and "scripts/test" in commands  # the reader works
    unchecked = [c for c in commands if c not in CHECKED]
    assert not unchecked, f"README commands nobody checks (add them to CHECKED): {unchecked}"
    stale = [c for c in CHECKED if c not in commands]
    assert not stale, f"CHECKED names commands README no longer has: {stale}"


def test_every_named_check_exists():
    here = (REPO / "t" / "test_readme_commands.py").read_text()
    for command, where in CHECKED.items():
        if where.startswith("here: "):
            assert f"def {where[6:]}(" in here, (command, where)
        elif "::" in where:
            path, name = where.split("::")
            assert f"def {name}(" in (REPO / path).read_text(), (command, where)
        else:
            script = where.split()[0]
            assert (REPO / script).is_file(), (command, where)


def run(command, cwd=REPO, env=None, timeout=120):
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_demo_command_shows_an_injected_page_and_traces_then_stops():
    """`scripts/demo` as README says: an injected page, nginx spans parenting
    the app's, a ready time; README's status command against it; then
    `scripts/demo stop` frees its ports."""
    try:
        demo = run("scripts/demo", timeout=300)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        out = demo.stdout
        assert "x-datadog-rum-injected: 1" in out
        assert re.search(r"nginx\.request.*\n\s+└─ devtoolscrape-app\s+flask\.request", out), out
        assert re.search(r"Ready in \d+ s\.", out)
        # README's status command, with the demo's port for nginx's default 80.
        status = run("curl -s http://127.0.0.1:8080/datadog-status | python3 -m json.tool")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["spans_created"] >= 2
        assert "GET /" in open("/tmp/ngx-datadog-demo/logs/access.log").read()
    finally:
        stop = run("scripts/demo stop")
    assert stop.returncode == 0 and "demo stopped" in stop.stdout
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and subprocess.run(
            ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"], capture_output=True).returncode == 0:
        time.sleep(0.1)
    assert subprocess.run(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"],
                          capture_output=True).returncode != 0, "nginx still listens after demo stop"


def test_copied_module_loads_with_the_readme_load_module_line(tmp_path):
    """README's `cp build/… /usr/lib/nginx/modules/` plus `load_module
    modules/ngx_http_datadog_module.so;`, with a scratch prefix standing in
    for /usr/lib/nginx (the prefix of Debian's nginx)."""
    (tmp_path / "modules").mkdir()
    (tmp_path / "logs").mkdir()
    copy = run(f"cp build/ngx_http_datadog_module.so {tmp_path}/modules/")
    assert copy.returncode == 0, copy.stderr
    text = README.read_text()
    line = "load_module modules/ngx_http_datadog_module.so;"
    assert line in text
    port = free_port()
    (tmp_path / "nginx.conf").write_text(
        f"{line}\nerror_log {tmp_path}/logs/error.log;\npid {tmp_path}/nginx.pid;\nevents {{}}\n"
        f"http {{ access_log off; datadog_agent_url http://127.0.0.1:1;\n"
        f"  server {{ listen 127.0.0.1:{port}; return 200 ok; }} }}\n")
    result = subprocess.run([NGINX_BIN, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_span_sampling_rules_example_is_accepted(nginx_factory):
    command = next(c for c in readme_commands() if c.startswith("DD_SPAN_SAMPLING_RULES="))
    value = command.split("=", 1)[1].strip("'")
    assert json.loads(value)[0]["max_per_second"] == 50
    server = nginx_factory("server { listen 127.0.0.1:@PORT@; return 200; }",
                           main="env DD_SPAN_SAMPLING_RULES;", env={"DD_SPAN_SAMPLING_RULES": value})
    code, output = server.test_config()
    assert code == 0, output
    broken = nginx_factory("server { listen 127.0.0.1:@PORT@; return 200; }",
                           main="env DD_SPAN_SAMPLING_RULES;", env={"DD_SPAN_SAMPLING_RULES": value[:-1]})
    assert broken.test_config()[0] != 0  # the check can fail


def test_http_fuzz_commands_run_as_written():
    help_text = run("cd t && /usr/bin/python3 -m harness.http_fuzz --help")
    assert help_text.returncode == 0 and "--print-case" in help_text.stdout, help_text.stderr
    for flag in ("--no-http09", "--exclude", "--seed"):
        assert flag in help_text.stdout, flag  # README's HTTP_FUZZ_FLAGS and --seed exist
    case = run("cd t && /usr/bin/python3 -m harness.http_fuzz --print-case 42")
    assert case.returncode == 0 and case.stdout, case.stderr
    assert run("cd t && /usr/bin/python3 -m harness.http_fuzz --print-case 42").stdout == case.stdout


def test_nginx_tests_and_fuzz_commands_accept_readmes_arguments():
    """The long-running commands (minutes to hours) are not run to the end
    here: their scripts must know every flag README gives them and the
    fuzz targets and test files it names must exist."""
    nginx_tests = (REPO / "scripts" / "nginx-tests").read_text()
    for flag in ("--all", "NGINX_TESTS_RUM"):
        assert flag in nginx_tests, flag
    # The files README names are in the suite scripts/nginx-tests extracts.
    suite = re.search(r"^suite=(\S+)", nginx_tests, re.M).group(1)
    tarball = REPO.parent / "shared" / "nginx-tests" / f"{suite}.tar.gz"
    assert tarball.is_file(), tarball
    names = {Path(n).name for n in tarfile.open(tarball).getnames()}
    assert {"h2.t", "range.t"} <= names
    assert any(n.startswith("proxy_") and n.endswith(".t") for n in names)
    fuzz = run("scripts/fuzz --help")
    assert fuzz.returncode == 0, fuzz.stderr
    for flag in ("--time", "--smoke", "--seed", "--jobs", "HTTP_FUZZ_FLAGS"):
        assert flag in fuzz.stdout + fuzz.stderr, flag
    for target in ("csp_policy", "http"):
        assert target in fuzz.stdout + fuzz.stderr, target
