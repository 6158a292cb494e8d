"""Two-factor authentication at the provider (django-otp TOTP + hashed recovery codes).

The pieces, each in its own module:

- :mod:`.models`: hashed single-use recovery codes (a django-otp device) and the authentication
  context kept with each authorization so that the token endpoint can put ``auth_time``, ``amr``
  and ``acr`` in the ID token (OIDC Core 2, RFC 8176).
- :mod:`.session`: how the user authenticated in this browser session, and the short-lived marker
  between the password step and the second-factor step (nothing secret is stored there).
- :mod:`.devices` and :mod:`.recovery`: verification with row locks, throttling and replay protection.
- :mod:`.requirements`: what an authorization request needs (prompt, max_age, acr_values, policy).
- :mod:`.views`, :mod:`.urls`: the second-factor step, enrolment and the self-service pages.
"""
