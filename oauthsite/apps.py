from django.apps import AppConfig


class OauthsiteConfig(AppConfig):
    name = "oauthsite"
    verbose_name = "oauthsite demo"
