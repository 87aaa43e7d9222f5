"""Reads civmap's OGC API Features with OWSLib, as a GIS user's script would.

Usage: owslib_features.py BASE_URL   (e.g. http://127.0.0.1:1234/ogc)
Prints one JSON object with what the client saw; exits non-zero on any client error.
"""
import json
import sys

from owslib.ogcapi.features import Features

url = sys.argv[1]
w = Features(url)
api = w.api()
conformance = w.conformance()
collections = w.feature_collections()
items = w.collection_items("problems", limit=5)
print(json.dumps({
    "api_openapi": api.get("openapi"),
    "api_paths": len(api.get("paths", {})),
    "conformsTo": conformance.get("conformsTo"),
    "collections": collections,
    "items_type": items.get("type"),
    "items_returned": len(items.get("features", [])),
    "first_category": items["features"][0]["properties"].get("category") if items.get("features") else None,
}))
