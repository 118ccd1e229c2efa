//! The flow demultiplexer, host side: the software parser (the gateware's
//! specification and the model's), the decision the model makes with it,
//! the cuckoo table manager the control plane keeps in step with the
//! hardware tables, the user's filters, and the control plane that installs
//! them.

pub mod decide;
pub mod filters;
pub mod parse;
pub mod steering;
pub mod table;
