"""The words on the screen: every label, message and error, Chinese first, with English for
the switch. A key missing here is an error at render time, never a bare key on a page
(tests/…/test_console_words.py checks every key a template uses)."""

from __future__ import annotations

from console.domain import (
    words_foundation,
    words_oidc,
    words_programme,
    words_queues,
    words_record,
    words_reports,
    words_stations,
)

LANGS = ("zh", "en")

# key -> (zh-CN, en)
WORDS: dict[str, tuple[str, str]] = {
    # the frame
    "app.name": ("五社联动 社工站管理平台", "Wushe social-work stations"),
    "app.short": ("五社", "Wushe"),
    "nav.home": ("首页", "Home"),
    "nav.programme": ("项目进度", "Programme"),
    "nav.stations": ("社工站", "Stations"),
    "nav.record": ("记录服务", "Record"),
    "nav.queues": ("待办事项", "Work queues"),
    "nav.foundation": ("资金与成效", "Money and outcomes"),
    "nav.reports": ("报表下载", "Reports"),
    "nav.skip": ("跳到正文", "Skip to content"),
    "nav.main": ("主导航", "Main navigation"),
    "lang.switch": ("English", "中文"),
    "lang.label": ("切换语言", "Switch language"),
    "signout": ("退出登录", "Sign out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    # sign-in
    "signin.title": ("登录", "Sign in"),
    "signin.lead": (
        "使用所在单位的统一身份认证账号登录。",
        "Sign in with your organisation's identity provider.",
    ),
    "signin.oidc": ("统一身份认证登录", "Sign in with the identity provider"),
    "signin.dev": ("本地演示账号", "Local demo people"),
    "signin.dev_lead": (
        "本地开发环境：选择演示场景中的一位人员登录。",
        "Local stack: sign in as one of the scenario's demo people.",
    ),
    "signin.as": ("以此身份登录", "Sign in as this person"),
    "signin.none": (
        "未配置登录方式：请设置统一身份认证（OIDC）。",
        "No sign-in is configured: set up OpenID Connect.",
    ),
    "signin.expired": ("登录已过期，请重新登录。", "Your session ended; please sign in again."),
    "signin.failed": ("登录失败", "Sign-in failed"),
    # roles
    "role.province_officer": ("省级民政干部", "Province official"),
    "role.city_officer": ("市级民政干部", "City official"),
    "role.county_officer": ("县级民政干部", "County official"),
    "role.station_worker": ("社工站工作人员", "Station worker"),
    "role.social_worker": ("驻站社工", "Resident social worker"),
    "role.funder": ("基金会项目官员", "Foundation programme officer"),
    "role.auditor": ("审计人员", "Auditor"),
    "role.admin": ("管理员", "Administrator"),
    "role.platform_operator": ("平台运维", "Platform operator"),
    # errors
    "error.title": ("出错了", "Something went wrong"),
    "error.forbidden": ("您没有权限查看或操作此内容。", "You may not see or do this."),
    "error.not_found": ("未找到该内容。", "Not found."),
    "error.unavailable": (
        "服务暂不可用，请稍后再试。",
        "A service is unavailable; please try again shortly.",
    ),
    "error.csrf": (
        "表单已失效，请刷新页面后重新提交。",
        "This form has expired; reload the page and submit again.",
    ),
    "error.back": ("返回首页", "Back to the home page"),
    # figures
    "as_of": ("截至", "As of"),
    "as_of.apply": ("查看", "Show"),
    "unit.yuan": ("元", "yuan"),
}


for _area in (
    words_programme,
    words_stations,
    words_record,
    words_queues,
    words_foundation,
    words_reports,
    words_oidc,
):
    _twice = WORDS.keys() & _area.WORDS.keys()
    if _twice:
        raise RuntimeError(f"words defined twice: {sorted(_twice)}")
    WORDS.update(_area.WORDS)


class MissingWord(KeyError):
    pass


def word(key: str, lang: str = "zh") -> str:
    try:
        zh, en = WORDS[key]
    except KeyError:
        raise MissingWord(key) from None
    return en if lang == "en" else zh
