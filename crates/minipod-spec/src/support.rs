//! What minipod does with Kubernetes fields it does not implement. (stub)
