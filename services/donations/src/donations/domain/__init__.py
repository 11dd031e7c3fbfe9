"""Pure rules of the donations service: commands in, events and new state out, no I/O. One
module per sub-domain: donors, funds and pledges, gifts, allocations (and allocation plans),
disbursements, reversing entries, reconciliation and partner feeds."""

from donations.domain.allocations import PlannedAllocation, allocate, allocate_plan
from donations.domain.disbursements import disburse
from donations.domain.donors import (
    Donor,
    Encrypt,
    Person,
    donor_facts,
    organisation_name,
    register_donor,
)
from donations.domain.funds import (
    Allocation,
    Disbursement,
    Entry,
    Fund,
    Gift,
    GiftIn,
    check_pledge_target,
    make_pledge,
    programme_region,
)
from donations.domain.gifts import gift_fund, gift_region, receive_on_pledge
from donations.domain.reconciliation import (
    PARTNER_KINDS,
    FundCheck,
    Reconciler,
    Reconciliation,
    Totals,
    check_fund,
    entry_totals,
    fold,
    fund_totals,
    has_partner_feed,
)
from donations.domain.reversals import reverse

__all__ = [
    "PARTNER_KINDS",
    "Allocation",
    "Disbursement",
    "Donor",
    "Encrypt",
    "Entry",
    "Fund",
    "FundCheck",
    "Gift",
    "GiftIn",
    "Person",
    "PlannedAllocation",
    "Reconciler",
    "Reconciliation",
    "Totals",
    "allocate",
    "allocate_plan",
    "check_fund",
    "check_pledge_target",
    "disburse",
    "donor_facts",
    "entry_totals",
    "fold",
    "fund_totals",
    "gift_fund",
    "gift_region",
    "has_partner_feed",
    "make_pledge",
    "organisation_name",
    "programme_region",
    "receive_on_pledge",
    "register_donor",
    "reverse",
]
