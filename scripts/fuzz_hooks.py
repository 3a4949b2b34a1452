"""Schemathesis hooks of scripts/fuzz_api.sh (loaded through SCHEMATHESIS_HOOKS).

List cursors are opaque and signed: only a `nextCursor` the server issued
is valid, which no schema can state. A generated `cursor` the server never
issued is dropped before sending (the rest of the request is unchanged), so
pages are fuzzed with real cursors only.

The run acts as one superadmin through a personal access token with every
scope. A few requests would end that identity for the rest of the run
(deleting, locking or deactivating the fuzzer's own account, revoking its own
token, signing out everywhere); they are still sent, exactly as generated,
but as a throwaway account (an organisation owner from the public sign-up),
so the run keeps its superadmin to the end.

`POST /v1/invitations/accept` documents two shapes: the token alone when
signed in, or the token with the new account's names and password without
credentials. A request of the second shape is sent as documented, without
credentials.
"""

import ast
import json
import os
import threading
import urllib.error
import urllib.request

import schemathesis

BASE = os.environ["SUNDIAL_FUZZ_BASE"]
TOKEN = os.environ["SUNDIAL_FUZZ_TOKEN"]
TOKEN_ID = os.environ["SUNDIAL_FUZZ_TOKEN_ID"]
USER_ID = os.environ["SUNDIAL_FUZZ_USER_ID"]

_lock = threading.Lock()
_issued_cursors = set()
_throwaway = {"token": None, "n": 0}

# CPython 3.11 keeps the AST constructor's recursion depth in global state:
# two threads parsing at once may fail with "SystemError: AST constructor
# recursion depth mismatch". Hypothesis parses Python source (to describe
# the filters it builds) from both workers; here one parse runs at a time.
# This changes nothing that is generated or checked.
_ast_lock = threading.RLock()
_ast_parse = ast.parse


def _parse_alone(*args, **kwargs):
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _parse_alone


def _call(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, data, timeout=30) as resp:
        return json.load(resp)


def _throwaway_token():
    """A signed-in organisation owner, made again once the last one is gone."""
    with _lock:
        token = _throwaway["token"]
        if token is not None:
            try:
                _call("GET", "/v1/users/me", token=token)
                return token
            except urllib.error.HTTPError:
                pass
        _throwaway["n"] += 1
        n = _throwaway["n"]
        email = f"throwaway-{n}@example.com"
        password = "throwaway password"
        try:
            _call(
                "POST",
                "/v1/public/organisations",
                {
                    "organisation": {"name": f"Throwaway {n}"},
                    "owner": {"email": email, "password": password, "firstName": "Throw", "lastName": "Away"},
                },
            )
            token = _call("POST", "/v1/auth/token", {"email": email, "password": password})["accessToken"]
        except urllib.error.HTTPError:
            token = "not-a-valid-token"
        _throwaway["token"] = token
        return token


def _ends_own_identity(case):
    method = case.method.upper()
    path = case.operation.path
    params = case.path_parameters or {}
    if (method, path) in {
        ("DELETE", "/v1/users/me"),
        ("POST", "/v1/auth/logout-all"),
        ("POST", "/v1/auth/logout"),
    }:
        return True
    if (method, path) == ("DELETE", "/v1/auth/tokens/{id}"):
        return str(params.get("id")) == TOKEN_ID
    if path in {"/v1/users/{id}", "/v1/users/{id}/lock", "/v1/users/{id}/deactivate"} and method in {
        "DELETE",
        "POST",
    }:
        return str(params.get("id")) == USER_ID
    if (method, path) == ("POST", "/v1/users/bulk-delete"):
        return USER_ID in json.dumps(case.body, default=str)
    return False


@schemathesis.auth(refresh_interval=None)
class FuzzerToken:
    def get(self, case, ctx):
        return _throwaway_token() if _ends_own_identity(case) else TOKEN

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


def _keep_own_identity(case):
    # Stateful steps can fill in the id after authentication was set.
    auth = (case.headers or {}).get("Authorization")
    if auth == f"Bearer {TOKEN}" and _ends_own_identity(case):
        case.headers["Authorization"] = f"Bearer {_throwaway_token()}"


def _accepts_as_new_account(case):
    body = case.body
    return (
        case.method.upper() == "POST"
        and case.operation.path == "/v1/invitations/accept"
        and isinstance(body, dict)
        and "password" in body
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    _keep_own_identity(case)
    if _accepts_as_new_account(case) and case.headers:
        case.headers.pop("Authorization", None)
    query = case.query
    if isinstance(query, dict) and "cursor" in query and query["cursor"] not in _issued_cursors:
        del query["cursor"]


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 200:
        return
    try:
        body = response.json()
    except Exception:
        return
    cursor = body.get("nextCursor") if isinstance(body, dict) else None
    if isinstance(cursor, str):
        _issued_cursors.add(cursor)
