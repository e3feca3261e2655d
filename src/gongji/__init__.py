"""gongji — family mutual-aid (家庭共济) medical-insurance accounts."""

__version__ = "0.1.0"
