"""API views. Each one names the scopes it needs in ``required_scopes``."""

from __future__ import annotations

from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from provider_app.api.permissions import HasScopes
from provider_app.oauth2_validator import user_claims


class MeView(APIView):
    """``GET /api/me``: the token's user; profile fields with ``profile``, e-mail with ``email``."""

    permission_classes = [IsAuthenticated, HasScopes]
    required_scopes = ["profile"]

    def get(self, request: Request) -> Response:
        scopes = set(request.auth.scope.split())
        claims = user_claims(request.user)
        profile = {"sub": str(request.user.pk)}
        profile.update({k: v for k, v in claims.items() if k not in ("email", "email_verified")})
        if "email" in scopes:
            profile.update({k: v for k, v in claims.items() if k in ("email", "email_verified")})
        return Response(profile)
