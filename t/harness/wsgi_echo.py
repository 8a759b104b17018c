"""A WSGI app that answers with the request's CGI environment (HTTP_* keys)
as JSON: what a FastCGI or uwsgi application receives from nginx; and, for
/page.html, a small HTML page (RUM injection behind fastcgi/uwsgi)."""

import json


PAGE = (b"<!DOCTYPE html>\n<html><head><title>from uWSGI</title></head>\n"
        b"<body><p>served over FastCGI or uwsgi</p></body></html>\n")


def application(environ, start_response):
    if (environ.get("PATH_INFO") or environ.get("DOCUMENT_URI")) == "/page.html":
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [PAGE[:40], PAGE[40:]]  # two writes, no Content-Length
    headers = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    body = json.dumps({"protocol_headers": headers}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
