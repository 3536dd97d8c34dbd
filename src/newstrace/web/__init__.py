"""The local web UI: paste an article, see where it came from.

``create_app(db_path)`` returns a FastAPI application over a read-only index; run it
with ``newstrace serve --db FILE`` (binds 127.0.0.1 by default).
"""

from newstrace.web.app import DEFAULT_MAX_UPLOAD_BYTES, create_app

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "create_app"]
