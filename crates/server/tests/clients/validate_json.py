"""Validates JSON instances against one JSON Schema with python-jsonschema (the reference
implementation), formats checked; the draft is the schema's `$schema`, else 2020-12.

Usage: validate_json.py SCHEMA_FILE INSTANCES_FILE
INSTANCES_FILE holds a JSON array; prints a JSON array with, for each instance, the list of
its errors ("message at /path"), empty when it is valid.
"""
import json
import sys

from jsonschema.validators import validator_for

with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
with open(sys.argv[2], encoding="utf-8") as f:
    instances = json.load(f)

cls = validator_for(schema)
cls.check_schema(schema)
checker = cls.FORMAT_CHECKER
# Formats are checked only by the packages that know them: refuse to pass without them.
if "date-time" not in checker.checkers:
    sys.exit("the date-time format checker is missing (pip install rfc3339-validator)")
validator = cls(schema, format_checker=checker)
print(
    json.dumps(
        [
            [f"{e.message} at /{'/'.join(map(str, e.absolute_path))}" for e in validator.iter_errors(i)]
            for i in instances
        ]
    )
)
