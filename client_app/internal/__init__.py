"""The login flow's machinery. Not a public API: site code uses ``client_app.api`` and the adapter."""
