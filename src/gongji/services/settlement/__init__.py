"""Settlement: pre-settle, settle, reverse, accumulators, e-voucher, reconciliation, gateway output."""
