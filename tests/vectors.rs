//! Placeholder: replaced by the vector suite.
