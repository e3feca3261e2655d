"""Pure domain core: rules, money, allocation. No I/O beyond reading bundled policy files."""
