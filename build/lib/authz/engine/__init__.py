"""Pure decision logic: the policy, the in-memory index, decisions and write planning.
Nothing here imports grpc or sqlalchemy."""
