"""The profile page's data: per linked account, the stored claims and a fresh UserInfo answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from client_app.exceptions import ClientAppError
from client_app.internal import metadata, token_store, userinfo
from client_app.models import SocialAccount


@dataclass
class LinkedProfile:
    account: SocialAccount
    userinfo: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def linked_profiles(user) -> list[LinkedProfile]:
    profiles = []
    for account in SocialAccount.objects.filter(user=user).select_related("provider"):
        profile = LinkedProfile(account=account)
        try:
            endpoint = metadata.get_metadata(account.provider).userinfo_endpoint
            if endpoint:
                access_token = token_store.get_token_set(user, account.provider).access_token
                profile.userinfo = userinfo.fetch(endpoint, access_token)
                if account.provider.is_openid:
                    userinfo.check_subject(profile.userinfo, account.sub)
        except ClientAppError as error:
            profile.userinfo, profile.error = {}, error.message
        profiles.append(profile)
    return profiles
