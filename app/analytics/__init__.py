"""The analytics semantic layer (DESIGN §10): a table of named members, and the one SELECT
each query becomes. `app.services.analytics` runs it in one read-only snapshot."""
