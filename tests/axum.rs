//! Placeholder: the axum HTTP suite.
