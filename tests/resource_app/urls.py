"""Two views of a service protected by resource_app: one DRF, one plain Django."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import include, path
from django.views import View
from rest_framework.response import Response
from rest_framework.views import APIView

from resource_app.authentication import BearerTokenAuthentication, HasAllowedActor, HasScopes
from resource_app.decorators import token_required
from resource_app.middleware import TokenRequiredMixin


class NotesView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["notes:read"]
    required_scopes_by_method = {"POST": ["notes:write"]}

    def get(self, request):
        token = request.auth
        return Response({"sub": request.user.username, "mode": token.mode, "scopes": sorted(token.scopes)})

    def post(self, request):
        return Response({"written": True}, status=201)


@token_required(scopes=["notes:read"])
def plain_notes(request):
    token = request.access_token
    return JsonResponse({"sub": token.subject, "client_id": token.client_id, "mode": token.mode})


class ReadOnlyNotesView(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes]
    required_scopes_by_method = {"GET": ["notes:read"]}

    def get(self, request):
        return Response({"sub": request.user.username})

    def put(self, request):
        return Response({"written": True})


class MixinNotesView(TokenRequiredMixin, View):
    required_scopes = ("notes:read",)

    def get(self, request):
        return JsonResponse({"sub": request.access_token.subject})


class FilesForNotesView(APIView):
    """Only the notes service may call, for a user (RFC 8693 ``act``)."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScopes, HasAllowedActor]
    required_scopes = ["notes:read"]
    allowed_actors = ["notes-service"]

    def get(self, request):
        return Response({"sub": request.auth.subject, "actors": list(request.auth.actors)})


@token_required(scopes=["notes:read"], actors=["notes-service"])
def plain_files_for_notes(request):
    token = request.access_token
    return JsonResponse({"sub": token.subject, "actors": list(token.actors)})


class NoReportsView(TokenRequiredMixin, View):
    """Anyone but the reports service."""

    required_scopes = ("notes:read",)
    refused_actors = ("reports-service",)

    def get(self, request):
        return JsonResponse({"sub": request.access_token.subject})


def public(request):
    token = getattr(request, "access_token", None)
    return JsonResponse({"sub": token.subject if token else None})


urlpatterns = [
    path("notes/", NotesView.as_view()),
    path("plain/notes/", plain_notes),
    path("mixin/notes/", MixinNotesView.as_view()),
    path("read-only/notes/", ReadOnlyNotesView.as_view()),
    path("public/", public),
    path("files-for-notes/", FilesForNotesView.as_view()),
    path("plain/files-for-notes/", plain_files_for_notes),
    path("no-reports/", NoReportsView.as_view()),
    path("events/", include("resource_app.urls")),  # revocation events (RFC 8935)
]
