# R2: the authentication context belongs to the sign-in's refresh-token family, and outlives an
# ID token that a refresh without openid leaves behind (RFC 9068 2.2.1, OIDC Core 12.2).

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):

    dependencies = [
        ('provider_app', '0016_totp_seed_options'),
        migrations.swappable_dependency(oauth2_settings.ID_TOKEN_MODEL),
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
    ]
