"""provider_app's steps and mechanics: nothing here is a public import path.

The public surface is at the top of the package (``apps``, ``app_settings``, ``checks``, ``models``,
``admin``, ``signals``, ``oauth2_validator``, ``hashers``, ``throttling``, ``conf``, ``audit``,
``views``, ``api``, ``urls``, ``oauth_urls``, ``two_factor``). The protocol rules are in
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator`; the modules here store, cache and
look up what it decides, and make no protocol decision of their own.

One exception: the dotted paths that ``recommended_oauth2_provider_settings`` writes into a
project's DOT settings (``internal.tokens.generate_access_token``, also importable as
``internal.resources.generate_access_token`` as earlier releases wrote it,
``internal.resources.ResourceServerScopes``, ``internal.tokens.generate_token``,
``internal.clients.ClientSecretGenerator``) are configuration names: they do not move without a
deprecation shim.
"""
