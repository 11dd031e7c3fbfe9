"""Donations service: donors, pledges, gifts, allocations, disbursements, partner stream."""
