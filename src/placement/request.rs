//! What to place: the demand of one task, how many, in which group, under which constraints and
//! strategy rules, with which seed.

use super::cql;
use crate::state::{MAX_GPUS_PER_INSTANCE, MAX_GROUP_LEN, MAX_RESERVED_PORTS};

/// The most strategy rules one request may carry (PL-STRATEGY-LIMIT).
pub const MAX_STRATEGY_RULES: usize = 5;

/// The most placement constraints one request may carry, task definition's and request's
/// together (PL-CONSTRAINT-LIMIT).
pub const MAX_CONSTRAINTS: usize = 10;

/// The most tasks one plan may place. RunTask allows 10 (PL-RUNTASK-COUNT) and a service at most
/// 5,000 tasks; the engine accepts the larger figure so services can place in one plan.
pub const MAX_TASKS_PER_PLAN: u32 = 5_000;

/// What one task needs from the instance it lands on (RES-*), in the engine's own small type.
///
/// Built with [`Demand::new`] and the `with_*` setters. The engine never reads AWS model types;
/// the caller (or `Demand::from_task_definition`, once the model exists) computes these numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// CPU units (RES-CPU).
    pub cpu: u32,
    /// MiB of memory (RES-MEMORY).
    pub memory: u32,
    /// Static TCP host ports (RES-PORTS-BY-MODE, RES-PORTS-PROTOCOL).
    pub ports_tcp: Vec<u16>,
    /// Static UDP host ports.
    pub ports_udp: Vec<u16>,
    /// Number of GPUs (RES-GPU).
    pub gpus: u32,
    /// Whether the task needs an ENI attachment (awsvpc, RES-ENI).
    pub eni: bool,
    /// Attributes the instance must carry, with the value when one is required (RES-ATTRIBUTES).
    pub required_attributes: Vec<(String, Option<String>)>,
    /// The Availability Zones of the task's awsvpc subnets; when given, the instance's
    /// `ecs.availability-zone` must be one of them (`LOCATION`, RES-ENI).
    pub availability_zones: Option<Vec<String>>,
}

impl Demand {
    /// Returns the demand of a task needing `cpu` units and `memory` MiB and nothing else.
    #[must_use]
    pub fn new(cpu: u32, memory: u32) -> Demand {
        Demand {
            cpu,
            memory,
            ..Demand::default()
        }
    }

    /// Sets the static TCP host ports.
    #[must_use]
    pub fn with_ports_tcp(mut self, ports: Vec<u16>) -> Demand {
        self.ports_tcp = ports;
        self
    }

    /// Sets the static UDP host ports.
    #[must_use]
    pub fn with_ports_udp(mut self, ports: Vec<u16>) -> Demand {
        self.ports_udp = ports;
        self
    }

    /// Sets the number of GPUs.
    #[must_use]
    pub fn with_gpus(mut self, gpus: u32) -> Demand {
        self.gpus = gpus;
        self
    }

    /// Sets whether the task needs an ENI attachment.
    #[must_use]
    pub fn with_eni(mut self, eni: bool) -> Demand {
        self.eni = eni;
        self
    }

    /// Adds a required attribute (with a required value, or any value when `None`).
    #[must_use]
    pub fn with_required_attribute(
        mut self,
        name: impl Into<String>,
        value: Option<&str>,
    ) -> Demand {
        self.required_attributes
            .push((name.into(), value.map(str::to_owned)));
        self
    }

    /// Restricts the task to instances in these Availability Zones (`LOCATION`).
    #[must_use]
    pub fn with_availability_zones(mut self, zones: Vec<String>) -> Demand {
        self.availability_zones = Some(zones);
        self
    }
}

/// The resource a `binpack` rule packs on (PL-BINPACK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BinpackField {
    /// Remaining CPU units.
    Cpu,
    /// Remaining MiB.
    Memory,
}

/// The field a `spread` rule spreads on (PL-SPREAD).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SpreadField {
    /// `instanceId`: every instance is its own bucket.
    InstanceId,
    /// `host`: the same as `instanceId`.
    Host,
    /// `attribute:<name>`: instances are bucketed by the attribute's value; instances without it
    /// share one "missing" bucket (inferred).
    Attribute(String),
}

/// One placement strategy rule (PL-STRATEGY-VALID).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StrategyRule {
    /// Least remaining of the field first (PL-BINPACK).
    Binpack(BinpackField),
    /// Fewest tasks of the group in the field's bucket first (PL-SPREAD).
    Spread(SpreadField),
    /// A seeded uniform draw among the tied candidates (PL-RANDOM); rules after it never apply.
    Random,
}

