"""Validates an OpenAPI document (3.0 or 3.1, chosen by its `openapi` member) with
openapi-spec-validator.

Usage: validate_openapi.py FILE
Prints "valid" or every validation error; exits non-zero when invalid.
"""
import json
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

with open(sys.argv[1], encoding="utf-8") as f:
    doc = json.load(f)
try:
    validate(doc)
except OpenAPIValidationError as e:
    print(f"invalid ({doc.get('openapi')}): {e}")
    sys.exit(1)
print(f"valid {doc.get('openapi')}")
