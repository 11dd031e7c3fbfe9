"""One module per producing context (registry, activities, volunteers, donations, training),
each registering its event contracts into `wushe.contracts.REGISTRY` when imported."""
