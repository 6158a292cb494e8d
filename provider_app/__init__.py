"""An OAuth 2.1 / OpenID Connect authorization server built on django-oauth-toolkit."""
