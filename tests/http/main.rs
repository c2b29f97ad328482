//! Integration tests: the real HTTP server against SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod helpers;

mod integrators;
mod invoices;
mod messages;

mod accounts;
mod actors;
mod admin;
mod analytics;
mod api;
mod audit;
mod bookings;
mod branding;
mod budgets;
mod cli;
mod crash;
mod disputes;
mod notifications;
mod operations;
mod orders;
mod pwa;
mod recovery;
mod restart;
mod scale;
mod security;
mod shell;
mod team;
mod two_factor;
mod wallet;
mod webhooks;
