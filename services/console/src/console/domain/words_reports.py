"""The words of the reports pages (key -> (zh-CN, en))."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "reports.title": ("报表下载", "Reports"),
    "reports.lead": (
        "下载 {region} 的统计报表（CSV 格式，可用 Excel 打开）："
        "地区名称和列名为中文，金额单位为元。"
        "数据与“项目进度”页面一致，只包含您管辖范围内的数据。",
        "Download the figures of {region} as CSV (opens in Excel): region names and columns "
        "in Chinese, money in yuan. The same figures as the dashboard, your region only.",
    ),
    "reports.options": ("报表选项", "Options"),
    "reports.by": ("统计口径", "Broken down by"),
    "reports.by.city": ("按市", "City"),
    "reports.by.county": ("按区县", "County"),
    "reports.by.township": ("按乡镇（街道）", "Township or street"),
    "reports.by.province": ("按省", "Province"),
    "reports.as_of": ("截至日期", "As of"),
    "reports.as_of.hint": (
        "留空为今天；选择过去的日期可下载当日的数据。",
        "Leave empty for today; a past day gives the figures as they were then.",
    ),
    "reports.apply": ("更新下载链接", "Update the links"),
    "reports.bad_day": (
        "日期无效或晚于今天，已按今天提供。",
        "That day is invalid or in the future; today's figures are offered.",
    ),
    "reports.download": ("下载 CSV", "Download CSV"),
    "reports.download.label": ("下载 CSV：{title}", "Download CSV: {title}"),
    "reports.current": ("当前：{level}，截至 {day}", "Now: by {level}, as of {day}"),
    "reports.list": ("可下载的报表", "Reports to download"),
    "reports.future": ("即将提供", "Coming"),
    "reports.workbook": (
        "月度工作簿（Excel，多张工作表，含各项目标完成情况和审核锁定说明）正在开发中，上线后将在此提供下载。"
        "目前可下载以上各项 CSV 报表。",
        "A monthly workbook (Excel, several sheets, with the targets and which months are "
        "final) is being built and will be offered here. The CSV reports above are "
        "available now.",
    ),
    "reports.activities.title": ("活动与服务统计", "Activities and services"),
    "reports.activities.text": (
        "各地区开展的活动数、服务场次（按服务领域）、服务人次（按服务对象：老年人、儿童、救助对象等），"
        "以及入户走访户数、新建服务对象档案数。",
        "Activities held, sessions by service area, person-times by beneficiary group "
        "(elders, children, assistance clients ...), households visited, client files opened.",
    ),
    "reports.programmes.title": ("项目目标与完成进度", "Programme targets and progress"),
    "reports.programmes.text": (
        "参加项目的社工站数，以及骨干志愿者、服务场次、老年人服务人次等各项目标与实际完成数。",
        "Stations enrolled, and each target (backbone volunteers, sessions, elder "
        "person-times) beside what was achieved.",
    ),
    "reports.stations.title": ("社工站建设情况", "Stations"),
    "reports.stations.text": (
        "社工站数量及运营状态（筹建中、运营中、暂停、已关闭）。",
        "Stations and their status (planned, operating, suspended, closed).",
    ),
    "reports.people.title": ("社工人才队伍", "Social workers"),
    "reports.people.text": (
        "驻站社工人数、全科社工人数及持证情况（助理社会工作师、社会工作师、高级社会工作师）。",
        "Resident social workers, generalists, and their certification.",
    ),
    "reports.volunteers.title": ("志愿者队伍", "Volunteers"),
    "reports.volunteers.text": (
        "注册志愿者人数、老年志愿者人数、骨干志愿者认定数。",
        "Registered volunteers, elder volunteers, backbone designations.",
    ),
    "reports.training.title": ("培训与督导", "Training and supervision"),
    "reports.training.text": (
        "培训场次、培训人次和培训学时；督导计划与完成次数；整改事项的完成、未完成和逾期完成情况。",
        "Training sessions, person-times and hours; supervision visits planned and made; "
        "rectification items open, closed and closed late.",
    ),
    "reports.money.title": ("慈善资源", "Charity resources"),
    "reports.money.text": (
        "认捐、到账、拨付到社工站和支出的金额（元），以及认捐和捐赠笔数。",
        "Pledged, received, allocated and spent (yuan), and the number of pledges and gifts.",
    ),
    "reports.closed_months.title": ("数据审核锁定情况", "Closed months"),
    "reports.closed_months.text": (
        "各区县已审核锁定（数据已确认）的月份：锁定月份内的数据只能经审批更正。",
        "The month each county's figures are final through: closed months change only by "
        "an approved correction.",
    ),
}
