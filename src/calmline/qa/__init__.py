"""Quality review of whole transcript archives: ingest, scoring, aggregation and reports."""
