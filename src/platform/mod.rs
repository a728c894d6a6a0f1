//! The platform kernel: every mechanism the services share, each exactly once.

pub mod audit;
pub mod backup;
pub mod cache;
pub mod citizen;
pub mod config;
pub mod db;
pub mod error;
pub mod files;
pub mod form;
pub mod geo;
pub mod i18n;
pub mod idempotency;
pub mod identity;
pub mod impact;
pub mod jobs;
pub mod mail;
pub mod metrics;
pub mod money;
pub mod org;
pub mod otp;
pub mod personal;
pub mod ratelimit;
pub mod settings;
pub mod shutdown;
pub mod text;
pub mod xml;
