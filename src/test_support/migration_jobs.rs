//! Labelled migration Jobs of the blue-green fixture: the expand and
//! backfill Jobs, and a completed contract.

pub(crate) const JOBS: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: payments-add-display-name-expand
  namespace: shop
  creationTimestamp: "2026-11-23T13:50:00Z"
  labels: {cutover.dev/migration: add_display_name, cutover.dev/phase: expand, cutover.dev/release: payments}
status:
  startTime: "2026-11-23T13:50:01Z"
  completionTime: "2026-11-23T13:55:00Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: payments-add-display-name-backfill
  namespace: shop
  creationTimestamp: "2026-11-23T13:56:00Z"
  labels: {cutover.dev/migration: add_display_name, cutover.dev/phase: backfill, cutover.dev/release: payments}
status:
  startTime: "2026-11-23T13:56:01Z"
  active: 1
---
apiVersion: batch/v1
kind: Job
metadata:
  name: other-team-expand
  namespace: shop
  creationTimestamp: "2026-11-23T13:57:00Z"
  labels: {cutover.dev/migration: rename_sku, cutover.dev/phase: expand, cutover.dev/release: inventory}
status:
  failed: 1
  conditions: [{type: Failed, status: "True", lastTransitionTime: "2026-11-23T13:58:00Z"}]
"#;

pub(crate) const CONTRACT: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: payments-add-display-name-contract
  namespace: shop
  creationTimestamp: "2026-11-23T14:01:00Z"
  labels: {cutover.dev/migration: add_display_name, cutover.dev/phase: contract, cutover.dev/release: payments}
status:
  startTime: "2026-11-23T14:01:00Z"
  completionTime: "2026-11-23T14:02:00Z"
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
"#;
