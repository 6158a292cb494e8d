"""provider_app's steps and mechanics: nothing here is a public import path.

The public surface is at the top of the package (``apps``, ``app_settings``, ``checks``, ``models``,
``admin``, ``signals``, ``oauth2_validator``, ``hashers``, ``throttling``, ``conf``, ``audit``,
``views``, ``api``, ``urls``, ``oauth_urls``, ``two_factor``). The protocol rules are in
:class:`provider_app.oauth2_validator.ProviderOAuth2Validator`; the modules here store, cache and
look up what it decides, and make no protocol decision of their own.
"""
