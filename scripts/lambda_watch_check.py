"""Calls one route of every HTTP function that `cargo lambda watch` serves.

The watched functions are built with their `dev` feature (see the root
Cargo.toml), so they run on the embedded adapters over one data directory
(SUNDIAL_DATA_DIR), each in its own process. The calls depend on each
other, so they also show that the processes share the table and the
signing key: organisations signs an owner up, auth signs them in, users
and calendar accept the access token auth issued, and a call without
credentials gets the 401 problem document.

scripts/test builds the functions as the watcher does before it starts
it, so each first call only starts a built binary; the timeout still
leaves room for a rebuild when the check runs on its own.

Usage: python3 scripts/lambda_watch_check.py http://127.0.0.1:PORT
"""

import json
import sys
import urllib.error
import urllib.request

TIMEOUT = 300  # seconds: an incremental debug build of a function
EMAIL = "watch-check@example.com"
PASSWORD = "correct horse battery"


def call(base, function, method, path, body=None, token=None):
    url = "%s/lambda-url/%s%s" % (base, function, path)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status, content_type, raw = response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        status, content_type, raw = error.code, error.headers.get("content-type", ""), error.read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode(errors="replace")
    return status, content_type, payload


def expect(what, got, want, payload):
    if got != want:
        sys.exit("lambda watch check: %s: got %r, want %r: %s" % (what, got, want, payload))


def main():
    base = sys.argv[1].rstrip("/")
    checks = []

    sign_up = {
        "organisation": {"name": "Watch Check Care"},
        "owner": {"email": EMAIL, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"},
    }
    status, _, body = call(base, "organisations", "POST", "/v1/public/organisations", sign_up)
    expect("organisations: public sign-up", status, 201, body)
    checks.append("organisations POST /v1/public/organisations -> 201 (%s)" % body["organisation"]["name"])

    status, _, body = call(base, "auth", "POST", "/v1/auth/token", {"email": EMAIL, "password": PASSWORD})
    expect("auth: sign-in of the owner organisations created", status, 200, body)
    token = body["accessToken"]
    checks.append("auth POST /v1/auth/token -> 200 (the owner organisations wrote)")

    status, _, body = call(base, "users", "GET", "/v1/users/me", token=token)
    expect("users: me with auth's token", status, 200, body)
    expect("users: me is the owner", body.get("email"), EMAIL, body)
    checks.append("users GET /v1/users/me -> 200 (auth's token verifies)")

    status, _, body = call(base, "calendar", "GET", "/v1/notifications", token=token)
    expect("calendar: the notification inbox", status, 200, body)
    checks.append("calendar GET /v1/notifications -> 200 (%d items)" % len(body["items"]))

    status, content_type, body = call(base, "organisations", "GET", "/v1/organisations")
    expect("organisations: a list without credentials", status, 401, body)
    expect("organisations: the problem document", (content_type, body.get("code")),
           ("application/problem+json", "unauthenticated"), body)
    checks.append("organisations GET /v1/organisations -> 401 unauthenticated problem")

    for line in checks:
        print("    ok  " + line)


if __name__ == "__main__":
    main()
