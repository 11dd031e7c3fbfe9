"""Provincial station ledgers (台账): CSV, NDJSON or XLSX rows into validated station rows,
with a per-row report. Column names may be English field names or the usual Chinese
headers of a provincial ledger."""

from __future__ import annotations

from typing import Any

from wushe import imports

# Chinese ledger headers -> field names.
ALIASES = {
    "乡镇街道代码": "region_code",
    "统计用区划代码": "region_code",
    "区划代码": "region_code",
    "社工站名称": "name",
    "名称": "name",
    "承接机构": "operator_org_id",
    "承接机构编号": "operator_org_id",
    "合同开始": "contract_start",
    "合同开始日期": "contract_start",
    "合同结束": "contract_end",
    "合同结束日期": "contract_end",
    "功能": "functions",
    "三站合一": "functions",
    "热线": "hotline",
    "服务热线": "hotline",
    "状态": "status",
}
FUNCTION_ALIASES = {
    "未成年人保护": "minors_protection",
    "儿童之家": "minors_protection",
    "养老服务": "elder_service",
    "为老服务": "elder_service",
}
STATUS_ALIASES = {
    "筹建": "planned",
    "运营": "operating",
    "运营中": "operating",
    "暂停": "suspended",
    "关闭": "closed",
}


def normalise(rec: dict[str, Any]) -> dict[str, Any]:
    """Chinese headers and spellings of a provincial ledger -> the station row's fields."""
    out: dict[str, Any] = {}
    for key, value in imports.clean(rec).items():
        name = ALIASES.get(key, key)
        if isinstance(value, int | float) and name == "region_code":
            value = str(int(value))
        if name == "functions" and isinstance(value, str):
            parts = [p.strip() for p in value.replace("，", ";").replace(",", ";").split(";")]
            value = [FUNCTION_ALIASES.get(p, p) for p in parts if p]
        if name == "status" and isinstance(value, str):
            value = STATUS_ALIASES.get(value, value)
        if (
            name == "operator_org_id"
            and isinstance(value, str)
            and len(value) == 18
            and not value.startswith("org-")
        ):
            value = f"org-{value.upper()}"  # a credit code names its organisation
        if name == "hotline" and isinstance(value, int | float):
            value = str(int(value))
        out[name] = value
    return out
