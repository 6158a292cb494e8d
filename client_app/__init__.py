"""Log in with any OAuth 2.0 / OpenID Connect provider, with the code exchanged server-side."""
