//! Service auto scaling as a pure calculator: target tracking and step scaling policies as
//! Application Auto Scaling documents them for ECS services, fed with metric values and a
//! logical time the caller supplies. Nothing here knows about ECS state: a [`Scaler`] keeps a
//! policy's memory (streaks of breaching data points, the last scaling activities) and
//! [`Scaler::observe`] returns the new desired count and why.
//!
//! Sources (Application Auto Scaling User Guide):
//! - "Target tracking scaling policies": capacity is adjusted in proportion to how far the
//!   metric is from the target; scale-out is fast, scale-in gradual; `DisableScaleIn`; the
//!   scale-out cooldown lets further scale-outs through while it runs (the capacity it added
//!   counts toward the next one) and the scale-in cooldown blocks scale-in, not scale-out.
//! - "Step scaling policies": step adjustments relative to the alarm threshold (lower bound
//!   inclusive, upper bound exclusive), `ChangeInCapacity` / `PercentChangeInCapacity` /
//!   `ExactCapacity`, `MinAdjustmentMagnitude`, the cooldown during which a further scale-out
//!   only adds the difference and scale-in waits.
//! - min/max capacity of the scalable target bound every result.
//!
//! Choices where the guide gives no figure (`[inferred]`): target tracking's alarms fire after
//! 3 consecutive data points above the target (scale out) and 15 consecutive data points
//! below 90 % of it (scale in), the alarms AWS creates for an ECS service; the proportional
//! capacity is rounded up (never under-provision); percent changes round toward zero, with
//! |change| < 1 rounded away from zero, as EC2 Auto Scaling documents.

/// The bounds of the scalable target (`MinCapacity`, `MaxCapacity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// `MinCapacity`.
    pub min: i64,
    /// `MaxCapacity`.
    pub max: i64,
}

impl Bounds {
    fn clamp(self, n: i64) -> i64 {
        n.max(self.min).min(self.max.max(self.min))
    }
}

/// A target tracking policy (`TargetTrackingScalingPolicyConfiguration`).
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTracking {
    /// `TargetValue`, e.g. 50.0 for 50 % average CPU.
    pub target_value: f64,
    /// `ScaleOutCooldown`, seconds (default 300 for ECS).
    pub scale_out_cooldown: i64,
    /// `ScaleInCooldown`, seconds (default 300 for ECS).
    pub scale_in_cooldown: i64,
    /// `DisableScaleIn`.
    pub disable_scale_in: bool,
    /// Consecutive data points above the target before scaling out (3).
    pub scale_out_points: u32,
    /// Consecutive data points below `scale_in_ratio` × target before scaling in (15).
    pub scale_in_points: u32,
    /// The low alarm's threshold as a fraction of the target (0.9).
    pub scale_in_ratio: f64,
}

impl TargetTracking {
    /// A policy with ECS's defaults around `target_value`.
    pub fn new(target_value: f64) -> Self {
        TargetTracking {
            target_value,
            scale_out_cooldown: 300,
            scale_in_cooldown: 300,
            disable_scale_in: false,
            scale_out_points: 3,
            scale_in_points: 15,
            scale_in_ratio: 0.9,
        }
    }
}

/// How a step adjustment changes capacity (`AdjustmentType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdjustmentType {
    /// Add the adjustment (negative removes).
    ChangeInCapacity,
    /// Add the adjustment as a percentage of the current capacity.
    PercentChangeInCapacity,
    /// Set the capacity to the adjustment.
    ExactCapacity,
}

/// When the step policy's alarm is in ALARM (`ComparisonOperator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// metric ≥ threshold.
    GreaterThanOrEqual,
    /// metric > threshold.
    GreaterThan,
    /// metric < threshold.
    LessThan,
    /// metric ≤ threshold.
    LessThanOrEqual,
}

impl Comparison {
    fn holds(self, metric: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqual => metric >= threshold,
            Comparison::GreaterThan => metric > threshold,
            Comparison::LessThan => metric < threshold,
            Comparison::LessThanOrEqual => metric <= threshold,
        }
    }
}

