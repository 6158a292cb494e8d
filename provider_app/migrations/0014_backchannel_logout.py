import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):

    # The token-exchange migration (0013) is written beside this one; the chain is fixed at merge.
    dependencies = [
        ('provider_app', '0013_token_exchange_policy'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='clientpolicy',
            name='backchannel_logout_uri',
            field=models.CharField(blank=True, default='', help_text='OIDC Back-Channel Logout: where the provider posts a logout token when a session that signed in to this client ends (https; http only on loopback).', max_length=255),
        ),
        migrations.AddField(
            model_name='clientpolicy',
            name='backchannel_logout_session_required',
            field=models.BooleanField(default=False, help_text='The client needs the sid claim in logout tokens (OIDC Back-Channel Logout 2.2).'),
        ),
        migrations.AddField(
            model_name='authenticationcontext',
            name='sid',
            field=models.CharField(blank=True, default='', help_text="The provider session's sid (OIDC BCL 2.1).", max_length=64),
        ),
        migrations.CreateModel(
            name='SignedInClient',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sid', models.CharField(db_index=True, max_length=64)),
                ('issuer', models.CharField(help_text="The ID token's iss: the logout token's too.", max_length=255)),
                ('created', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('application', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=oauth2_settings.APPLICATION_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'client signed in by a provider session',
            },
        ),
        migrations.CreateModel(
            name='OutboundDelivery',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('backchannel_logout', 'OIDC back-channel logout token')], max_length=32)),
                ('target_url', models.CharField(max_length=255)),
                ('claims', models.JSONField(help_text='The claims to sign at each attempt (no signed token is stored).')),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('failed', 'Failed, will retry'), ('delivered', 'Delivered'), ('expired', 'Expired (gave up)')], default='pending', max_length=10)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires_at', models.DateTimeField(help_text='No attempt after this: the message is useless by then.')),
                ('delivered_at', models.DateTimeField(blank=True, null=True)),
                ('last_error', models.CharField(blank=True, max_length=255)),
                ('application', models.ForeignKey(blank=True, help_text='The client or service it is for.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=oauth2_settings.APPLICATION_MODEL)),
            ],
            options={
                'verbose_name': 'outbound delivery',
                'verbose_name_plural': 'outbound deliveries',
                'ordering': ['-created', '-id'],
                'indexes': [models.Index(fields=['state', 'next_attempt_at'], name='provider_app_outbox_due')],
            },
        ),
    ]
