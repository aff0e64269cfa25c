//! envpolicy: a KRM function that applies an environment's policies (replicas, resources,
//! anti-affinity, log level, autoscaling) to the workloads of a kpt package or kustomize build.
//!
//! Layers, each knowing nothing of the next: `wire` (ResourceList / plugin stream) → `inventory`
//! (typed views) → `policies` (pure, one file each) → `edit` (apply) → `report` (results).

pub mod config;
pub mod edit;
pub mod inventory;
pub mod parallel;
pub mod policies;
pub mod report;
pub mod resource;
pub mod run;
pub mod standalone;
pub mod wire;
pub mod yaml;
