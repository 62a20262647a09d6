//! The contract test suite every Store implementation must pass.
