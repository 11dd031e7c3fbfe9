"""The words of the queues pages (key -> (zh-CN, en))."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "queues.title": ("待办事项", "Work queues"),
    "queues.lead": (
        "需要您处理或督办的事项：审核已开展的活动、督办待审批的志愿服务时长、"
        "审批已锁定月份的数据更正、督办逾期未整改的督导事项。",
        "What waits for you: activities to verify, volunteers' hours awaiting approval, "
        "corrections in a closed month to approve, supervision items past their deadline.",
    ),
    "queues.summary": ("待办概览", "At a glance"),
    "queues.filter": ("筛选", "Filter"),
    "queues.filter.station": ("社工站", "Station"),
    "queues.filter.all": ("全部社工站", "All stations"),
    "queues.filter.apply": ("筛选", "Apply"),
    "queues.none": ("暂无待办事项。", "Nothing waiting."),
    "queues.count_of": (
        "共 {total} 项，列出等待最久的 {shown} 项。",
        "{total} in all; the {shown} waiting longest are shown.",
    ),
    "queues.count_overdue": (
        "共 {total} 项，列出逾期最久的 {shown} 项。",
        "{total} in all; the {shown} most overdue are shown.",
    ),
    "queues.count_some": (
        "共 {total} 项，列出其中 {shown} 项；可按社工站筛选。",
        "{total} in all; {shown} are shown. Filter by station to see others.",
    ),
    "queues.unavailable": (
        "此列表暂时无法读取（服务响应超时或不可用），请稍后刷新页面。",
        "This list cannot be read just now (a service is slow or down); reload shortly.",
    ),
    "queues.unavailable.update": (
        "此列表需要更新后的服务，服务重启后即可显示。",
        "This list needs the updated service; it shows once the service restarts.",
    ),
    "queues.locked": ("所在月份已锁定", "Month closed"),
    "queues.locked.why": (
        "区县已锁定该月份（数据已审核），不能再审核或审批；如需调整，由市级或省级民政部门重新开放该月份。",
        "The county closed this month: it can no longer be verified or approved unless a "
        "city or province official reopens it.",
    ),
    "queues.locked.count": (
        "其中 {n} 项所在月份已由区县锁定（数据已审核），不能再审核或审批，排在最后；"
        "如需调整，由市级或省级民政部门重新开放该月份。",
        "{n} of them lie in months the county closed and can no longer be verified or "
        "approved (listed last) unless a city or province official reopens the month.",
    ),
    "queues.name_unknown": ("（名称未知）", "(name unknown)"),
    "queues.days": ("{n} 天", "{n} days"),
    "queues.today": ("今天", "today"),
    "queues.col.station": ("社工站", "Station"),
    "queues.col.county": ("区县", "County"),
    "queues.col.action": ("操作", "Action"),
    "queues.col.waiting": ("已等待", "Waiting"),
    # verification
    "queues.verification.title": ("待审核的活动", "Activities waiting for verification"),
    "queues.verification.lead": (
        "社工站已登记开展情况、尚未审核的活动。审核即确认活动真实开展；"
        "录入或登记该活动的人员不能审核（职责分离）。",
        "Activities a station recorded as held and nobody has verified yet. Verifying "
        "certifies they took place; whoever recorded one may not verify it.",
    ),
    "queues.col.activity_date": ("活动日期", "Activity date"),
    "queues.col.held_on": ("开展日期", "Held on"),
    "queues.col.area": ("服务领域", "Service area"),
    "queues.col.kind": ("活动形式", "Kind"),
    "queues.col.sessions": ("服务场次", "Sessions"),
    "queues.col.person_times": ("服务人次", "Person-times"),
    "queues.verify": ("审核通过", "Verify"),
    "queues.verify.label": (
        "审核通过：{station} {day} 的活动",
        "Verify the activity of {station} on {day}",
    ),
    # hours
    "queues.hours.title": ("待审批的志愿服务时长", "Volunteer hours waiting for approval"),
    "queues.hours.lead.official": (
        "志愿服务时长由组织服务的社工站审批（谁组织、谁记录、谁审批）。"
        "此处列出尚未审批的时长，供督办。",
        "Hours are approved by the station that organised the service; listed here so you "
        "can follow up.",
    ),
    "queues.hours.lead.staff": (
        "本站组织的服务中尚待审批的时长。签到签退的记录人、志愿者本人及其所在队伍的队长不能审批。",
        "Hours at services your station organised, waiting for approval. Whoever recorded "
        "them, the volunteer and their team leader may not approve them.",
    ),
    "queues.col.volunteer": ("志愿者", "Volunteer"),
    "queues.col.organiser": ("组织社工站", "Organising station"),
    "queues.col.service_date": ("服务日期", "Service date"),
    "queues.col.check_in": ("签到", "Check-in"),
    "queues.col.check_out": ("签退", "Check-out"),
    "queues.col.hours": ("时长（小时）", "Hours"),
    "queues.col.source": ("服务类型", "Service"),
    "queues.source.activity": ("活动", "Activity"),
    "queues.source.shift": ("值班", "Duty shift"),
    "queues.volunteer.other": ("外地区志愿者", "A volunteer of another region"),
    "queues.approve_hours": ("审批通过", "Approve"),
    "queues.approve_hours.label": (
        "审批通过：{name} {day} 的服务时长",
        "Approve the hours of {name} on {day}",
    ),
    "queues.by_station": ("由组织社工站审批", "Approved by the organising station"),
    # corrections
    "queues.corrections.title": ("已锁定月份待审批的更正", "Corrections waiting in a closed month"),
    "queues.corrections.lead": (
        "区县已锁定（数据已审核）的月份中，社工站提交的数据更正须经市级或省级民政部门审批后才计入统计；"
        "提交更正的人员不能审批。",
        "Corrections a station proposed into a month its county closed count only once a "
        "city or province official approves them; whoever proposed one may not.",
    ),
    "queues.col.closed_month": ("锁定月份", "Closed month"),
    "queues.col.reason": ("更正原因", "Reason"),
    "queues.col.note": ("更正说明", "Note"),
    "queues.col.change_sessions": ("服务场次（更正前→后）", "Sessions (before → after)"),
    "queues.col.change_person_times": ("服务人次（更正前→后）", "Person-times (before → after)"),
    "queues.col.proposed_on": ("提交日期", "Proposed on"),
    "queues.approve_correction": ("批准更正", "Approve"),
    "queues.approve_correction.label": (
        "批准更正：{station} {day} 的活动",
        "Approve the correction of the activity of {station} on {day}",
    ),
    "queues.by_upper": ("由市级或省级民政部门审批", "Approved by a city or province official"),
    "queues.reason.count_error": ("人次统计有误", "Count error"),
    "queues.reason.wrong_group": ("服务对象类别有误", "Wrong beneficiary group"),
    "queues.reason.duplicate_entry": ("重复录入", "Duplicate entry"),
    "queues.reason.late_evidence": ("补充佐证材料", "Late evidence"),
    "queues.reason.other": ("其他", "Other"),
    # overdue
    "queues.overdue.title": ("逾期未整改的督导事项", "Supervision items past their deadline"),
    "queues.overdue.lead": (
        "督导中发现、已超过整改期限仍未完成的整改事项。请督促社工站整改，完成后在社工站页面办结。",
        "Rectification items from supervision still open past their deadline; follow up "
        "with the station and close them on its page.",
    ),
    "queues.col.category": ("类别", "Category"),
    "queues.col.item": ("整改事项", "Item"),
    "queues.col.deadline": ("整改期限", "Deadline"),
    "queues.col.overdue": ("逾期", "Overdue"),
    "queues.category.materials": ("台账资料", "Records and materials"),
    "queues.category.service_quality": ("服务质量", "Service quality"),
    "queues.category.safety": ("安全管理", "Safety"),
    "queues.category.finance": ("财务管理", "Finance"),
    "queues.category.staffing": ("人员配备", "Staffing"),
    "queues.category.other": ("其他", "Other"),
    # service areas and kinds of activity
    "queues.area.social_assistance": ("社会救助", "Social assistance"),
    "queues.area.elder_services": ("养老服务", "Elder services"),
    "queues.area.child_care": ("儿童关爱保护", "Child care and protection"),
    "queues.area.community_governance": ("社区治理", "Community governance"),
    "queues.area.local_speciality": ("特色服务", "Local speciality"),
    "queues.kind.community_event": ("社区活动", "Community event"),
    "queues.kind.group_work": ("小组工作", "Group work"),
    "queues.kind.casework": ("个案服务", "Casework"),
    "queues.kind.home_visit": ("入户走访", "Home visit"),
    "queues.kind.hotline_call": ("热线服务", "Hotline call"),
    "queues.kind.resident_training": ("居民培训", "Resident training"),
    # what an action did
    "queues.done.verification": ("活动已审核通过。", "The activity is verified."),
    "queues.done.hours": ("服务时长已审批通过。", "The hours are approved."),
    "queues.done.corrections": (
        "更正已批准，将计入统计。",
        "The correction is approved and counts.",
    ),
    "queues.done.overdue": ("已处理。", "Done."),
    "queues.refused": ("操作未成功：", "Not done:"),
    "queues.refused.duties": (
        "按职责分离规定，您不能审核或审批自己录入、提交的记录，也不能审批本人或本队伍的时长。",
        "Separation of duties: you may not verify or approve what you recorded or proposed, "
        "nor your own or your team's hours.",
    ),
    "queues.refused.role": ("您的角色无权进行此操作。", "Your role may not do this."),
    "queues.refused.scope": (
        "此记录不在您的管辖范围内（不是您所在的社工站或地区）。",
        "This record lies outside your scope (not your station or region).",
    ),
    "queues.refused.closed": (
        "该记录所在月份的数据已锁定，不能再修改；如需更正，请按更正流程提交，由市级或省级审批。",
        "The record's month is closed; propose a correction for a city or province "
        "official to approve.",
    ),
    "queues.refused.gone": (
        "未找到此记录，可能已被他人处理。请刷新页面。",
        "Not found: someone may have dealt with it already. Reload the page.",
    ),
    "queues.refused.conflict": (
        "此记录的状态已经变化（可能已被他人处理），请刷新页面后再试。",
        "The record changed meanwhile (someone may have dealt with it); reload and retry.",
    ),
    "queues.refused.invalid": (
        "操作未通过校验，请刷新页面后重试。",
        "The service refused the request; reload and retry.",
    ),
    "queues.refused.unavailable": (
        "服务暂不可用，请稍后再试。",
        "The service is unavailable; please retry shortly.",
    ),
}
