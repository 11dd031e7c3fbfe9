"""Pure rules of the activities service, one module per sub-domain: commands in, events and
new state out (`activities`, `visits`, `client_files`)."""
