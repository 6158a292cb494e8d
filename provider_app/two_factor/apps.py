"""``TwoFactorAdminConfig``: the admin app with :class:`~.admin_site.TwoFactorAdminSite` as ``admin.site``.

Put ``"provider_app.two_factor.apps.TwoFactorAdminConfig"`` in ``INSTALLED_APPS`` instead of
``"django.contrib.admin"``: then staff must pass the second factor to use the admin.
"""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class TwoFactorAdminConfig(AdminConfig):
    default_site = "provider_app.two_factor.admin_site.TwoFactorAdminSite"
