//! The counters: per pod, what its `/metrics` would show (cumulative since
//! the pod appeared); per version, a short history of request rates and
//! profiles from which any recent window can be measured exactly.

use super::WindowStats;
use super::cluster::{HashLabel, IstioLabels, PodKey, VersionGroup};
use super::latency::{Latency, MILLIS_BOUNDS, SECONDS_BOUNDS, Shape, histogram_quantile};
use crate::behaviour::VersionProfile;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How much history windows can reach back, simulated seconds.
pub const HISTORY_SECONDS: f64 = 30.0 * 60.0;
/// The longest stretch one profile lookup covers when a tick spans a jump
/// of the clock, simulated seconds: a version that turns bad mid-jump is
/// seen within this.
pub const STEP_SECONDS: f64 = 5.0;

/// Requests of one response code, with their latency histogram (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CodeMeter {
    pub count: f64,
    pub sum_ms: f64,
    pub buckets: [f64; MILLIS_BOUNDS.len()],
}

impl Default for CodeMeter {
    fn default() -> Self {
        CodeMeter {
            count: 0.0,
            sum_ms: 0.0,
            buckets: [0.0; MILLIS_BOUNDS.len()],
        }
    }
}

impl CodeMeter {
    fn add(&mut self, requests: f64, shape: &Shape) {
        self.count += requests;
        self.sum_ms += requests * shape.mean_ms;
        for (b, f) in self.buckets.iter_mut().zip(&shape.millis) {
            *b += requests * f;
        }
    }

    fn add_meter(&mut self, other: &CodeMeter) {
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        for (b, o) in self.buckets.iter_mut().zip(&other.buckets) {
            *b += o;
        }
    }
}

/// The requests a mesh proxy reported for a pod under one set of destination labels.
#[derive(Debug, Clone)]
pub struct IstioMeter {
    pub labels: IstioLabels,
    /// Index 0: response code 200; 1: 500.
    pub by_code: [CodeMeter; 2],
}

/// What one pod has served.
#[derive(Debug, Clone)]
pub struct PodMeter {
    pub namespace: String,
    pub pod: String,
    pub app: String,
    pub hash_label: HashLabel,
    pub hash: String,
    pub ok: f64,
    pub errors: f64,
    pub sum_seconds: f64,
    /// Requests at or below each of [`SECONDS_BOUNDS`].
    pub buckets: [f64; SECONDS_BOUNDS.len()],
    /// One entry per label set the pod was reported under (a canary that
    /// becomes the stable changes destination service).
    pub istio: Vec<IstioMeter>,
}

/// What each pod of a version adds over one tick.
#[derive(Debug, Clone, Default)]
struct PodDelta {
    ok: f64,
    errors: f64,
    sum_seconds: f64,
    buckets: [f64; SECONDS_BOUNDS.len()],
    istio: [CodeMeter; 2],
}

impl PodDelta {
    fn add(&mut self, requests: f64, error_ratio: f64, shape: &Shape, istio: bool) {
        let errors = requests * error_ratio;
        self.ok += requests - errors;
        self.errors += errors;
        self.sum_seconds += requests * shape.mean_ms / 1000.0;
        for (b, f) in self.buckets.iter_mut().zip(&shape.seconds) {
            *b += requests * f;
        }
        if istio {
            self.istio[0].add(requests - errors, shape);
            self.istio[1].add(errors, shape);
        }
    }
}

impl PodMeter {
    fn add(&mut self, delta: &PodDelta, istio: Option<&IstioLabels>) {
        self.ok += delta.ok;
        self.errors += delta.errors;
        self.sum_seconds += delta.sum_seconds;
        for (b, d) in self.buckets.iter_mut().zip(&delta.buckets) {
            *b += d;
        }
        let Some(labels) = istio else {
            return;
        };
        let meter = match self.istio.iter().position(|m| &m.labels == labels) {
            Some(i) => &mut self.istio[i],
            None => {
                self.istio.push(IstioMeter {
                    labels: labels.clone(),
                    by_code: Default::default(),
                });
                self.istio.last_mut().expect("just pushed")
            }
        };
        for (m, d) in meter.by_code.iter_mut().zip(&delta.istio) {
            m.add_meter(d);
        }
    }
}

