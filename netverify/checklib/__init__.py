"""What checks share: the catalog, verdict helpers, the online-endpoint walk, DNS judging."""
