"""Helpers for the two-factor tests: devices, codes at a given time, the two-step login."""

from __future__ import annotations

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from provider_app.two_factor import seeds
from tests.factories import USER_PASSWORD

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC6238_SHA1_KEY_HEX = b"12345678901234567890".hex()


def make_device(user, *, confirmed: bool = True, name: str = "phone") -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name=name, confirmed=confirmed, tolerance=1)


def code_at(device: TOTPDevice, when: float | None = None, *, steps: int = 0) -> str:
    """The code the device shows at ``when`` (default now), ``steps`` time steps away."""
    totp = TOTP(seeds.bin_key(device), device.step, device.t0, device.digits, 0)
    totp.time = (time.time() if when is None else when) + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def password_step(client, user, next_url: str = "/"):
    return client.post(
        "/account/login/", {"username": user.username, "password": USER_PASSWORD, "next": next_url}
    )


def second_factor_step(client, code: str):
    return client.post("/account/two-factor/verify/", {"code": code})


def login_two_factor(client, user, device, next_url: str = "/"):
    """Both steps; returns the response of the second (a redirect to ``next_url``)."""
    response = password_step(client, user, next_url)
    assert response.status_code == 302 and response["Location"].endswith("/account/two-factor/verify/")
    return second_factor_step(client, code_at(device))


CLIENT_PREFIX = "https://client.example.com"


def follow(client, response, *, hops: int = 10):
    """Follow redirects inside the provider; stop at the client's redirect URI or at a page."""
    for _ in range(hops):
        if response.status_code not in (301, 302, 303) or response["Location"].startswith(CLIENT_PREFIX):
            return response
        response = client.get(response["Location"])
    raise AssertionError("too many redirects")


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith("/account/login/")


def sign_in_from(client, login_redirect, user, device=None):
    """At the login page the authorization sent us to: password (and code); returns where it leads."""
    from urllib.parse import parse_qs, urlsplit

    next_url = parse_qs(urlsplit(login_redirect["Location"]).query)["next"][0]
    response = password_step(client, user, next_url)
    if device is not None:
        assert response["Location"] == "/account/two-factor/verify/"
        response = second_factor_step(client, code_at(device))
    assert response.status_code == 302 and response["Location"] == next_url, response
    return response


def consent_and_get_code(client, response) -> dict[str, str]:
    """From an authorization response: approve consent if shown; the query the client receives."""
    from tests.oauth_helpers import consent_form, query_of

    response = follow(client, response)
    if response.status_code == 200 and response.context and "form" in response.context:
        response = client.post("/o/authorize/", {**consent_form(response), "allow": "Authorize"})
    assert response.status_code == 302 and response["Location"].startswith(CLIENT_PREFIX), response
    return query_of(response["Location"])


def live_password_step(base_url: str, user):
    """A ``requests`` session that has done the password step on a live server."""
    import requests

    from tests.browser import submit

    session = requests.Session()
    login_page = session.get(f"{base_url}/account/login/", timeout=30)
    response = submit(
        session, login_page, allow_redirects=False, username=user.username, password=USER_PASSWORD
    )
    assert response.status_code == 302 and response.headers["Location"] == "/account/two-factor/verify/"
    return session


def submit_together(sessions, url: str, code: str):
    """POST ``code`` from every session at the same moment (threads released by one barrier)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(len(sessions))

    def submit(session):
        data = {"code": code, "csrfmiddlewaretoken": session.cookies["csrftoken"]}
        barrier.wait(timeout=30)
        return session.post(url, data=data, allow_redirects=False, timeout=60)

    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        return list(pool.map(submit, sessions))
