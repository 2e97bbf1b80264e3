//! API defaulting. (stub)
