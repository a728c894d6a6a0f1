//! The integration suite: one binary, the real server on a free port, every store test on SQLite
//! and on a PostgreSQL cluster the harness starts itself.

mod helpers;
mod pg;

mod admin;
mod alerts;
mod authz;
mod benefits;
mod browser;
mod campaigns;
mod cases;
mod channels;
mod cli;
mod crash;
mod dcat;
mod directory;
mod faults;
mod followup;
mod fuzz;
mod kernel;
mod layers;
mod monitoring;
mod nodes;
mod open311;
mod opendata;
mod programme;
mod push;
mod quiz;
mod registers;
mod security;
mod staff;
mod upgrade;
mod voice;
mod web;
mod whatsapp;