impl std::fmt::Display for StrategyRule {
    /// Writes the rule as the `place` example takes it: `binpack:memory`, `spread:instanceId`,
    /// `spread:attribute:ecs.availability-zone`, `random`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StrategyRule::Binpack(BinpackField::Cpu) => f.write_str("binpack:cpu"),
            StrategyRule::Binpack(BinpackField::Memory) => f.write_str("binpack:memory"),
            StrategyRule::Spread(SpreadField::InstanceId) => f.write_str("spread:instanceId"),
            StrategyRule::Spread(SpreadField::Host) => f.write_str("spread:host"),
            StrategyRule::Spread(SpreadField::Attribute(name)) => {
                write!(f, "spread:attribute:{name}")
            }
            StrategyRule::Random => f.write_str("random"),
        }
    }
}

impl std::str::FromStr for StrategyRule {
    type Err = RequestError;

    /// Parses the form [`Display`](std::fmt::Display) writes. Binpack fields are accepted in any
    /// case, as ECS echoes `MEMORY` (PL-STRATEGY-VALID).
    fn from_str(text: &str) -> Result<StrategyRule, RequestError> {
        let invalid = || RequestError::InvalidStrategy(text.to_owned());
        if text == "random" {
            return Ok(StrategyRule::Random);
        }
        let (kind, field) = text.split_once(':').ok_or_else(invalid)?;
        match kind {
            "binpack" if field.eq_ignore_ascii_case("cpu") => {
                Ok(StrategyRule::Binpack(BinpackField::Cpu))
            }
            "binpack" if field.eq_ignore_ascii_case("memory") => {
                Ok(StrategyRule::Binpack(BinpackField::Memory))
            }
            "spread" if field == "instanceId" => Ok(StrategyRule::Spread(SpreadField::InstanceId)),
            "spread" if field == "host" => Ok(StrategyRule::Spread(SpreadField::Host)),
            "spread" => match field.strip_prefix("attribute:") {
                Some(name) if !name.is_empty() => Ok(StrategyRule::Spread(SpreadField::Attribute(
                    name.to_owned(),
                ))),
                _ => Err(invalid()),
            },
            _ => Err(invalid()),
        }
    }
}

/// Returns RunTask's default strategy (PL-DEFAULT-RUNTASK): spread over
/// `attribute:ecs.availability-zone`, then over `instanceId` — the console's "AZ balanced spread"
/// (inferred; ECS documents no API default).
#[must_use]
pub fn default_runtask_strategy() -> Vec<StrategyRule> {
    vec![
        StrategyRule::Spread(SpreadField::Attribute("ecs.availability-zone".to_owned())),
        StrategyRule::Spread(SpreadField::InstanceId),
    ]
}

/// A placement constraint (PL-DISTINCT, PL-MEMBEROF).
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    /// No two tasks of the group on one instance, counting tasks placed earlier in the batch.
    DistinctInstance,
    /// The instance must satisfy the cluster-query-language expression, evaluated at placement
    /// time, with tasks placed earlier in the batch counting for `task:group` and
    /// `runningTasksCount` (CQL-TASK-GROUP).
    MemberOf(cql::Expr),
}

impl Constraint {
    /// Parses `expression` into a `memberOf` constraint.
    ///
    /// # Errors
    ///
    /// [`RequestError::InvalidExpression`] with the parser's message.
    pub fn member_of(expression: &str) -> Result<Constraint, RequestError> {
        cql::parse(expression)
            .map(Constraint::MemberOf)
            .map_err(|error| RequestError::InvalidExpression(error.to_string()))
    }
}

/// A placement request: `count` tasks of one `demand`, in `group`, under `constraints`, ranked by
/// `strategy`.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementRequest {
    /// What each task needs.
    pub demand: Demand,
    /// How many tasks to place, one after another (PL-BATCH); 1 to [`MAX_TASKS_PER_PLAN`].
    pub count: u32,
    /// The task group (PL-GROUP-DEFAULT); spread counts and `distinctInstance` use it.
    pub group: String,
    /// Constraints, all binding; at most [`MAX_CONSTRAINTS`].
    pub constraints: Vec<Constraint>,
    /// Strategy rules in order (PL-MULTI-STRATEGY); at most [`MAX_STRATEGY_RULES`]. Empty means
    /// no ranking: the first fitting instance in registration order (PL-TIEBREAK).
    pub strategy: Vec<StrategyRule>,
    /// The seed of the `random` generator; `None` continues the state's generator
    /// ([`ClusterState::placement_rng`](crate::state::ClusterState::placement_rng)), which
    /// `Plan::apply` then advances.
    pub seed: Option<u64>,
}