/// One step (`StepAdjustment`): applies when `lower ≤ metric − threshold < upper`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// `MetricIntervalLowerBound` (none = −∞).
    pub lower: Option<f64>,
    /// `MetricIntervalUpperBound` (none = +∞).
    pub upper: Option<f64>,
    /// `ScalingAdjustment`.
    pub adjustment: i64,
}

/// A step scaling policy with its alarm.
#[derive(Clone, Debug, PartialEq)]
pub struct StepScaling {
    /// The alarm's threshold.
    pub threshold: f64,
    /// The alarm's comparison.
    pub comparison: Comparison,
    /// Consecutive breaching data points before the alarm fires (`EvaluationPeriods`).
    pub evaluation_points: u32,
    /// `AdjustmentType`.
    pub adjustment_type: AdjustmentType,
    /// `StepAdjustments`.
    pub steps: Vec<Step>,
    /// `Cooldown`, seconds.
    pub cooldown: i64,
    /// `MinAdjustmentMagnitude` (PercentChangeInCapacity only).
    pub min_adjustment_magnitude: Option<i64>,
}

/// A scaling policy.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// Target tracking.
    TargetTracking(TargetTracking),
    /// Step scaling.
    StepScaling(StepScaling),
}

/// Why [`Scaler::observe`] decided what it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Capacity went up.
    ScaleOut,
    /// Capacity went down.
    ScaleIn,
    /// The metric does not breach (or not for enough data points yet).
    NoBreach,
    /// A scale-in was due but a cooldown is in effect.
    Cooldown,
    /// A scale-in was due but the policy disables scale-in.
    ScaleInDisabled,
    /// A change was due but the bounds (or the previous scale-out) already give it.
    AtBound,
    /// The current capacity was outside the bounds and was brought back in.
    OutOfBounds,
}

/// What [`Scaler::observe`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// The new desired count.
    pub desired: i64,
    /// Why.
    pub reason: Reason,
    /// A human-readable explanation.
    pub message: String,
}

/// One policy with its memory between data points.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaler {
    policy: Policy,
    bounds: Bounds,
    high_streak: u32,
    low_streak: u32,
    /// `(time, capacity before, capacity after)` of the last scale-out.
    last_out: Option<(i64, i64, i64)>,
    last_in: Option<i64>,
}

fn round_percent(current: i64, percent: i64) -> i64 {
    let change = current as f64 * percent as f64 / 100.0;
    if change > 0.0 && change < 1.0 {
        1
    } else if change < 0.0 && change > -1.0 {
        -1
    } else {
        change.trunc() as i64
    }
}

