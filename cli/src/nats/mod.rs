//! NATS: the shared lookup cache in a JetStream key-value bucket ([`kv`]) and the
//! work-queue mode, `logenrich nats` ([`queue`]).
pub mod kv;
pub mod queue;
