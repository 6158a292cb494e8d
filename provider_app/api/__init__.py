"""A DRF API protected by bearer tokens and scopes."""