/// A stretch of simulated time over which a version's traffic was steady.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    from: f64,
    to: f64,
    /// Requests per simulated second over all the version's pods.
    rate: f64,
    error_ratio: f64,
    latency: Latency,
}

impl Segment {
    fn continues(&self, from: f64, rate: f64, error_ratio: f64, latency: Latency) -> bool {
        self.to == from
            && self.rate == rate
            && self.error_ratio == error_ratio
            && self.latency == latency
    }
}

#[derive(Default)]
pub struct Meters {
    /// Simulated seconds (since the traffic model started) of the last tick.
    last: f64,
    slot_of: BTreeMap<PodKey, usize>,
    pods: Vec<Option<PodMeter>>,
    free: Vec<usize>,
    /// namespace → pod-template hash → steady stretches, oldest first.
    versions: HashMap<String, HashMap<String, VecDeque<Segment>>>,
    /// Bucket fractions per (p50, p95), as profiles repeat.
    shapes: HashMap<(u64, u64), Shape>,
}

/// The version a tick measures: its pods and what each receives.
pub struct Served<'a> {
    pub namespace: &'a str,
    pub group: &'a VersionGroup,
    /// Requests per simulated second for the whole version.
    pub rate: f64,
}

impl Meters {
    /// Forget pods that are gone: their series leave the exposition, as a
    /// real scrape loses a deleted pod.
    pub fn forget(&mut self, gone: &[PodKey]) {
        for key in gone {
            if let Some(slot) = self.slot_of.remove(key) {
                self.pods[slot] = None;
                self.free.push(slot);
            }
        }
    }

