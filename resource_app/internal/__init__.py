"""The steps behind resource_app's public classes; nothing here is a public API."""
