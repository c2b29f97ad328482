//! Admin pages: partner approval and suspension, orders and their PINs, couriers and their app tokens.

pub mod couriers;
pub mod orders;
pub mod pages;