impl PlacementRequest {
    /// Returns a request for one task of `demand` in `group`, without constraints, with RunTask's
    /// default strategy ([`default_runtask_strategy`]) and no seed.
    #[must_use]
    pub fn new(demand: Demand, group: impl Into<String>) -> PlacementRequest {
        PlacementRequest {
            demand,
            count: 1,
            group: group.into(),
            constraints: Vec::new(),
            strategy: default_runtask_strategy(),
            seed: None,
        }
    }

    /// Sets how many tasks to place.
    #[must_use]
    pub fn with_count(mut self, count: u32) -> PlacementRequest {
        self.count = count;
        self
    }

    /// Adds a constraint.
    #[must_use]
    pub fn with_constraint(mut self, constraint: Constraint) -> PlacementRequest {
        self.constraints.push(constraint);
        self
    }

    /// Replaces the strategy rules.
    #[must_use]
    pub fn with_strategy(mut self, strategy: Vec<StrategyRule>) -> PlacementRequest {
        self.strategy = strategy;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> PlacementRequest {
        self.seed = Some(seed);
        self
    }

    /// Checks the request's shape; a request that passes can always be planned.
    ///
    /// # Errors
    ///
    /// See [`RequestError`].
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.count == 0 || self.count > MAX_TASKS_PER_PLAN {
            return Err(RequestError::Count {
                count: self.count,
                max: MAX_TASKS_PER_PLAN,
            });
        }
        if self.group.is_empty() || self.group.len() > MAX_GROUP_LEN {
            return Err(RequestError::Group {
                len: self.group.len(),
                max: MAX_GROUP_LEN,
            });
        }
        if self.strategy.len() > MAX_STRATEGY_RULES {
            return Err(RequestError::TooManyStrategyRules {
                rules: self.strategy.len(),
                max: MAX_STRATEGY_RULES,
            });
        }
        if self.constraints.len() > MAX_CONSTRAINTS {
            return Err(RequestError::TooManyConstraints {
                constraints: self.constraints.len(),
                max: MAX_CONSTRAINTS,
            });
        }
        for rule in &self.strategy {
            if let StrategyRule::Spread(SpreadField::Attribute(name)) = rule
                && name.is_empty()
            {
                return Err(RequestError::InvalidStrategy(rule.to_string()));
            }
        }
        for ports in [&self.demand.ports_tcp, &self.demand.ports_udp] {
            if ports.contains(&0) {
                return Err(RequestError::PortZero);
            }
            if ports.len() > MAX_RESERVED_PORTS {
                return Err(RequestError::TooManyPorts {
                    ports: ports.len(),
                    max: MAX_RESERVED_PORTS,
                });
            }
        }
        if self.demand.gpus as usize > MAX_GPUS_PER_INSTANCE {
            return Err(RequestError::TooManyGpus {
                gpus: self.demand.gpus,
                max: MAX_GPUS_PER_INSTANCE,
            });
        }
        Ok(())
    }
}

/// Why a request is malformed. A request that is well formed but cannot be placed is not an
/// error: it yields failures in the [`Plan`](super::Plan).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// `count` is 0 or above the limit.
    #[error("task count {count} must be between 1 and {max}")]
    Count {
        /// The count asked for.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// The group is empty or too long (PL-GROUP-RULES).
    #[error("task group must be 1-{max} characters, got {len}")]
    Group {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Too many strategy rules (PL-STRATEGY-LIMIT).
    #[error("{rules} placement strategy rules exceed the limit of {max}")]
    TooManyStrategyRules {
        /// How many were given.
        rules: usize,
        /// The limit.
        max: usize,
    },
    /// Too many constraints (PL-CONSTRAINT-LIMIT).
    #[error("{constraints} placement constraints exceed the limit of {max}")]
    TooManyConstraints {
        /// How many were given.
        constraints: usize,
        /// The limit.
        max: usize,
    },
    /// A strategy rule that is not `binpack:cpu|memory`, `spread:instanceId|host|attribute:NAME`
    /// or `random` (PL-STRATEGY-VALID).
    #[error("invalid placement strategy {0:?}")]
    InvalidStrategy(String),
    /// A `memberOf` expression that does not parse (CQL-ERRORS).
    #[error("invalid memberOf expression: {0}")]
    InvalidExpression(String),
    /// A static port of 0: dynamic ports are not part of a demand.
    #[error("a static host port must be 1-65535; dynamic ports are not part of the demand")]
    PortZero,
    /// More static ports of one protocol than any instance may hold (RES-PORTS-CAP).
    #[error("{ports} static ports of one protocol exceed the limit of {max} per instance")]
    TooManyPorts {
        /// How many were given.
        ports: usize,
        /// The limit.
        max: usize,
    },
    /// More GPUs than any instance may register.
    #[error("{gpus} GPUs exceed the limit of {max} per instance")]
    TooManyGpus {
        /// How many were asked for.
        gpus: u32,
        /// The limit.
        max: usize,
    },
}
