# SPDX-License-Identifier: Apache-2.0
"""Exports for analysts: the event log as Parquet/CSV files or PostgreSQL tables, incrementally.

One job: copy what is new since the last export (a watermark per site and table) out of the
store into a warehouse-friendly shape (docs/analytics.md). May import `gateway.config`,
`gateway.visitors` and `gateway.common`; pyarrow and psycopg are imported lazily (`export` extra).
"""
