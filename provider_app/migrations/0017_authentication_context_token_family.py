# R2: the authentication context belongs to the sign-in's refresh-token family, and outlives an
# ID token that a refresh without openid leaves behind (RFC 9068 2.2.1, OIDC Core 12.2).

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


def link_to_families(apps, schema_editor):
    """Contexts written before: linked to the family of the refresh token issued with their ID
    token's access token (one statement), as the token endpoint links new ones."""
    Context = apps.get_model("provider_app", "AuthenticationContext")
    RefreshToken = apps.get_model(oauth2_settings.REFRESH_TOKEN_MODEL)
    family = RefreshToken.objects.filter(
        access_token__id_token=models.OuterRef("id_token"), token_family__isnull=False
    ).values("token_family")[:1]
    Context.objects.using(schema_editor.connection.alias).filter(
        token_family__isnull=True, id_token__isnull=False
    ).update(token_family=models.Subquery(family))


class Migration(migrations.Migration):

    dependencies = [
        ('provider_app', '0016_totp_seed_options'),
        migrations.swappable_dependency(oauth2_settings.ID_TOKEN_MODEL),
        migrations.swappable_dependency(oauth2_settings.REFRESH_TOKEN_MODEL),
        ('oauth2_provider', '0011_refreshtoken_token_family'),
    ]

    operations = [
        migrations.AddField(
            model_name='authenticationcontext',
            name='token_family',
            field=models.UUIDField(blank=True, db_index=True, help_text="The sign-in's refresh-token family (R2).", null=True),
        ),
        migrations.AlterField(
            model_name='authenticationcontext',
            name='id_token',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='authentication_context', to=oauth2_settings.ID_TOKEN_MODEL),
        ),
        migrations.RunPython(link_to_families, migrations.RunPython.noop, elidable=True),
    ]
