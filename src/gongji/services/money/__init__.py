"""Money outside settlement: premiums, credit reversal, notices of money moved."""
