"""The demo's home page."""

from django.conf import settings
from django.shortcuts import render


def home(request):
    return render(request, "oauthsite/home.html", {"demo": getattr(settings, "DEMO", False)})
