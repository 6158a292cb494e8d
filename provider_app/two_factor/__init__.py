"""Two-factor authentication at the provider (django-otp TOTP + hashed recovery codes).

The pieces, each in its own module:

- :mod:`.models`: encrypted TOTP seeds (:mod:`.seeds`) and hashed single-use recovery codes (a
  django-otp device).
- :mod:`.session`: the short-lived marker between the password step and the second-factor step
  (nothing secret is stored there), and the time of the last re-authentication.
- :mod:`.devices` and :mod:`.recovery`: verification with row locks, throttling and replay protection.
- :mod:`.views`, :mod:`.urls`, :mod:`.admin`, :mod:`.admin_site`: the second-factor step, enrolment,
  the self-service pages, and the admin site that requires a second factor.

How the user authenticated (``amr``, ``acr``, ``auth_time``, for every login) is login's:
:mod:`provider_app.internal.login`; what an authorization request asks of it (``prompt``,
``max_age``, ``acr_values``, the two-factor policy): :mod:`provider_app.internal.login_requirements`.
"""
