//! The tests' handle on the example apps' session settings.
//!
//! Each example app (`examples/axum_app.rs`, `examples/actix_app.rs`) is a whole file a reader
//! can copy; the tests include one of them as `app` and build it with the same settings its
//! `main` uses, through `demo::configure`. This file only points there, so the settings exist
//! once per app and the tests cannot drift from them.

#![allow(unused_imports, reason = "each test uses part of this module")]

pub use super::app::configure;
