"""tune-broken-example: importing its plugin module fails, as with a missing dependency."""
