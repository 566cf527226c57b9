"""Azure's own vocabulary: clouds, resource ids, DNS names per cloud, RBAC actions, address helpers."""
