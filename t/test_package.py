"""The Debian package, as a user gets it: scripts/package builds
libnginx-mod-http-datadog_<version>_<arch>.deb (dh_nginx, lintian clean), dpkg
installs it on this machine, Debian's nginx loads it through
/etc/nginx/modules-enabled/ and traces and injects, and a purge leaves nothing
behind.

scripts/package reuses the normal build (build/), so this costs a package
build and a lintian run, not a compilation."""

import re
import subprocess
import time
from pathlib import Path

import pytest

from harness import client
from harness.nginx import REPO, Nginx

PACKAGE = "libnginx-mod-http-datadog"
MODULE_SO = Path("/usr/lib/nginx/modules/ngx_http_datadog_module.so")
AVAILABLE = Path("/usr/share/nginx/modules-available/mod-http-datadog.conf")
ENABLED = Path("/etc/nginx/modules-enabled/50-mod-http-datadog.conf")
ABI_SUBSTVARS = Path("/usr/share/nginx/src/debian/libnginx-mod.abisubstvars")


def run(*argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)


def installed_status():
    result = run("dpkg-query", "-W", "-f=${db:Status-Status}", PACKAGE)
    return result.stdout if result.returncode == 0 else "not-installed"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    """Runs scripts/package once for this file; returns (deb path, its output)."""
    out = tmp_path_factory.mktemp("dist")
    started = time.monotonic()
    result = run(str(REPO / "scripts" / "package"), "-o", str(out))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    debs = [p for p in out.glob(f"{PACKAGE}_*.deb")]
    assert len(debs) == 1, f"expected one {PACKAGE} .deb in {out}: {sorted(out.iterdir())}"
    print(f"scripts/package took {elapsed:.1f}s")
    return debs[0], result.stdout


def deb_field(deb, name):
    return run("dpkg-deb", "--field", str(deb), name).stdout.strip()


def test_package_is_named_and_versioned_like_debians_module_packages(package):
    deb, _ = package
    version = re.search(r'module_version = "([^"]+)"',
                        (REPO / "src/module/agent_exporter.cpp").read_text()).group(1)
    arch = run("dpkg", "--print-architecture").stdout.strip()
    assert deb.name == f"{PACKAGE}_{version}_{arch}.deb"
    assert deb_field(deb, "Package") == PACKAGE
    assert deb_field(deb, "Version") == version, "debian/changelog and the module's version differ"


def test_package_depends_on_the_exact_nginx_abi(package):
    deb, _ = package
    abi = re.search(r"^nginx:abi=(\S+)$", ABI_SUBSTVARS.read_text(), re.M).group(1)
    assert abi == "nginx-abi-1.22.1-7"
    depends = [d.strip() for d in deb_field(deb, "Depends").split(",")]
    assert abi in depends
    # The installed nginx is what provides it.
    assert abi in run("dpkg-query", "-W", "-f=${Provides}", "nginx").stdout


def test_package_ships_the_module_and_its_load_module_snippet(package, tmp_path):
    deb, _ = package
    contents = run("dpkg-deb", "--contents", str(deb)).stdout
    paths = {line.split()[-1].lstrip(".") for line in contents.splitlines()}
    assert str(MODULE_SO) in paths
    assert str(AVAILABLE) in paths
    assert not any(p.startswith("/etc/") for p in paths), "the enabling link belongs to postinst, not the archive"
    run("dpkg-deb", "--extract", str(deb), str(tmp_path))
    assert (tmp_path / AVAILABLE.relative_to("/")).read_text() == \
        "load_module modules/ngx_http_datadog_module.so;\n"
    postinst = run("dpkg-deb", "--info", str(deb), "postinst").stdout
    assert "/etc/nginx/modules-enabled/" in postinst and "50-mod-http-datadog.conf" in postinst


def test_package_passes_lintian_without_errors(package):
    _, output = package
    assert re.search(r"lintian: no errors \(\d+ warning\(s\), \d+ info\)", output), output
    assert not re.search(r"^\s*E: ", output, re.M), output


def test_installed_package_is_loaded_through_modules_enabled_and_purges_cleanly(package, upstream, agent):
    deb, _ = package
    assert installed_status() == "not-installed", (
        f"{PACKAGE} is already installed here; this test installs and purges it "
        f"(dpkg --purge {PACKAGE} first)")
    conf = f"""
include /etc/nginx/modules-enabled/*.conf;
daemon off;
master_process on;
user root;
worker_processes 1;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/logs/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log @PREFIX@/logs/access.log;
    proxy_temp_path @PREFIX@/proxy_temp;
    client_body_temp_path @PREFIX@/client_body_temp;
    datadog_agent_url {agent.url};
    datadog_flush_interval 100ms;
    datadog_service_name packaged-nginx;
    datadog_rum on;
    datadog_rum_config "v5" {{
        "applicationId" "12345678-1234-1234-1234-123456789abc";
        "clientToken" "pub12345678123412341234123456789abc";
    }}
    server {{
        listen 127.0.0.1:@PORT@;
        location / {{ proxy_pass http://{upstream.address}; }}
    }}
}}
"""
    server = Nginx(conf=conf, module=False)
    # load_module's relative path is taken from nginx's prefix; Debian's prefix
    # /usr/share/nginx has modules -> /usr/lib/nginx/modules, and so does this one.
    (server.prefix / "modules").symlink_to(Path("/usr/share/nginx/modules").resolve())
    try:
        result = run("dpkg", "-i", str(deb))
        assert result.returncode == 0, result.stdout + result.stderr
        assert installed_status() == "installed"
        assert MODULE_SO.is_file() and AVAILABLE.is_file()
        assert ENABLED.is_symlink() and ENABLED.resolve() == AVAILABLE, "postinst did not enable the module"

        code, output = server.test_config()
        assert code == 0, output
        server.start()
        worker = next(iter(server.worker_pids()))
        assert str(MODULE_SO) in Path(f"/proc/{worker}/maps").read_text()
        page = client.get(server.port, "/html/small")
        assert b"12345678-1234-1234-1234-123456789abc" in page.body
        assert page.header("x-datadog-rum-injected") == "1"
        echoed = client.get(server.port, "/echo").json()["headers"]
        spans = agent.wait_for_spans(2)
        assert {s["service"] for s in spans} == {"packaged-nginx"}
        assert str(next(s for s in spans if s["resource"] == "GET /echo")["span_id"]) == \
            echoed["x-datadog-parent-id"]
        server.stop()
        assert not [line for line in server.error_log().splitlines() if "[emerg]" in line or "[alert]" in line]

        # remove (not purge) sets the link aside, and installing again brings it back.
        result = run("dpkg", "--remove", PACKAGE)
        assert result.returncode == 0, result.stdout + result.stderr
        assert not ENABLED.exists() and Path(f"{ENABLED}.removed").is_symlink()
        result = run("dpkg", "-i", str(deb))
        assert result.returncode == 0, result.stdout + result.stderr
        assert ENABLED.is_symlink() and not Path(f"{ENABLED}.removed").exists()
    finally:
        server.stop(fast=True)
        purge = run("dpkg", "--purge", PACKAGE)
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert installed_status() == "not-installed"
    assert not MODULE_SO.exists() and not AVAILABLE.exists()
    leftovers = [p.name for p in Path("/etc/nginx/modules-enabled").iterdir() if "datadog" in p.name]
    assert leftovers == [], "purge left links in /etc/nginx/modules-enabled"
    # Without the package, the same configuration no longer loads.
    code, output = server.test_config()
    assert code != 0 and 'unknown directive "datadog_agent_url"' in output
