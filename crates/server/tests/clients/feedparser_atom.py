"""Reads a civmap Atom feed with feedparser, as a resident's feed reader would.

Usage: feedparser_atom.py FEED_URL
Prints one JSON object with what the reader saw; exits non-zero when it cannot fetch the feed.
"""
import json
import sys

import feedparser

url = sys.argv[1]
d = feedparser.parse(url)
if d.get("status") not in (200, None) and not d.entries:
    print(json.dumps({"error": f"status {d.get('status')}"}))
    sys.exit(1)
print(json.dumps({
    "bozo": int(d.bozo),
    "bozo_exception": str(d.get("bozo_exception", "")),
    "version": d.version,
    "status": d.get("status"),
    "title": d.feed.get("title"),
    "updated": d.feed.get("updated"),
    "self": [l.get("href") for l in d.feed.get("links", []) if l.get("rel") == "self"],
    "entries": [
        {
            "id": e.get("id"),
            "title": e.get("title"),
            "link": e.get("link"),
            "updated": e.get("updated"),
            "summary": e.get("summary"),
        }
        for e in d.entries
    ],
}, ensure_ascii=False))
