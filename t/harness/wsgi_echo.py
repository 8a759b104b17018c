"""A WSGI app that answers with the request's CGI environment (HTTP_* keys)
as JSON: what a FastCGI or uwsgi application receives from nginx."""

import json


def application(environ, start_response):
    headers = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    body = json.dumps({"protocol_headers": headers}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
