"""migready: will these XenServer VMs migrate? Policy-as-code readiness checks."""

__version__ = "0.1.0"