impl Scaler {
    /// A scaler for `policy` on a target with `bounds`.
    pub fn new(policy: Policy, bounds: Bounds) -> Self {
        Scaler {
            policy,
            bounds,
            high_streak: 0,
            low_streak: 0,
            last_out: None,
            last_in: None,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Feeds one data point (`metric` at logical time `now`, seconds) with the service's
    /// current desired count; returns the new desired count and why. Data points are expected
    /// one per metric period (a minute for ECS service metrics), in time order.
    pub fn observe(&mut self, now: i64, current: i64, metric: f64) -> Decision {
        if self.bounds.clamp(current) != current {
            let desired = self.bounds.clamp(current);
            return Decision {
                desired,
                reason: Reason::OutOfBounds,
                message: format!(
                    "capacity {current} is outside [{}, {}]: set to {desired}",
                    self.bounds.min, self.bounds.max
                ),
            };
        }
        match self.policy.clone() {
            Policy::TargetTracking(p) => self.target_tracking(&p, now, current, metric),
            Policy::StepScaling(p) => self.step_scaling(&p, now, current, metric),
        }
    }

    fn keep(current: i64, reason: Reason, message: String) -> Decision {
        Decision {
            desired: current,
            reason,
            message,
        }
    }

    fn target_tracking(
        &mut self,
        p: &TargetTracking,
        now: i64,
        current: i64,
        metric: f64,
    ) -> Decision {
        let target = if p.target_value > 0.0 {
            p.target_value
        } else {
            f64::MIN_POSITIVE
        };
        if metric > target {
            self.high_streak += 1;
        } else {
            self.high_streak = 0;
        }
        if metric < target * p.scale_in_ratio {
            self.low_streak += 1;
        } else {
            self.low_streak = 0;
        }
        // The proportional capacity: current × metric / target, rounded up.
        let proportional = ((current.max(1) as f64) * metric / target).ceil() as i64;
        if self.high_streak >= p.scale_out_points.max(1) {
            let wanted = self.bounds.clamp(proportional.max(current));
            // During the scale-out cooldown the capacity the last scale-out added counts: only
            // a larger result scales out again.
            let floor = match self.last_out {
                Some((at, _, after)) if now - at < p.scale_out_cooldown => after,
                _ => current,
            };
            if wanted > floor.max(current) {
                self.last_out = Some((now, current, wanted));
                self.high_streak = 0;
                return Decision {
                    desired: wanted,
                    reason: Reason::ScaleOut,
                    message: format!(
                        "metric {metric:.1} above target {target} for {} data points: {current} → {wanted}",
                        p.scale_out_points
                    ),
                };
            }
            return Self::keep(
                current,
                Reason::AtBound,
                format!("metric {metric:.1} above target but capacity {current} already covers it"),
            );
        }
        if self.low_streak >= p.scale_in_points.max(1) {
            if p.disable_scale_in {
                return Self::keep(
                    current,
                    Reason::ScaleInDisabled,
                    "scale-in is disabled for this policy".to_string(),
                );
            }
            let in_cooldown = self
                .last_in
                .is_some_and(|at| now - at < p.scale_in_cooldown)
                || self
                    .last_out
                    .is_some_and(|(at, _, _)| now - at < p.scale_out_cooldown);
            if in_cooldown {
                return Self::keep(
                    current,
                    Reason::Cooldown,
                    "scale-in waits for the cooldown".to_string(),
                );
            }
            let wanted = self.bounds.clamp(proportional.min(current));
            if wanted < current {
                self.last_in = Some(now);
                self.low_streak = 0;
                return Decision {
                    desired: wanted,
                    reason: Reason::ScaleIn,
                    message: format!(
                        "metric {metric:.1} below {}% of target {target} for {} data points: {current} → {wanted}",
                        (p.scale_in_ratio * 100.0).round(),
                        p.scale_in_points
                    ),
                };
            }
            return Self::keep(
                current,
                Reason::AtBound,
                format!("capacity {current} is already at the minimum"),
            );
        }
        Self::keep(
            current,
            Reason::NoBreach,
            format!("metric {metric:.1} does not breach target {target} long enough"),
        )
    }

    fn step_scaling(&mut self, p: &StepScaling, now: i64, current: i64, metric: f64) -> Decision {
        if p.comparison.holds(metric, p.threshold) {
            self.high_streak += 1;
        } else {
            self.high_streak = 0;
            return Self::keep(
                current,
                Reason::NoBreach,
                format!(
                    "metric {metric:.1} does not breach threshold {}",
                    p.threshold
                ),
            );
        }
        if self.high_streak < p.evaluation_points.max(1) {
            return Self::keep(
                current,
                Reason::NoBreach,
                format!(
                    "{} of {} breaching data points",
                    self.high_streak, p.evaluation_points
                ),
            );
        }
        let delta = metric - p.threshold;
        let Some(step) = p
            .steps
            .iter()
            .find(|s| s.lower.is_none_or(|l| delta >= l) && s.upper.is_none_or(|u| delta < u))
        else {
            return Self::keep(
                current,
                Reason::NoBreach,
                format!("no step covers metric − threshold = {delta}"),
            );
        };
        let cooling = self.last_out.filter(|(at, _, _)| now - at < p.cooldown);
        let in_cooldown = cooling.is_some() || self.last_in.is_some_and(|at| now - at < p.cooldown);
        // During a scale-out's cooldown a further scale-out applies from the capacity the
        // initiating one started from: only the difference is added.
        let base = cooling.map(|(_, before, _)| before).unwrap_or(current);
        let raw = match p.adjustment_type {
            AdjustmentType::ChangeInCapacity => base + step.adjustment,
            AdjustmentType::ExactCapacity => step.adjustment,
            AdjustmentType::PercentChangeInCapacity => {
                let mut change = round_percent(base, step.adjustment);
                if let Some(min) = p.min_adjustment_magnitude
                    && change.abs() < min
                {
                    change = min * change.signum();
                }
                base + change
            }
        };
        let wanted = self.bounds.clamp(raw);
        if wanted > current {
            let before = cooling.map(|(_, before, _)| before).unwrap_or(current);
            self.last_out = Some((cooling.map(|(at, _, _)| at).unwrap_or(now), before, wanted));
            return Decision {
                desired: wanted,
                reason: Reason::ScaleOut,
                message: format!(
                    "step {:+} at metric {metric:.1}: {current} → {wanted}",
                    step.adjustment
                ),
            };
        }
        if wanted < current {
            if in_cooldown {
                return Self::keep(
                    current,
                    Reason::Cooldown,
                    "scale-in waits for the cooldown".to_string(),
                );
            }
            self.last_in = Some(now);
            return Decision {
                desired: wanted,
                reason: Reason::ScaleIn,
                message: format!(
                    "step {:+} at metric {metric:.1}: {current} → {wanted}",
                    step.adjustment
                ),
            };
        }
        Self::keep(
            current,
            Reason::AtBound,
            format!("step {:+} leaves capacity at {current}", step.adjustment),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(min: i64, max: i64) -> Bounds {
        Bounds { min, max }
    }

    // Target tracking: "the policy adds capacity in proportion to the metric's distance from
    // the target" (AAS guide, target tracking): 4 tasks at 80 % with target 40 → 8.
    #[test]
    fn target_tracking_scales_out_proportionally_after_three_points() {
        let mut s = Scaler::new(
            Policy::TargetTracking(TargetTracking::new(40.0)),
            bounds(1, 20),
        );
        assert_eq!(s.observe(0, 4, 80.0).reason, Reason::NoBreach);
        assert_eq!(s.observe(60, 4, 80.0).reason, Reason::NoBreach);
        let d = s.observe(120, 4, 80.0);
        assert_eq!((d.desired, d.reason), (8, Reason::ScaleOut));
    }

    // MaxCapacity bounds every result (AAS guide, "Scalable targets").
    #[test]
    fn target_tracking_respects_max_capacity() {
        let mut p = TargetTracking::new(10.0);
        p.scale_out_points = 1;
        let mut s = Scaler::new(Policy::TargetTracking(p), bounds(1, 5));
        assert_eq!(s.observe(0, 2, 100.0).desired, 5);
    }

    // Scale-in is gradual: 15 points below 90 % of target, and blocked while a cooldown runs.
    #[test]
    fn target_tracking_scales_in_conservatively() {
        let mut p = TargetTracking::new(50.0);
        p.scale_out_points = 1;
        let mut s = Scaler::new(Policy::TargetTracking(p), bounds(1, 20));
        assert_eq!(s.observe(0, 4, 100.0).desired, 8);
        for minute in 1..15 {
            assert_eq!(s.observe(minute * 60, 8, 10.0).reason, Reason::NoBreach);
        }
        let d = s.observe(15 * 60, 8, 10.0);
        assert_eq!((d.desired, d.reason), (2, Reason::ScaleIn));
        // 46 % is below the target but above 90 % of it (45 %): no scale-in.
        let mut s = Scaler::new(
            Policy::TargetTracking(TargetTracking::new(50.0)),
            bounds(1, 20),
        );
        for minute in 0..30 {
            assert_eq!(s.observe(minute * 60, 4, 46.0).desired, 4);
        }
    }

    // DisableScaleIn: "the target tracking policy won't remove capacity".
    #[test]
    fn target_tracking_disable_scale_in() {
        let mut p = TargetTracking::new(50.0);
        p.disable_scale_in = true;
        p.scale_in_points = 1;
        let mut s = Scaler::new(Policy::TargetTracking(p), bounds(1, 20));
        let d = s.observe(0, 6, 5.0);
        assert_eq!((d.desired, d.reason), (6, Reason::ScaleInDisabled));
    }

    // Scale-out cooldown: capacity added by the initiating scale-out counts toward the next.
    #[test]
    fn target_tracking_scale_out_cooldown_counts_added_capacity() {
        let mut p = TargetTracking::new(50.0);
        p.scale_out_points = 1;
        let mut s = Scaler::new(Policy::TargetTracking(p), bounds(1, 50));
        assert_eq!(s.observe(0, 4, 100.0).desired, 8);
        // The service has not caught up yet (current still 4): 4 × 100 / 50 = 8 is not more.
        assert_eq!(s.observe(60, 4, 100.0).reason, Reason::AtBound);
        // A bigger breach scales out further even in the cooldown.
        assert_eq!(s.observe(120, 8, 100.0).desired, 16);
    }

    // Step scaling: bounds relative to the threshold, lower inclusive / upper exclusive
    // (AAS guide, "Step adjustments").
    #[test]
    fn step_scaling_picks_the_step() {
        let policy = StepScaling {
            threshold: 50.0,
            comparison: Comparison::GreaterThanOrEqual,
            evaluation_points: 1,
            adjustment_type: AdjustmentType::ChangeInCapacity,
            steps: vec![
                Step {
                    lower: Some(0.0),
                    upper: Some(10.0),
                    adjustment: 1,
                },
                Step {
                    lower: Some(10.0),
                    upper: Some(20.0),
                    adjustment: 2,
                },
                Step {
                    lower: Some(20.0),
                    upper: None,
                    adjustment: 3,
                },
            ],
            cooldown: 300,
            min_adjustment_magnitude: None,
        };
        let mut s = Scaler::new(Policy::StepScaling(policy.clone()), bounds(1, 20));
        assert_eq!(s.observe(0, 4, 55.0).desired, 5);
        let mut s = Scaler::new(Policy::StepScaling(policy.clone()), bounds(1, 20));
        assert_eq!(s.observe(0, 4, 60.0).desired, 6);
        let mut s = Scaler::new(Policy::StepScaling(policy), bounds(1, 20));
        assert_eq!(s.observe(0, 4, 49.0).reason, Reason::NoBreach);
        assert_eq!(s.observe(60, 4, 55.0).desired, 5);
        // During the cooldown a larger step only adds the difference: 4 + 3 = 7, not 5 + 3.
        assert_eq!(s.observe(120, 5, 75.0).desired, 7);
        assert_eq!(s.observe(180, 7, 75.0).reason, Reason::AtBound);
    }

    // PercentChangeInCapacity rounding and MinAdjustmentMagnitude (EC2 Auto Scaling's rules).
    #[test]
    fn step_scaling_percent_rounding() {
        assert_eq!(round_percent(3, 10), 1);
        assert_eq!(round_percent(127, 10), 12);
        assert_eq!(round_percent(3, -10), -1);
        assert_eq!(round_percent(67, -10), -6);
        let policy = StepScaling {
            threshold: 20.0,
            comparison: Comparison::LessThan,
            evaluation_points: 2,
            adjustment_type: AdjustmentType::PercentChangeInCapacity,
            steps: vec![Step {
                lower: None,
                upper: Some(0.0),
                adjustment: -10,
            }],
            cooldown: 300,
            min_adjustment_magnitude: Some(2),
        };
        let mut s = Scaler::new(Policy::StepScaling(policy), bounds(1, 20));
        assert_eq!(s.observe(0, 10, 5.0).reason, Reason::NoBreach);
        let d = s.observe(60, 10, 5.0);
        assert_eq!((d.desired, d.reason), (8, Reason::ScaleIn));
        // Scale-in waits for the cooldown.
        assert_eq!(s.observe(120, 8, 5.0).reason, Reason::Cooldown);
        assert_eq!(s.observe(420, 8, 5.0).desired, 6);
    }

    // MinCapacity bounds a scale-in; ExactCapacity sets the count.
    #[test]
    fn step_scaling_exact_and_min_capacity() {
        let policy = StepScaling {
            threshold: 10.0,
            comparison: Comparison::LessThanOrEqual,
            evaluation_points: 1,
            adjustment_type: AdjustmentType::ExactCapacity,
            steps: vec![Step {
                lower: None,
                upper: None,
                adjustment: 0,
            }],
            cooldown: 0,
            min_adjustment_magnitude: None,
        };
        let mut s = Scaler::new(Policy::StepScaling(policy), bounds(2, 20));
        assert_eq!(s.observe(0, 9, 1.0).desired, 2);
    }
}
