//! Namespaced, expiring values with single-flight creation (placeholder).
