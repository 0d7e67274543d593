//! Placeholder: the actix-web HTTP suite.