    /// Where the meter of each pod of `group` is, made on first sight.
    pub fn resolve(&mut self, namespace: &str, group: &mut VersionGroup) {
        group.slots = group
            .pods
            .iter()
            .map(|pod| {
                let key = (namespace.to_string(), pod.clone());
                if let Some(slot) = self.slot_of.get(&key) {
                    return *slot;
                }
                let meter = PodMeter {
                    namespace: namespace.to_string(),
                    pod: pod.clone(),
                    app: group.app_label.clone(),
                    hash_label: group.hash_label,
                    hash: group.hash.clone(),
                    ok: 0.0,
                    errors: 0.0,
                    sum_seconds: 0.0,
                    buckets: [0.0; SECONDS_BOUNDS.len()],
                    istio: Vec::new(),
                };
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.pods[slot] = Some(meter);
                        slot
                    }
                    None => {
                        self.pods.push(Some(meter));
                        self.pods.len() - 1
                    }
                };
                self.slot_of.insert(key, slot);
                slot
            })
            .collect();
    }

    fn shape(&mut self, latency: Latency, profile: &VersionProfile) -> Shape {
        *self
            .shapes
            .entry((profile.p50_ms.to_bits(), profile.p95_ms.to_bits()))
            .or_insert_with(|| latency.shape())
    }

    /// Count what `served` versions received from the last tick to `now`,
    /// with each version's profile looked up at most [`STEP_SECONDS`] apart.
    pub fn advance(
        &mut self,
        now: f64,
        served: &[Served<'_>],
        profile_at: impl Fn(&str, f64) -> VersionProfile,
    ) {
        let start = self.last;
        if now <= start {
            return;
        }
        let steps = steps(start, now);
        for s in served {
            if s.group.slots.is_empty() {
                continue;
            }
            let per_pod = s.rate / s.group.slots.len() as f64;
            let mut delta = PodDelta::default();
            for &(from, to) in &steps {
                let profile = profile_at(&s.group.image, from);
                let error_ratio = profile.error_ratio.clamp(0.0, 1.0);
                let latency = Latency::fit(profile.p50_ms, profile.p95_ms);
                let shape = self.shape(latency, &profile);
                delta.add(
                    per_pod * (to - from),
                    error_ratio,
                    &shape,
                    s.group.istio.is_some(),
                );
                if s.rate > 0.0 {
                    self.record(
                        s.namespace,
                        &s.group.hash,
                        from,
                        to,
                        s.rate,
                        error_ratio,
                        latency,
                    );
                }
            }
            for slot in &s.group.slots {
                if let Some(meter) = self.pods[*slot].as_mut() {
                    meter.add(&delta, s.group.istio.as_ref());
                }
            }
        }
        self.last = now;
        self.trim(now - HISTORY_SECONDS);
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        namespace: &str,
        hash: &str,
        from: f64,
        to: f64,
        rate: f64,
        error_ratio: f64,
        latency: Latency,
    ) {
        let by_hash = match self.versions.get_mut(namespace) {
            Some(v) => v,
            None => self.versions.entry(namespace.to_string()).or_default(),
        };
        let segments = match by_hash.get_mut(hash) {
            Some(s) => s,
            None => by_hash.entry(hash.to_string()).or_default(),
        };
        match segments.back_mut() {
            Some(last) if last.continues(from, rate, error_ratio, latency) => last.to = to,
            _ => segments.push_back(Segment {
                from,
                to,
                rate,
                error_ratio,
                latency,
            }),
        }
    }

    fn trim(&mut self, before: f64) {
        self.versions.retain(|_, by_hash| {
            by_hash.retain(|_, segments| {
                while segments.front().is_some_and(|s| s.to < before) {
                    segments.pop_front();
                }
                !segments.is_empty()
            });
            !by_hash.is_empty()
        });
    }

    /// Requests of one version from `from` to `now`. Versions still serving
    /// at the last tick are taken to go on as they were up to `now`.
    pub fn window(&self, namespace: &str, hash: &str, from: f64, now: f64) -> Option<WindowStats> {
        let segments = self.versions.get(namespace)?.get(hash)?;
        let mut requests = 0.0;
        let mut errors = 0.0;
        let mut buckets = [0.0; SECONDS_BOUNDS.len()];
        for s in segments {
            let end = if s.to >= self.last {
                now.max(s.to)
            } else {
                s.to
            };
            let span = end.min(now) - s.from.max(from);
            if span <= 0.0 {
                continue;
            }
            let n = s.rate * span;
            requests += n;
            errors += n * s.error_ratio;
            for (b, bound) in buckets.iter_mut().zip(SECONDS_BOUNDS) {
                *b += n * s.latency.cdf(bound * 1000.0);
            }
        }
        if requests <= 0.0 {
            return None;
        }
        let bounds_ms = SECONDS_BOUNDS.map(|s| s * 1000.0);
        let quantile =
            |q| histogram_quantile(q, &bounds_ms, &buckets, requests).unwrap_or(f64::NAN);
        Some(WindowStats {
            requests,
            errors,
            p50_ms: quantile(0.5),
            p95_ms: quantile(0.95),
            p99_ms: quantile(0.99),
        })
    }

    /// Meters of the pods that exist, by namespace and pod name.
    pub fn pods(&self) -> impl Iterator<Item = &PodMeter> {
        self.slot_of
            .values()
            .filter_map(|slot| self.pods[*slot].as_ref())
    }
}

/// [from, to) cut at multiples of [`STEP_SECONDS`]; a stretch older than the
/// history stays whole, as only its totals matter.
fn steps(from: f64, to: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let mut at = from;
    let kept_from = to - HISTORY_SECONDS;
    if kept_from > at {
        out.push((at, kept_from));
        at = kept_from;
    }
    while at < to {
        let next = ((at / STEP_SECONDS).floor() + 1.0) * STEP_SECONDS;
        let next = next.min(to);
        out.push((at, next));
        at = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_cut_at_step_boundaries_and_keep_old_stretches_whole() {
        assert_eq!(steps(1.0, 3.0), vec![(1.0, 3.0)]);
        assert_eq!(
            steps(3.0, 12.0),
            vec![(3.0, 5.0), (5.0, 10.0), (10.0, 12.0)]
        );
        let long = steps(0.0, HISTORY_SECONDS + 100.0);
        assert_eq!(long[0], (0.0, 100.0));
        assert_eq!(long.len(), 1 + (HISTORY_SECONDS / STEP_SECONDS) as usize);
    }
}
