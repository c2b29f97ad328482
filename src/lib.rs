//! DELIVR-CM partner portal: the library behind the `delivr` binary (the tests link it).

pub mod accounts;
pub mod admin;
pub mod app;
pub mod config;
pub mod db;
pub mod demo;
pub mod geo;
pub mod i18n;
pub mod partners;
pub mod security;
pub mod text;
pub mod web;
