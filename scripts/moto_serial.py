"""Run moto's server handling one request at a time.

`moto_server` serves requests on threads, and moto's DynamoDB rolls a
failed TransactWriteItems back by restoring a copy of the whole table taken
when the transaction began. A write that succeeded concurrently in that
window is silently undone, which real DynamoDB never does. Serialising the
requests makes every call atomic, as DynamoDB's transactions are, so tests
of concurrent writers check our conditions rather than moto's race.

It also makes that rollback item-level. moto snapshots a transaction's
table with `copy.deepcopy` once per operation, so a transaction costs time
proportional to the whole table: with 5,000 due reminders each delivery took
seconds. Here only the items the transaction names are saved, and restored if
it fails; the outcome is the same, as nothing else can run in between.

Usage: python scripts/moto_serial.py PORT
"""

import copy
import sys

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


_deepcopy = copy.deepcopy
_transact_write_items = DynamoDBBackend.transact_write_items


class _TablesKeptInPlace:
    """Stands in for the `copy` module inside moto's DynamoDB backend: deep
    copies of whole tables (the transaction snapshot) become no-ops."""

    @staticmethod
    def deepcopy(obj, memo=None):
        return obj if isinstance(obj, Table) else _deepcopy(obj, memo)


def _item_key(backend, op_type, op):
    table = backend.tables.get(op.get("TableName"))
    if table is None:
        return None
    if op_type == "Put":
        key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = op["Item"][table.range_key_attr]
    else:
        key = op.get("Key")
    if not key:
        return None
    hash_value, range_value = backend.get_keys_value(table, key)
    return table, hash_value, range_value


def _transact_write_items_item_level(self, transact_items):
    saved = []
    for entry in transact_items:
        if len(entry) != 1:
            continue  # moto rejects it before writing anything
        op_type, op = next(iter(entry.items()))
        try:
            located = _item_key(self, op_type, op)
            if located is not None:
                table, hash_value, range_value = located
                current = table.get_item(hash_value, range_value)
                saved.append((table, hash_value, range_value, _deepcopy(current)))
        except Exception:  # a malformed key: moto rejects it before writing it
            pass
    dynamodb_models.copy = _TablesKeptInPlace
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(saved):
            if range_value is not None:
                if item is None:
                    table.items[hash_value].pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            elif item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        raise
    finally:
        dynamodb_models.copy = copy


def main() -> None:
    DynamoDBBackend.transact_write_items = _transact_write_items_item_level
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
