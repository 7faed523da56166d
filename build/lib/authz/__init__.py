"""authz: a sidecar that stores hierarchical role bindings and answers Casbin RBAC checks."""

__version__ = "0.1.0"
