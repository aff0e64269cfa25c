//! envpolicy: a KRM function that applies an environment's policies (replicas, resources,
//! anti-affinity, log level, autoscaling) to the workloads of a kpt package or kustomize build.

pub mod yaml;
