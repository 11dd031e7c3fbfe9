"""Service-record certificates (志愿服务记录证明): issued for a period of approved
service, signed by the service; verified by anyone who holds one."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel

from volunteers.api.deps import Svc
from volunteers.domain import certificates as rules
from volunteers.domain.certificates import Certificate
from wushe.auth import CurrentPrincipal
from wushe.web import Strict, today

router = APIRouter(tags=["certificates"])


class CertificateIn(Strict):
    period_start: date
    period_end: date


class VerifyOut(BaseModel):
    genuine: bool
    certificate_id: str | None
    reason: str


@router.post("/volunteers/{volunteer_id}/certificates", response_model=Certificate, status_code=201)
async def issue_certificate(
    volunteer_id: str, body: CertificateIn, svc: Svc, who: CurrentPrincipal
) -> Certificate:
    """A service-record certificate (志愿服务记录证明) for a period: the approved
    attendances, signed by the service. The same record issued twice is one certificate."""
    v, _ = await svc.volunteers.load(who, volunteer_id)
    ledger, _ = await svc.store.ledger(volunteer_id)
    cert, issued = rules.issue(v, ledger, **dict(body), issued_on=today(), sign=svc.sign)
    # The id derives from the record: an existing certificate is this very one (also when
    # issued concurrently), answered as it stands.
    await svc.certificates.create(who, cert.certificate_id, lambda: (cert, issued), same=True)
    return cert


@router.post("/certificates/verify", response_model=VerifyOut)
async def verify_certificate(body: Certificate, svc: Svc) -> VerifyOut:
    """Public: anyone holding a certificate can ask whether it is genuine and unaltered
    (no token needed; the answer reveals nothing the certificate does not show)."""
    signature = svc.sign(rules.canonical(body.record))
    # Looked up only once the signature holds: a forged certificate costs no read.
    issued = (
        await svc.store.certificate(rules.certificate_id(body.record))
        if signature == body.signature
        else None
    )
    genuine, reason = rules.verdict(body, signature=signature, issued=issued)
    return VerifyOut(
        genuine=genuine, certificate_id=body.certificate_id if genuine else None, reason=reason
    )
