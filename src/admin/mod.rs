//! Admin pages: partner approval and suspension. Later issues add couriers, payouts, disputes.

pub mod orders;
pub mod pages;
