//! The rollout strategies, one step per reconcile: RollingUpdate (bounded
//! by maxSurge and maxUnavailable) and Recreate; and writing the result.

use super::{Sync, by_creation, deployments, is_active, spec_replicas};
use crate::api_error::ApiError;
use crate::controllers::workload::{DEPLOYMENT_REVISION, counts, name_of};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::sync::Arc;

impl Sync<'_> {
    /// Paused, or only resized: size the ReplicaSets, never start a new one.
    pub(super) fn sync(&mut self) -> Result<(), ApiError> {
        let (new_rs, old) = self.new_and_old(false)?;
        self.scale(new_rs.as_ref(), &old)?;
        if self.spec.paused {
            self.cleanup(&old)?;
        }
        let all: Vec<Arc<Value>> = old.into_iter().chain(new_rs.clone()).collect();
        self.status = self.calculate_status(&all, new_rs.as_ref());
        Ok(())
    }

    /// One step of a rolling update: surge the new ReplicaSet up, or take
    /// old pods down as far as availability allows.
    fn rollout_rolling(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let (new_rs, old) = self.new_and_old(true)?;
        let Some(new_rs) = new_rs else {
            return Ok(None);
        };
        let all: Vec<Arc<Value>> = old.iter().cloned().chain([new_rs.clone()]).collect();
        if self.reconcile_new_replica_set(&old, &new_rs)?
            || self.reconcile_old_replica_sets(&all, &old, &new_rs)?
        {
            return Ok(self.sync_rollout_status(&all, Some(&new_rs)));
        }
        if self.complete(&self.status) {
            self.cleanup(&old)?;
        }
        Ok(self.sync_rollout_status(&all, Some(&new_rs)))
    }

    /// Grow the new ReplicaSet as far as the surge allows (or shrink it to
    /// the Deployment's size); whether it changed.
    fn reconcile_new_replica_set(
        &self,
        old: &[Arc<Value>],
        new_rs: &Arc<Value>,
    ) -> Result<bool, ApiError> {
        let current = spec_replicas(new_rs);
        let to = if current > self.spec.replicas {
            self.spec.replicas
        } else {
            self.new_rs_new_replicas(old, current)
        };
        Ok(self.scale_and_record(new_rs, to)?.0)
    }

    /// Shrink old ReplicaSets, oldest first, while enough pods stay
    /// available (counting new pods not yet available as missing); whether any shrank.
    fn reconcile_old_replica_sets(
        &self,
        all: &[Arc<Value>],
        old: &[Arc<Value>],
        new_rs: &Arc<Value>,
    ) -> Result<bool, ApiError> {
        let mut old: Vec<Arc<Value>> = old.iter().filter(|rs| is_active(rs)).cloned().collect();
        if old.is_empty() {
            return Ok(false);
        }
        let all_pods: i64 = all.iter().map(|rs| spec_replicas(rs)).sum();
        let min_available = self.spec.replicas - self.spec.max_unavailable;
        let new_unavailable = spec_replicas(new_rs) - counts(new_rs).available;
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        old.sort_by(|a, b| by_creation(a, b));
        // Unavailable old pods go first: removing them costs no availability.
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let c = counts(rs);
            if c.desired == 0 || c.desired == c.available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(c.desired - c.available);
            *rs = self.scale_and_record(rs, c.desired - down)?.1;
            cleaned += down;
        }
        let available: i64 = old
            .iter()
            .chain([new_rs])
            .map(|rs| counts(rs).available)
            .sum();
        let mut scaled_down = 0;
        let budget = available - min_available;
        for rs in &old {
            if scaled_down >= budget {
                break;
            }
            let size = spec_replicas(rs);
            if size == 0 {
                continue;
            }
            let down = size.min(budget - scaled_down);
            self.scale_and_record(rs, size - down)?;
            scaled_down += down;
        }
        Ok(cleaned + scaled_down > 0)
    }

    /// Recreate: every old pod gone before the new ReplicaSet starts.
    fn rollout_recreate(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        let (new_rs, old) = self.new_and_old(false)?;
        let all: Vec<Arc<Value>> = old.iter().cloned().chain(new_rs.clone()).collect();
        let mut scaled = false;
        for rs in old.iter().filter(|rs| is_active(rs)) {
            scaled |= self.scale_and_record(rs, 0)?.0;
        }
        let old_pods_running = old.iter().any(|rs| counts(rs).replicas > 0);
        if scaled || old_pods_running {
            return Ok(self.sync_rollout_status(&all, new_rs.as_ref()));
        }
        let (new_rs, old) = match new_rs {
            Some(rs) => (Some(rs), old),
            None => self.new_and_old(true)?,
        };
        if let Some(rs) = &new_rs {
            self.scale_and_record(rs, self.spec.replicas)?;
        }
        if self.complete(&self.status) {
            self.cleanup(&old)?;
        }
        let all: Vec<Arc<Value>> = old.into_iter().chain(new_rs.clone()).collect();
        Ok(self.sync_rollout_status(&all, new_rs.as_ref()))
    }

    pub(super) fn run(&mut self) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.check_paused_conditions();
        if self.spec.paused || self.is_scaling_event()? {
            self.sync()?;
            return Ok(None);
        }
        if self.spec.rolling {
            self.rollout_rolling()
        } else {
            self.rollout_recreate()
        }
    }

    /// Write the status and revision annotation if they changed.
    pub(super) fn write(self, original: &Value) {
        let status = self.status.to_json();
        let revision = self.d["metadata"]["annotations"][DEPLOYMENT_REVISION].clone();
        if original["status"] == status
            && original["metadata"]["annotations"][DEPLOYMENT_REVISION] == revision
        {
            return;
        }
        let result = self
            .store
            .modify(deployments(), self.namespace(), name_of(&self.d), |d| {
                d["status"] = status;
                if !revision.is_null() {
                    d["metadata"]["annotations"][DEPLOYMENT_REVISION] = revision;
                }
            });
        if let Err(e) = result {
            tracing::debug!("writing the status of deployment {}: {e}", name_of(&self.d));
        }
    }
}
