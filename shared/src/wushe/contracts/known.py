"""What a service knows of the registry's stations and programmes, from the registry's
events (`wushe.refcopy` keeps the copy): the one definition every consuming service checks
its references against, never a call to the registry."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from wushe.errors import Conflict, DomainError


class KnownStation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    station_id: str
    region_code: str
    status: str
    rooms: list[str] = []

    @property
    def place(self) -> dict[str, str]:
        """Where a record made at this station lies: its station id and region code."""
        return {"station_id": self.station_id, "region_code": self.region_code}


class KnownProgramme(BaseModel):
    model_config = ConfigDict(extra="ignore")

    programme_id: str
    scope_regions: list[str] = []
    start_date: date
    end_date: date
    enrolled: list[str] = []
    counts_backbones: bool = False


def check_station(
    station: KnownStation | None, station_id: str, field: str = "station_id"
) -> KnownStation:
    """A station that exists (as far as the registry's events say) and is not closed."""
    if station is None:
        raise DomainError(field, f"unknown station {station_id} (not known from registry events)")
    if station.status == "closed":
        raise Conflict(field, f"{station_id} is closed")
    return station
