//! Khidmat: one program for a province's civic services.
//!
//! - [`platform`]: the kernel every service shares (store, identity, audit, jobs, i18n, …)
//! - [`reports`]: citizens' reports to departments (Open311 GeoReport v2)
//! - [`directory`]: places and providers, reviews, suggestions (Open Referral HSDS 3.0)
//! - [`benefits`]: funds, applications, the ballot, disbursement and its ledger
//! - [`cases`]: multi-department workflows as data, checked and drawn
//! - [`opendata`]: datasets and the DataStore, as the CKAN Action API
//! - [`campaigns`]: verified organisations' projects and pledges, under a policy per jurisdiction
//! - [`channels`]: SMS and USSD gateways in, SMS out
//! - [`admin`]: department administration, hand-over readiness, the deployment's health
//! - [`web`]: the citizen and staff web pages
//! - [`packs`]: departments' services as data
//! - [`app`]: the HTTP application; [`cli`]: the `khidmat` command

// The derives in `khidmat_derive` name this crate's items by its name, inside it as outside.
extern crate self as khidmat;

pub mod admin;
pub mod app;
pub mod benefits;
pub mod campaigns;
pub mod cases;
pub mod channels;
pub mod cli;
pub mod content;
pub mod directory;
pub mod opendata;
pub mod packs;
pub mod platform;
pub mod programme;
pub mod quiz;
pub mod registers;
pub mod reports;
pub mod web;

pub use app::{AppState, Application};
pub use platform::config::Config;
