"""The service: the Authorizer (one index, one policy, one storage, one revision) and the policy reload."""
