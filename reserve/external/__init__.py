"""Adapters' shared plumbing for outside sources: HTTP with timeouts, retries and classified failures."""
