"""Volunteers, backbones, service minutes and points: per station and day."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from projector.engine import Bucket, Delta
from wushe import clock
from wushe.contracts import Envelope, Event
from wushe.contracts.events import volunteers as vol


class VolunteerRollup:
    """Volunteers (and elder volunteers) affiliated per station, backbone designations
    (骨干, per programme or general), approved service minutes and attendances at the
    organising station on the service day, points awarded and redeemed."""

    name = "volunteers"
    topics: tuple[str, ...] = (vol.VOLUNTEERS, vol.HOURS, vol.POINTS)
    counters: ClassVar[dict[str, str]] = {
        "volunteers": "volunteers (志愿者) affiliated with the station: registered, moved in, "
        "less moved away and deregistered",
        "elder_volunteers": "of those, elder volunteers (老年志愿者, 60 or older when they "
        "registered)",
        "backbone_designations": "backbone designations (骨干), per programme or general: "
        "promotions less demotions (a volunteer may hold several)",
        "service_minutes": "approved service minutes (服务时长) at the organising station on "
        "the service day, corrections included",
        "attendances_approved": "attendances approved (签到签退, 审核通过)",
        "points_awarded": "points awarded (积分), less those a correction took back",
        "points_redeemed": "points redeemed (积分兑换, 公益超市)",
    }

    def deltas(self, event: Event, envelope: Envelope) -> Iterable[tuple[Bucket, Delta]]:
        if isinstance(
            event, vol.VolunteerRegistered | vol.VolunteerMoved | vol.VolunteerDeregistered
        ):
            one = {"volunteers": 1, **({"elder_volunteers": 1} if event.elder_volunteer else {})}
            away = {k: -n for k, n in one.items()}
            if isinstance(event, vol.VolunteerRegistered):
                yield Bucket.at(event, event.registered_on), one
            elif isinstance(event, vol.VolunteerMoved):
                yield Bucket(event.from_station_id, event.from_region_code, event.moved_on), away
                yield Bucket.at(event, event.moved_on), one
            else:
                yield Bucket.at(event, event.deregistered_on), away
        elif isinstance(event, vol.BackbonePromoted):
            yield Bucket.at(event, event.promoted_on), {"backbone_designations": 1}
        elif isinstance(event, vol.BackboneDemoted):
            yield Bucket.at(event, event.demoted_on), {"backbone_designations": -1}
        elif isinstance(event, vol.AttendanceApproved):
            delta = {"service_minutes": event.minutes, "attendances_approved": 1}
            yield Bucket.at(event.service, event.service_date), delta
        elif isinstance(event, vol.AttendanceCorrected):
            if minutes := event.minutes - event.previous_minutes:
                yield Bucket.at(event.service, event.service_date), {"service_minutes": minutes}
        elif isinstance(event, vol.PointsAwarded):
            yield Bucket.at(event, clock.today(envelope.time)), {"points_awarded": event.points}
        elif isinstance(event, vol.PointsRedeemed):
            yield Bucket.at(event, event.redeemed_on), {"points_redeemed": event.points}
