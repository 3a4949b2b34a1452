"""Run moto's server handling one request at a time.

`moto_server` serves requests on threads, and moto's DynamoDB rolls a
failed TransactWriteItems back by restoring a copy of the whole table taken
when the transaction began. A write that succeeded concurrently in that
window is silently undone, which real DynamoDB never does. Serialising the
requests makes every call atomic, as DynamoDB's transactions are, so tests
of concurrent writers check our conditions rather than moto's race.

Usage: python scripts/moto_serial.py PORT
"""

import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
