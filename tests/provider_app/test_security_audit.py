"""The audit log: rows and log lines for security events, never a secret."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory

from provider_app import audit
from provider_app.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_audit_record_writes_row_and_log_line(user, application, caplog):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest\nforged")
    with caplog.at_level(logging.INFO, logger="provider_app.audit"):
        audit.record("consent.given", request=request, user=user, application=application, scope="openid")
    event = AuditEvent.objects.get()
    assert event.event == "consent.given"
    assert event.user == user and event.username == user.username
    assert event.application == application and event.client_id == application.client_id
    assert event.ip_address == "203.0.113.7"
    assert event.user_agent == "pytest forged"
    assert event.details == {"scope": "openid"}
    [line] = [r for r in caplog.records if r.name == "provider_app.audit"]
    assert line.levelno == logging.INFO
    assert "consent.given" in line.getMessage() and user.username in line.getMessage()


def test_audit_record_redacts_secrets_from_row_and_log(caplog):
    with caplog.at_level(logging.INFO, logger="provider_app.audit"):
        audit.record(
            "login.failed",
            password="hunter2-password",
            client_secret="s3cr3t-value",
            code="the-code-value",
            nested={"refresh_token": "rt-value", "reason": "bad"},
            access_token_id=42,
        )
    event = AuditEvent.objects.get()
    assert event.details["password"] == audit.REDACTED
    assert event.details["client_secret"] == audit.REDACTED
    assert event.details["code"] == audit.REDACTED
    assert event.details["nested"] == {"refresh_token": audit.REDACTED, "reason": "bad"}
    assert event.details["access_token_id"] == 42
    text = caplog.text + repr(event.details)
    for secret in ("hunter2-password", "s3cr3t-value", "the-code-value", "rt-value"):
        assert secret not in text
    assert caplog.records[-1].levelno == logging.WARNING


def test_audit_record_takes_signed_in_user_from_request_and_ignores_bad_ip(user):
    request = RequestFactory().get("/", REMOTE_ADDR="not-an-ip")
    request.user = user
    audit.record("logout", request=request)
    event = AuditEvent.objects.get()
    assert event.user == user
    assert event.ip_address is None


def test_audit_admin_lists_with_filters(verified_admin_client, user):
    audit.record("login.succeeded", user=user)
    audit.record("code.replayed")
    response = verified_admin_client.get("/admin/provider_app/auditevent/", {"event": "code.replayed"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    assert verified_admin_client.get("/admin/provider_app/auditevent/add/").status_code == 403


def test_audit_flow_records_login_consent_tokens(client, user, application):
    from tests.oauth_helpers import authorize_and_exchange
    from tests.provider_app.two_factor_helpers import password_step

    assert password_step(client, user).status_code == 302
    authorize_and_exchange(client, application)
    events = list(AuditEvent.objects.order_by("id").values_list("event", flat=True))
    assert events[:3] == ["login.succeeded", "consent.given", "token.issued"]
    issued = AuditEvent.objects.get(event="token.issued")
    assert issued.user == user and issued.application == application
    assert issued.details["grant_type"] == "authorization_code"


def test_audit_client_secret_rotation(verified_admin_client, admin_user, application):
    url = f"/admin/oauth2_provider/application/{application.pk}/rotate-secret/"
    response = verified_admin_client.post(url)
    assert response.status_code == 200
    event = AuditEvent.objects.get(event="client.secret_rotated")
    assert event.user == admin_user and event.application == application
    assert application.raw_secret not in str(event.details)
