"""Input limits, read by base.py: every one is enforced while input streams and named when it refuses."""

from __future__ import annotations

from governance.core import env

# --- Input limits (issue 16): enforced while streaming; anything over one is refused naming it ---------
# Request bodies that are not file uploads (JSON): bytes, nesting depth and items in any one list or object.
MAX_JSON_BODY_BYTES = env.integer("MAX_JSON_BODY_BYTES", 4 * 1024**2, minimum=1024)
MAX_JSON_DEPTH = env.integer("MAX_JSON_DEPTH", 64, minimum=4)
# OpenLineage events only: Airflow's providers (1.9 on Airflow 2) nest a DAG's task tree one level per
# downstream task, so a 60-task chain goes past MAX_JSON_DEPTH; the event's other limits still hold.
MAX_OPENLINEAGE_JSON_DEPTH = env.integer("MAX_OPENLINEAGE_JSON_DEPTH", 256, minimum=4)
MAX_JSON_ITEMS = env.integer("MAX_JSON_ITEMS", 10_000, minimum=10)
# Uploaded files, per file: a model artifact, a dataset version, a consent import.
MAX_ARTIFACT_UPLOAD_BYTES = env.integer("MAX_ARTIFACT_UPLOAD_BYTES", 64 * 1024**2, minimum=1024)
MAX_DATASET_UPLOAD_BYTES = env.integer("MAX_DATASET_UPLOAD_BYTES", 2 * 1024**3, minimum=1024)
MAX_CONSENT_IMPORT_BYTES = env.integer("MAX_CONSENT_IMPORT_BYTES", 1024**3, minimum=1024)
# Decoded Parquet: rows per file, uncompressed bytes per row group and per file (a small file that
# decodes to gigabytes is refused from its metadata before any page is decompressed).
MAX_PARQUET_ROWS = env.integer("MAX_PARQUET_ROWS", 50_000_000, minimum=1)
MAX_PARQUET_ROW_GROUP_BYTES = env.integer("MAX_PARQUET_ROW_GROUP_BYTES", 128 * 1024**2, minimum=1024)
MAX_PARQUET_DECODED_BYTES = env.integer("MAX_PARQUET_DECODED_BYTES", 16 * 1024**3, minimum=1024)
# CSV: bytes in one line (a dataset version or a consent import).
MAX_CSV_LINE_BYTES = env.integer("MAX_CSV_LINE_BYTES", 1024**2, minimum=64)
# MLflow search filters: characters in one filter expression.
MAX_FILTER_LENGTH = env.integer("MAX_FILTER_LENGTH", 4096, minimum=64)
