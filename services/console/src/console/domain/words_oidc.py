"""The words of the OpenID Connect sign-in (key -> (zh-CN, en))."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "oidc.not_configured": (
        "未配置统一身份认证（OIDC）登录。",
        "Sign-in with an identity provider (OpenID Connect) is not configured.",
    ),
    "oidc.unavailable": (
        "暂时无法连接统一身份认证服务，请稍后再试。",
        "The identity provider cannot be reached; please try again shortly.",
    ),
    "oidc.refused": (
        "统一身份认证未同意本次登录，请重新登录。",
        "The identity provider did not sign you in; please try again.",
    ),
    "oidc.expired": (
        "登录请求已过期或不是从本浏览器发起的，请重新登录。",
        "This sign-in expired or was not started in this browser; please sign in again.",
    ),
    "oidc.state": (
        "登录请求校验失败（state 不一致），请重新登录。",
        "This sign-in could not be checked (state mismatch); please sign in again.",
    ),
    "oidc.token": (
        "无法从统一身份认证服务取得登录凭证，请重新登录。",
        "The identity provider gave no sign-in token; please sign in again.",
    ),
    "oidc.id_token": (
        "身份凭证校验失败，请重新登录。",
        "The identity token could not be verified; please sign in again.",
    ),
}
