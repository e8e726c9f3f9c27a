"""One module per tab, each with a ``build(ctx)`` that creates the tab's components and events."""
