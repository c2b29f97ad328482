//! DELIVR-CM partner portal: the library behind the `delivr` binary (the tests link it).

pub mod accounts;
pub mod actors;
pub mod admin;
pub mod analytics;
pub mod api;
pub mod api_keys;
pub mod app;
pub mod config;
pub mod couriers;
pub mod db;
pub mod demo;
pub mod events;
pub mod geo;
pub mod i18n;
pub mod invoices;
pub mod notifications;
pub mod orders;
pub mod partners;
pub mod pricing;
pub mod public;
pub mod security;
pub mod text;
pub mod tracking;
pub mod wallet;
pub mod web;
pub mod webhooks;
