"""Forms of the two-factor pages: a code, a device name, a re-authentication."""

from __future__ import annotations

from django import forms
from django.contrib.auth import authenticate

CODE_WIDGET = forms.TextInput(
    attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "off"}
)


class CodeForm(forms.Form):
    """A six-digit code from the authenticator app, or one recovery code."""

    code = forms.CharField(label="Code", max_length=32, strip=True, widget=CODE_WIDGET)


class EnrolForm(forms.Form):
    """Confirms a new authenticator app with the code it shows now."""

    name = forms.CharField(label="Name of this authenticator", max_length=64, initial="Authenticator app")
    code = forms.CharField(
        label="Code shown by the app",
        max_length=12,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class PasswordForm(forms.Form):
    """Re-authentication by password (through ``authenticate()``, so login throttling applies)."""

    password = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, request=None, **kwargs) -> None:
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        user = self.request.user
        authenticated = authenticate(self.request, username=user.get_username(), password=password)
        if authenticated is None or authenticated.pk != user.pk:
            raise forms.ValidationError("That password is not right.")
        return password
