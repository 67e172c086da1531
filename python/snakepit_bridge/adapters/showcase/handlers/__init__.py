"""The showcase's tools, one module per domain."""
