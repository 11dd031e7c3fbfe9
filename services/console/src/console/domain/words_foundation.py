"""The words of the foundation pages (key -> (zh-CN, en))."""

from __future__ import annotations

WORDS: dict[str, tuple[str, str]] = {
    "foundation.title": ("资金与成效", "Money and outcomes"),
    "foundation.lead": (
        "本基金会的认捐与捐赠、拨付到各社工站的资金，以及这些资金支持开展的活动和服务人次。"
        "此页只显示本基金会自己的资金。",
        "Your foundation's pledges and gifts, the money allocated to each station, and the "
        "activities and person-times it funded. Only your own money is shown.",
    ),
    "foundation.statement": ("下载资金对账单（CSV）", "Download the statement (CSV)"),
    "foundation.statement.hint": (
        "包含每一笔认捐、到账、拨付、支出和冲销，金额单位为元，可用 Excel 打开。",
        "Every pledge, gift, allocation, disbursement and reversal, in yuan; opens in Excel.",
    ),
    "foundation.summary": ("资金概况", "Summary"),
    "foundation.pledged": ("认捐总额", "Pledged"),
    "foundation.received": ("已到账", "Received"),
    "foundation.allocated": ("已拨付到社工站", "Allocated to stations"),
    "foundation.disbursed": ("社工站已支出", "Spent by stations"),
    "foundation.available": ("待拨付", "Not yet allocated"),
    "foundation.outstanding": ("认捐未到账", "Pledged, not yet received"),
    "foundation.stations": ("资助社工站", "Stations funded"),
    "foundation.stations.n": ("{n} 个", "{n}"),
    "foundation.outcomes": ("资助活动 / 服务人次", "Activities / person-times funded"),
    "foundation.flow": ("资金流向：从资金到成效", "From money to outcomes"),
    "foundation.flow.lead.city": (
        "从本基金会到各笔资金，再按城市汇总拨付到社工站的资金，以及这些资金支持的活动和服务人次。"
        "各社工站明细见下表。",
        "From your foundation to each fund, the money allocated to stations summed by city, "
        "and the activities and person-times it funded. Each station is in the tables below.",
    ),
    "foundation.flow.lead.station": (
        "从本基金会到各笔资金，再到各社工站，以及这些资金支持的活动和服务人次。",
        "From your foundation to each fund, to each station, and the activities and "
        "person-times it funded.",
    ),
    "foundation.flow.chart": (
        "资金流向桑基图：数据与下方“资金流向明细”表一致。",
        "Sankey diagram of the money; the same figures are in the table below.",
    ),
    "foundation.flow.table": ("资金流向明细", "The flows"),
    "foundation.flow.from": ("从", "From"),
    "foundation.flow.to": ("到", "To"),
    "foundation.flow.amount": ("金额", "Amount"),
    "foundation.no_outcomes": (
        "暂无注明由本基金会资金支持的活动记录。社工站登记活动开展情况时注明资金来源后，"
        "活动场次和服务人次将显示在这里。",
        "No activity names your money yet. Once stations record activities with their "
        "source of funds, the activities and person-times show here.",
    ),
    "foundation.lineage_unavailable": (
        "成效数据暂时无法读取，资金数据不受影响。请稍后刷新。",
        "Outcomes cannot be read just now; the money is unaffected. Reload shortly.",
    ),
    "foundation.none": ("本基金会暂无资金记录。", "No funds recorded for your foundation."),
    "foundation.node.funder": ("本基金会", "Your foundation"),
    "foundation.node.unallocated": ("待拨付（已到账未分配）", "Received, not yet allocated"),
    "foundation.node.outcome": (
        "资助活动 {activities} 场 · 服务 {person_times} 人次",
        "{activities} activities · {person_times} person-times",
    ),
    "foundation.node.no_outcome": ("尚无活动记录", "No activity recorded yet"),
    "foundation.place_unknown": ("地区未知", "Unknown place"),
    "foundation.kind.pledge": ("认捐", "Pledge"),
    "foundation.kind.gift": ("捐赠", "Gift"),
    "foundation.funds": ("资金（认捐与捐赠）", "Funds (pledges and gifts)"),
    "foundation.col.fund": ("资金", "Fund"),
    "foundation.col.period": ("认捐期限", "Period"),
    "foundation.col.pledged": ("认捐金额", "Pledged"),
    "foundation.col.received": ("已到账", "Received"),
    "foundation.col.allocated": ("已拨付", "Allocated"),
    "foundation.col.disbursed": ("已支出", "Spent"),
    "foundation.col.available": ("待拨付", "Available"),
    "foundation.col.outstanding": ("未到账", "Outstanding"),
    "foundation.col.overdue": ("逾期未到账", "Overdue"),
    "foundation.gifts": ("到账记录", "Gifts received"),
    "foundation.col.received_on": ("到账日期", "Received on"),
    "foundation.col.gift_kind": ("形式", "Kind"),
    "foundation.col.amount": ("金额", "Amount"),
    "foundation.col.receipt": ("收据编号", "Receipt"),
    "foundation.col.reversed": ("已冲销", "Reversed"),
    "foundation.gift.cash": ("资金", "Cash"),
    "foundation.gift.in_kind": ("物资", "In kind"),
    "foundation.by_city": ("按城市汇总的拨付", "Allocations by city"),
    "foundation.col.city": ("城市", "City"),
    "foundation.col.county": ("区县", "County"),
    "foundation.col.station": ("社工站", "Station"),
    "foundation.col.stations": ("社工站数", "Stations"),
    "foundation.col.activities": ("资助活动（场）", "Activities"),
    "foundation.col.person_times": ("服务人次", "Person-times"),
    "foundation.col.total": ("合计", "Total"),
    "foundation.by_station": ("按社工站的拨付与成效", "Allocations and outcomes by station"),
    "foundation.by_station.show": ("展开全部 {n} 个社工站", "Show all {n} stations"),
    "foundation.station_names": (
        "社工站以所在乡镇（街道）命名。",
        "Stations are named after their township or street.",
    ),
    "foundation.as_of": ("数据截至", "Figures as of"),
}
