//! File formats exchanged with the city's other systems.

pub mod receivables_csv;
pub mod spreadsheet;
