"""Pure rules of the training service, one module per sub-domain: commands in, events and
new state out (`sessions` with courses, `supervision`, `evaluations`)."""
