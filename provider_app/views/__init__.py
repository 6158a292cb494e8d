"""provider_app's views, one module per endpoint family."""
