"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_application_model

from provider_app.internal.clients import generate_client_secret

USER_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"
    password = factory.PostGenerationMethodCall("set_password", USER_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A confidential authorization-code client; ``raw_secret`` holds the secret before hashing."""

    class Meta:
        model = get_application_model()
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Client {n}")
    client_type = "confidential"
    authorization_grant_type = "authorization-code"
    redirect_uris = "https://client.example.com/callback"
    post_logout_redirect_uris = "https://client.example.com/logged-out"
    algorithm = "RS256"
    client_secret = factory.LazyFunction(generate_client_secret)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        raw_secret = kwargs["client_secret"]
        application = super()._create(model_class, *args, **kwargs)
        application.raw_secret = raw_secret
        return application
