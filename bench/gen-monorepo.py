#!/usr/bin/env python3
"""Generate a synthetic monorepo for bench/check-monorepo.sh.

usage: gen-monorepo.py DIR SERVICES FILES_PER_SERVICE [--profile dense|realistic]

Services rotate through seven languages (Rust, Go, Python, JavaScript, TypeScript, Java, .NET).
Most are instrumented correctly (SDK, W3C propagator, instrumented server and client, batch
export); some miss the W3C propagator (none set in Rust/Go/Java, where the default is a no-op;
`OTEL_PROPAGATORS=b3multi` in Python/Node/.NET, where W3C is the default), use a synchronous
exporter, put PII in span attributes, or have no SDK at all, so every tool has something to find. Each service
has a manifest, an entry point with the OpenTelemetry setup, handler files up to
FILES_PER_SERVICE, a Dockerfile, and a Kubernetes manifest under deploy/.

Profiles: `dense` (the default, the worst case for a source pre-filter) makes every file after
the entry point a handler that records span attributes and makes an outbound call; `realistic`
keeps five handlers per service (the same defects) and fills the rest with domain code in the
service's language (models and repositories, validation and error types: structs/classes,
functions, imports, comments, strings) that holds no tracing or HTTP-client signal.
"""

import argparse
import os

LANGS = ["rust", "go", "python", "javascript", "typescript", "java", "dotnet"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def flags(i):
    return {
        "no_sdk": i % 17 == 5,
        "no_propagator": i % 5 == 1,
        "simple": i % 11 == 3,
        "pii": i % 13 == 4,
    }


# ---------------------------------------------------------------------------------------------
# The realistic profile: a handful of handlers per service (outbound calls, span attributes),
# the rest domain code without tracing or HTTP-client signals.
PROFILE = "dense"
REALISTIC_HANDLERS = 5


def handlers(total):
    """How many of a service's `total` handler-or-domain files are handlers."""
    return total if PROFILE == "dense" else min(total, REALISTIC_HANDLERS)


DOMAIN = {
    "rust": [
        """//! Orders {k}: the order model and its in-memory repository.
use std::collections::HashMap;

/// Lifecycle of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status{k} {{
    Pending,
    Paid,
    Shipped,
    Cancelled,
}}

/// One order line.
#[derive(Debug, Clone)]
pub struct Line{k} {{
    pub sku: String,
    pub quantity: u32,
    pub unit_cents: u64,
}}

/// An order placed by a customer.
#[derive(Debug, Clone)]
pub struct Order{k} {{
    pub id: u64,
    pub customer_id: u64,
    pub status: Status{k},
    pub lines: Vec<Line{k}>,
}}

impl Order{k} {{
    /// Total in cents, discounts excluded.
    pub fn total_cents(&self) -> u64 {{
        self.lines.iter().map(|l| l.unit_cents * u64::from(l.quantity)).sum()
    }}

    pub fn can_cancel(&self) -> bool {{
        matches!(self.status, Status{k}::Pending | Status{k}::Paid)
    }}
}}

/// Orders kept in memory, keyed by id.
#[derive(Default)]
pub struct Repository{k} {{
    orders: HashMap<u64, Order{k}>,
    next_id: u64,
}}

impl Repository{k} {{
    pub fn insert(&mut self, mut order: Order{k}) -> u64 {{
        self.next_id += 1;
        order.id = self.next_id;
        self.orders.insert(order.id, order);
        self.next_id
    }}

    pub fn find(&self, id: u64) -> Option<&Order{k}> {{
        self.orders.get(&id)
    }}

    pub fn by_customer(&self, customer_id: u64) -> Vec<&Order{k}> {{
        let mut found: Vec<&Order{k}> = self.orders.values().filter(|o| o.customer_id == customer_id).collect();
        found.sort_by_key(|o| o.id);
        found
    }}
}}
""",
        """//! Validation {k}: checks on customer input before it reaches the repository.
use std::fmt;

/// Why an input was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum ValidationError{k} {{
    Empty(&'static str),
    TooLong {{ field: &'static str, max: usize }},
    BadQuantity(u32),
}}

impl fmt::Display for ValidationError{k} {{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{
        match self {{
            Self::Empty(field) => write!(f, "{{field}} must not be empty"),
            Self::TooLong {{ field, max }} => write!(f, "{{field}} is longer than {{max}} characters"),
            Self::BadQuantity(q) => write!(f, "quantity {{q}} is out of range (1..=999)"),
        }}
    }}
}}

impl std::error::Error for ValidationError{k} {{}}

/// A customer's display name: trimmed, 1 to 80 characters.
pub fn display_name_{k}(raw: &str) -> Result<String, ValidationError{k}> {{
    let name = raw.trim();
    if name.is_empty() {{
        return Err(ValidationError{k}::Empty("name"));
    }}
    if name.chars().count() > 80 {{
        return Err(ValidationError{k}::TooLong {{ field: "name", max: 80 }});
    }}
    Ok(name.to_string())
}}

pub fn quantity_{k}(q: u32) -> Result<u32, ValidationError{k}> {{
    if (1..=999).contains(&q) {{ Ok(q) }} else {{ Err(ValidationError{k}::BadQuantity(q)) }}
}}

/// Round half up to whole cents.
pub fn round_cents_{k}(value: f64) -> u64 {{
    (value * 100.0 + 0.5).floor() as u64
}}
""",
    ],
    "go": [
        """package main

import (
\t"errors"
\t"sort"
\t"sync"
)

// Order{k} is an order placed by a customer.
type Order{k} struct {{
\tID         int64
\tCustomerID int64
\tStatus     string
\tLines      []Line{k}
}}

// Line{k} is one order line.
type Line{k} struct {{
\tSKU       string
\tQuantity  int
\tUnitCents int64
}}

// ErrNotFound{k} is returned when no order has the id.
var ErrNotFound{k} = errors.New("order not found")

// Total returns the order total in cents.
func (o Order{k}) Total() int64 {{
\tvar total int64
\tfor _, l := range o.Lines {{
\t\ttotal += l.UnitCents * int64(l.Quantity)
\t}}
\treturn total
}}

// Repository{k} keeps orders in memory.
type Repository{k} struct {{
\tmu     sync.Mutex
\torders map[int64]Order{k}
\tnext   int64
}}

// Insert stores an order and returns its new id.
func (r *Repository{k}) Insert(o Order{k}) int64 {{
\tr.mu.Lock()
\tdefer r.mu.Unlock()
\tif r.orders == nil {{
\t\tr.orders = map[int64]Order{k}{{}}
\t}}
\tr.next++
\to.ID = r.next
\tr.orders[o.ID] = o
\treturn o.ID
}}

// Find returns the order with the id.
func (r *Repository{k}) Find(id int64) (Order{k}, error) {{
\tr.mu.Lock()
\tdefer r.mu.Unlock()
\to, ok := r.orders[id]
\tif !ok {{
\t\treturn Order{k}{{}}, ErrNotFound{k}
\t}}
\treturn o, nil
}}

// ByCustomer lists a customer's orders by id.
func (r *Repository{k}) ByCustomer(customerID int64) []Order{k} {{
\tr.mu.Lock()
\tdefer r.mu.Unlock()
\tvar out []Order{k}
\tfor _, o := range r.orders {{
\t\tif o.CustomerID == customerID {{
\t\t\tout = append(out, o)
\t\t}}
\t}}
\tsort.Slice(out, func(i, j int) bool {{ return out[i].ID < out[j].ID }})
\treturn out
}}
""",
        """package main

import (
\t"fmt"
\t"strings"
\t"unicode/utf8"
)

// ValidationError{k} says which field was refused and why.
type ValidationError{k} struct {{
\tField  string
\tReason string
}}

func (e *ValidationError{k}) Error() string {{
\treturn fmt.Sprintf("%s: %s", e.Field, e.Reason)
}}

// DisplayName{k} trims a customer's name and checks its length (1 to 80 characters).
func DisplayName{k}(raw string) (string, error) {{
\tname := strings.TrimSpace(raw)
\tif name == "" {{
\t\treturn "", &ValidationError{k}{{Field: "name", Reason: "must not be empty"}}
\t}}
\tif utf8.RuneCountInString(name) > 80 {{
\t\treturn "", &ValidationError{k}{{Field: "name", Reason: "longer than 80 characters"}}
\t}}
\treturn name, nil
}}

// Quantity{k} accepts 1 to 999 items.
func Quantity{k}(q int) error {{
\tif q < 1 || q > 999 {{
\t\treturn &ValidationError{k}{{Field: "quantity", Reason: fmt.Sprintf("%d is out of range", q)}}
\t}}
\treturn nil
}}

// RoundCents{k} rounds half up to whole cents.
func RoundCents{k}(value float64) int64 {{
\treturn int64(value*100 + 0.5)
}}
""",
    ],
    "python": [
        '''"""Orders {k}: the order model and its in-memory repository."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum


class Status{k}(Enum):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass
class Line{k}:
    sku: str
    quantity: int
    unit_cents: int


@dataclass
class Order{k}:
    customer_id: int
    status: Status{k} = Status{k}.PENDING
    lines: list[Line{k}] = field(default_factory=list)
    id: int = 0

    def total_cents(self) -> int:
        """Total in cents, discounts excluded."""
        return sum(line.unit_cents * line.quantity for line in self.lines)

    def can_cancel(self) -> bool:
        return self.status in (Status{k}.PENDING, Status{k}.PAID)


class Repository{k}:
    """Orders kept in memory, keyed by id."""

    def __init__(self) -> None:
        self._orders: dict[int, Order{k}] = {{}}
        self._ids = itertools.count(1)

    def insert(self, order: Order{k}) -> int:
        order.id = next(self._ids)
        self._orders[order.id] = order
        return order.id

    def find(self, order_id: int) -> Order{k} | None:
        return self._orders.get(order_id)

    def by_customer(self, customer_id: int) -> list[Order{k}]:
        return sorted((o for o in self._orders.values() if o.customer_id == customer_id), key=lambda o: o.id)
''',
        '''"""Validation {k}: checks on customer input before it reaches the repository."""
import math
import re

_SKU = re.compile(r"^[A-Z]{{3}}-[0-9]{{4}}$")


class ValidationError{k}(ValueError):
    """An input was refused; `field` names it."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{{field}}: {{reason}}")
        self.field = field


def display_name(raw: str) -> str:
    """A customer's display name: trimmed, 1 to 80 characters."""
    name = raw.strip()
    if not name:
        raise ValidationError{k}("name", "must not be empty")
    if len(name) > 80:
        raise ValidationError{k}("name", "longer than 80 characters")
    return name


def sku(raw: str) -> str:
    if not _SKU.match(raw):
        raise ValidationError{k}("sku", f"{{raw!r}} is not like ABC-1234")
    return raw


def round_cents(value: float) -> int:
    # Round half up, as the invoicing system does.
    return int(math.floor(value * 100 + 0.5))
''',
    ],
    "js": [
        """'use strict';
// Orders {k}: the order model and its in-memory repository.

const STATUSES = ['pending', 'paid', 'shipped', 'cancelled'];

class Order{k} {{
  constructor(customerId, lines = []) {{
    this.id = 0;
    this.customerId = customerId;
    this.status = 'pending';
    this.lines = lines;
  }}

  /** Total in cents, discounts excluded. */
  totalCents() {{
    return this.lines.reduce((sum, l) => sum + l.unitCents * l.quantity, 0);
  }}

  canCancel() {{
    return this.status === 'pending' || this.status === 'paid';
  }}
}}

class Repository{k} {{
  constructor() {{
    this.orders = new Map();
    this.nextId = 0;
  }}

  insert(order) {{
    this.nextId += 1;
    order.id = this.nextId;
    this.orders.set(order.id, order);
    return order.id;
  }}

  find(id) {{
    return this.orders.get(id) ?? null;
  }}

  byCustomer(customerId) {{
    return [...this.orders.values()].filter((o) => o.customerId === customerId).sort((a, b) => a.id - b.id);
  }}
}}

module.exports = {{ Order{k}, Repository{k}, STATUSES }};
""",
        """'use strict';
// Validation {k}: checks on customer input before it reaches the repository.

class ValidationError{k} extends Error {{
  constructor(field, reason) {{
    super(`${{field}}: ${{reason}}`);
    this.field = field;
  }}
}}

const SKU = /^[A-Z]{{3}}-[0-9]{{4}}$/;

function displayName(raw) {{
  const name = String(raw).trim();
  if (name.length === 0) throw new ValidationError{k}('name', 'must not be empty');
  if (name.length > 80) throw new ValidationError{k}('name', 'longer than 80 characters');
  return name;
}}

function sku(raw) {{
  if (!SKU.test(raw)) throw new ValidationError{k}('sku', `${{raw}} is not like ABC-1234`);
  return raw;
}}

// Round half up, as the invoicing system does.
const roundCents = (value) => Math.floor(value * 100 + 0.5);

module.exports = {{ ValidationError{k}, displayName, sku, roundCents }};
""",
    ],
    "ts": [
        """// Orders {k}: the order model and its in-memory repository.

export type Status{k} = 'pending' | 'paid' | 'shipped' | 'cancelled';

export interface Line{k} {{
  sku: string;
  quantity: number;
  unitCents: number;
}}

export class Order{k} {{
  id = 0;
  status: Status{k} = 'pending';

  constructor(public readonly customerId: number, public lines: Line{k}[] = []) {{}}

  /** Total in cents, discounts excluded. */
  totalCents(): number {{
    return this.lines.reduce((sum, l) => sum + l.unitCents * l.quantity, 0);
  }}

  canCancel(): boolean {{
    return this.status === 'pending' || this.status === 'paid';
  }}
}}

export class Repository{k} {{
  private readonly orders = new Map<number, Order{k}>();
  private nextId = 0;

  insert(order: Order{k}): number {{
    this.nextId += 1;
    order.id = this.nextId;
    this.orders.set(order.id, order);
    return order.id;
  }}

  find(id: number): Order{k} | undefined {{
    return this.orders.get(id);
  }}

  byCustomer(customerId: number): Order{k}[] {{
    return [...this.orders.values()].filter((o) => o.customerId === customerId).sort((a, b) => a.id - b.id);
  }}
}}
""",
        """// Validation {k}: checks on customer input before it reaches the repository.

export class ValidationError{k} extends Error {{
  constructor(public readonly field: string, reason: string) {{
    super(`${{field}}: ${{reason}}`);
  }}
}}

const SKU = /^[A-Z]{{3}}-[0-9]{{4}}$/;

export function displayName(raw: string): string {{
  const name = raw.trim();
  if (name.length === 0) throw new ValidationError{k}('name', 'must not be empty');
  if (name.length > 80) throw new ValidationError{k}('name', 'longer than 80 characters');
  return name;
}}

export function sku(raw: string): string {{
  if (!SKU.test(raw)) throw new ValidationError{k}('sku', `${{raw}} is not like ABC-1234`);
  return raw;
}}

// Round half up, as the invoicing system does.
export const roundCents = (value: number): number => Math.floor(value * 100 + 0.5);
""",
    ],
    "java": [
        """package PACKAGE;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Orders {k}: the order model and its in-memory repository. */
public final class Order{k} {{
    public enum Status {{ PENDING, PAID, SHIPPED, CANCELLED }}

    public record Line(String sku, int quantity, long unitCents) {{}}

    private long id;
    private final long customerId;
    private Status status = Status.PENDING;
    private final List<Line> lines = new ArrayList<>();

    public Order{k}(long customerId) {{
        this.customerId = customerId;
    }}

    /** Total in cents, discounts excluded. */
    public long totalCents() {{
        return lines.stream().mapToLong(l -> l.unitCents() * l.quantity()).sum();
    }}

    public boolean canCancel() {{
        return status == Status.PENDING || status == Status.PAID;
    }}

    @Override
    public String toString() {{
        return "Order{{id=" + id + ", customer=" + customerId + ", status=" + status + "}}";
    }}

    /** Orders kept in memory, keyed by id. */
    public static final class Repository {{
        private final Map<Long, Order{k}> orders = new HashMap<>();
        private long nextId;

        public long insert(Order{k} order) {{
            order.id = ++nextId;
            orders.put(order.id, order);
            return order.id;
        }}

        public Optional<Order{k}> find(long id) {{
            return Optional.ofNullable(orders.get(id));
        }}

        public List<Order{k}> byCustomer(long customerId) {{
            return orders.values().stream()
                .filter(o -> o.customerId == customerId)
                .sorted(Comparator.comparingLong(o -> o.id))
                .toList();
        }}
    }}
}}
""",
        """package PACKAGE;

import java.util.Objects;
import java.util.regex.Pattern;

/** Validation {k}: checks on customer input before it reaches the repository. */
public final class Order{k} {{
    private static final Pattern SKU = Pattern.compile("^[A-Z]{{3}}-[0-9]{{4}}$");

    private Order{k}() {{}}

    /** An input was refused; {{@code field}} names it. */
    public static final class ValidationException extends IllegalArgumentException {{
        private final String field;

        public ValidationException(String field, String reason) {{
            super(field + ": " + reason);
            this.field = field;
        }}

        public String field() {{
            return field;
        }}
    }}

    public static String displayName(String raw) {{
        String name = Objects.requireNonNull(raw, "name").strip();
        if (name.isEmpty()) {{
            throw new ValidationException("name", "must not be empty");
        }}
        if (name.length() > 80) {{
            throw new ValidationException("name", "longer than 80 characters");
        }}
        return name;
    }}

    public static String sku(String raw) {{
        if (!SKU.matcher(raw).matches()) {{
            throw new ValidationException("sku", raw + " is not like ABC-1234");
        }}
        return raw;
    }}

    // Round half up, as the invoicing system does.
    public static long roundCents(double value) {{
        return (long) Math.floor(value * 100 + 0.5);
    }}
}}
""",
    ],
    "cs": [
        """using System.Collections.Concurrent;

namespace Shop.Domain;

/// Orders {k}: the order model and its in-memory repository.
public enum Status{k} {{ Pending, Paid, Shipped, Cancelled }}

public sealed record Line{k}(string Sku, int Quantity, long UnitCents);

public sealed class Order{k}
{{
    public long Id {{ get; set; }}
    public long CustomerId {{ get; init; }}
    public Status{k} Status {{ get; set; }} = Status{k}.Pending;
    public List<Line{k}> Lines {{ get; }} = new();

    /// Total in cents, discounts excluded.
    public long TotalCents() => Lines.Sum(l => l.UnitCents * l.Quantity);

    public bool CanCancel() => Status is Status{k}.Pending or Status{k}.Paid;
}}

public sealed class Repository{k}
{{
    private readonly ConcurrentDictionary<long, Order{k}> _orders = new();
    private long _nextId;

    public long Insert(Order{k} order)
    {{
        order.Id = Interlocked.Increment(ref _nextId);
        _orders[order.Id] = order;
        return order.Id;
    }}

    public Order{k}? Find(long id) => _orders.TryGetValue(id, out var o) ? o : null;

    public IReadOnlyList<Order{k}> ByCustomer(long customerId) =>
        _orders.Values.Where(o => o.CustomerId == customerId).OrderBy(o => o.Id).ToList();
}}
""",
        """using System.Text.RegularExpressions;

namespace Shop.Domain;

/// Validation {k}: checks on customer input before it reaches the repository.
public sealed class ValidationException{k} : ArgumentException
{{
    public ValidationException{k}(string field, string reason) : base($"{{field}}: {{reason}}") => Field = field;

    public string Field {{ get; }}
}}

public static partial class Order{k}
{{
    [GeneratedRegex("^[A-Z]{{3}}-[0-9]{{4}}$")]
    private static partial Regex Sku();

    public static string DisplayName(string raw)
    {{
        var name = raw.Trim();
        if (name.Length == 0) throw new ValidationException{k}("name", "must not be empty");
        if (name.Length > 80) throw new ValidationException{k}("name", "longer than 80 characters");
        return name;
    }}

    public static string CheckSku(string raw) =>
        Sku().IsMatch(raw) ? raw : throw new ValidationException{k}("sku", $"{{raw}} is not like ABC-1234");

    // Round half up, as the invoicing system does.
    public static long RoundCents(double value) => (long)Math.Floor(value * 100 + 0.5);
}}
""",
    ],
}


def domain(lang, k):
    """Domain file k of a realistic service: models and repositories, validation and errors."""
    return DOMAIN[lang][k % len(DOMAIN[lang])].format(k=k)


# ---------------------------------------------------------------------------------------------
def rust(d, name, f, n):
    sdk = not f["no_sdk"]
    deps = "" if not sdk else (
        'opentelemetry = "0.31"\nopentelemetry_sdk = { version = "0.31", features = ["rt-tokio"] }\n'
        'opentelemetry-otlp = "0.31"\ntracing-opentelemetry = "0.32"\n'
        'axum-tracing-opentelemetry = "0.32"\nreqwest-middleware = "0.4"\n'
        'reqwest-tracing = { version = "0.5", features = ["opentelemetry_0_31"] }\n')
    # Instrumented server (OtelAxumLayer extracts traceparent) and client (TracingMiddleware
    # injects it); services without the SDK use plain axum and reqwest.
    layer = ".layer(OtelAxumLayer::default())" if sdk else ""
    client_type = "reqwest_middleware::ClientWithMiddleware" if sdk else "reqwest::Client"
    client = ("reqwest_middleware::ClientBuilder::new(reqwest::Client::new())\n"
              "        .with(TracingMiddleware::default())\n        .build()") if sdk else "reqwest::Client::new()"
    uses = ("use axum_tracing_opentelemetry::middleware::OtelAxumLayer;\n"
            "use reqwest_tracing::TracingMiddleware;\n") if sdk else ""
    h = handlers(n)
    routes = "".join(
        f"\n        .route(\"/h{k}/{{id}}\", axum::routing::get({{ let c = client.clone(); move |axum::extract::Path(id): axum::extract::Path<u64>| async move {{ format!(\"{{}}\", h{k}::handle_{k}(&c, id, \"\").await.map(|i| h{k}::total_{k}(&i)).unwrap_or(0)) }} }}))"
        for k in range(h))
    write(f"{d}/Cargo.toml", f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n'
          f'[dependencies]\n{deps}tracing = "0.1"\naxum = "0.8"\nreqwest = "0.12"\ntokio = {{ version = "1", features = ["full"] }}\n')
    prop = "" if f["no_propagator"] else "    global::set_text_map_propagator(TraceContextPropagator::new());\n"
    export = "with_simple_exporter" if f["simple"] else "with_batch_exporter"
    mods = "".join(f"mod h{k};\n" for k in range(h)) + "".join(f"mod m{k};\n" for k in range(h, n))
    write(f"{d}/src/main.rs", f"""{mods}
{uses}use opentelemetry::global;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;

fn init_tracing() -> SdkTracerProvider {{
{prop}    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build().unwrap();
    let provider = SdkTracerProvider::builder().{export}(exporter).build();
    global::set_tracer_provider(provider.clone());
    provider
}}

#[tokio::main]
async fn main() {{
    let _provider = init_tracing();
    let client = {client};
    let app = axum::Router::new(){routes}{layer};
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}}
""")
    for k in range(h, n):
        write(f"{d}/src/m{k}.rs", domain("rust", k))
    for k in range(h):
        attr = 'user.email = %email, ' if f["pii"] and k == 0 else ""
        write(f"{d}/src/h{k}.rs", f"""//! Handler {k}: fetch and price items.
use tracing::instrument;

#[derive(Debug, Clone)]
pub struct Item{k} {{
    pub id: u64,
    pub price_cents: u64,
    pub quantity: u32,
}}

#[instrument(skip(client, email), fields({attr}order.id = id))]
pub async fn handle_{k}(client: &{client_type}, id: u64, email: &str) -> Result<Vec<Item{k}>, Box<dyn std::error::Error>> {{
    let url = format!("http://inventory/items/{{id}}");
    let body = client.get(url).send().await?.text().await?;
    let mut items = Vec::new();
    for (i, line) in body.lines().enumerate() {{
        let price = line.len() as u64 * 100;
        items.push(Item{k} {{ id: id + i as u64, price_cents: price, quantity: 1 }});
    }}
    tracing::info!(count = items.len(), "priced items");
    let _ = email;
    Ok(items)
}}

pub fn total_{k}(items: &[Item{k}]) -> u64 {{
    items.iter().map(|i| i.price_cents * u64::from(i.quantity)).sum()
}}
""")


def go(d, name, f, n):
    deps = "" if f["no_sdk"] else (
        "\tgo.opentelemetry.io/otel v1.38.0\n\tgo.opentelemetry.io/otel/sdk v1.38.0\n"
        "\tgo.opentelemetry.io/contrib/instrumentation/net/http/otelhttp v0.63.0\n"
        "\tgo.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp v1.38.0\n")
    write(f"{d}/go.mod", f"module example.com/{name}\n\ngo 1.23\n\nrequire (\n{deps}\tgithub.com/google/uuid v1.6.0\n)\n")
    prop = "" if f["no_propagator"] else "\totel.SetTextMapPropagator(propagation.TraceContext{})\n"
    export = "sdktrace.WithSyncer(exp)" if f["simple"] else "sdktrace.WithBatcher(exp)"
    write(f"{d}/main.go", f"""package main

import (
\t"context"
\t"net/http"

\t"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
\t"go.opentelemetry.io/otel"
\t"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
\t"go.opentelemetry.io/otel/propagation"
\tsdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {{
\tctx := context.Background()
\texp, err := otlptracehttp.New(ctx)
\tif err != nil {{
\t\tpanic(err)
\t}}
\ttp := sdktrace.NewTracerProvider({export})
\totel.SetTracerProvider(tp)
{prop}\tmux := http.NewServeMux()
\tregister(mux)
\thttp.ListenAndServe(":8080", otelhttp.NewHandler(mux, "server"))
}}
""")
    h = handlers(n - 1)
    regs = "".join(f"\tmux.HandleFunc(\"/h{k}\", handle{k})\n" for k in range(h))
    write(f"{d}/routes.go", f"package main\n\nimport \"net/http\"\n\nfunc register(mux *http.ServeMux) {{\n{regs}}}\n")
    for k in range(h, n - 1):
        write(f"{d}/domain{k}.go", domain("go", k))
    for k in range(h):
        attr = '\tspan.SetAttributes(attribute.String("user.email", r.Header.Get("X-Email")))\n' if f["pii"] and k == 0 else ""
        write(f"{d}/handler{k}.go", f"""package main

import (
\t"io"
\t"net/http"

\t"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
\t"go.opentelemetry.io/otel/attribute"
\t"go.opentelemetry.io/otel/trace"
)

var client{k} = http.Client{{Transport: otelhttp.NewTransport(http.DefaultTransport)}}

// handle{k} fetches item {k} from the inventory service and returns its price.
func handle{k}(w http.ResponseWriter, r *http.Request) {{
\tspan := trace.SpanFromContext(r.Context())
\tspan.SetAttributes(attribute.Int("item.index", {k}))
{attr}\treq, _ := http.NewRequestWithContext(r.Context(), "GET", "http://inventory/items/{k}", nil)
\tresp, err := client{k}.Do(req)
\tif err != nil {{
\t\thttp.Error(w, err.Error(), http.StatusBadGateway)
\t\treturn
\t}}
\tdefer resp.Body.Close()
\tbody, _ := io.ReadAll(resp.Body)
\ttotal := 0
\tfor _, b := range body {{
\t\ttotal += int(b)
\t}}
\tw.WriteHeader(http.StatusOK)
}}
""")


def python(d, name, f, n):
    deps = "" if f["no_sdk"] else '  "opentelemetry-sdk>=1.27",\n  "opentelemetry-exporter-otlp>=1.27",\n  "opentelemetry-instrumentation-flask>=0.48b0",\n  "opentelemetry-instrumentation-requests>=0.48b0",\n'
    mod = name.replace("-", "_")
    write(f"{d}/pyproject.toml", f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = [\n{deps}  "flask>=3",\n  "requests>=2.32",\n]\n\n[project.scripts]\n{name} = "{mod}.app:main"\n')
    prop = "" if f["no_propagator"] else "set_global_textmap(TraceContextTextMapPropagator())\n"
    proc = "SimpleSpanProcessor" if f["simple"] else "BatchSpanProcessor"
    h = handlers(n - 2)
    imports = "".join(f"from {mod}.h{k} import bp{k}\n" for k in range(h))
    regs = "".join(f"    app.register_blueprint(bp{k})\n" for k in range(h))
    write(f"{d}/{mod}/__init__.py", "")
    write(f"{d}/{mod}/app.py", f"""from flask import Flask
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.propagate import set_global_textmap
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import {proc}
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
{imports}
provider = TracerProvider()
provider.add_span_processor({proc}(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
{prop}

def main():
    app = Flask(__name__)
    FlaskInstrumentor().instrument_app(app)
    RequestsInstrumentor().instrument()
{regs}    app.run(host="0.0.0.0", port=8080)
""")
    for k in range(h, n - 2):
        write(f"{d}/{mod}/m{k}.py", domain("python", k))
    for k in range(h):
        attr = '    span.set_attribute("user.email", request.headers.get("x-email"))\n' if f["pii"] and k == 0 else ""
        write(f"{d}/{mod}/h{k}.py", f"""\"\"\"Handler {k}: fetch and price items.\"\"\"
import requests
from flask import Blueprint, jsonify, request
from opentelemetry import trace

bp{k} = Blueprint("h{k}", __name__)
tracer = trace.get_tracer(__name__)


@bp{k}.route("/h{k}/<int:item_id>")
def handle(item_id):
    span = trace.get_current_span()
    span.set_attribute("item.index", {k})
{attr}    resp = requests.get(f"http://inventory/items/{{item_id}}", timeout=2)
    total = 0
    for line in resp.text.splitlines():
        total += len(line) * 100
    with tracer.start_as_current_span("price"):
        price = total // max(1, item_id)
    return jsonify(item=item_id, price=price)
""")


def node(d, name, f, n, ts):
    ext = "ts" if ts else "js"
    deps = "" if f["no_sdk"] else '"@opentelemetry/api": "^1.9.0", "@opentelemetry/sdk-node": "^0.205.0", "@opentelemetry/sdk-trace-base": "^2.1.0", "@opentelemetry/core": "^2.1.0", "@opentelemetry/exporter-trace-otlp-http": "^0.205.0", "@opentelemetry/auto-instrumentations-node": "^0.64.0", '
    start = f"node dist/index.js" if ts else "node --require ./tracing.js index.js"
    dev = ', "devDependencies": {"typescript": "^5.6.0"}' if ts else ""
    write(f"{d}/package.json", f'{{"name": "{name}", "version": "1.0.0", "main": "{"dist/index.js" if ts else "index.js"}", "scripts": {{"start": "{start}"}}, "dependencies": {{{deps}"express": "^4.21.0"}}{dev}}}\n')
    if ts:
        write(f"{d}/tsconfig.json", '{"compilerOptions": {"target": "es2022", "module": "commonjs", "outDir": "dist", "strict": true}}\n')
    src = f"{d}/src" if ts else d
    prop = "" if f["no_propagator"] else "propagation.setGlobalPropagator(new W3CTraceContextPropagator());\n"
    proc = "SimpleSpanProcessor" if f["simple"] else "BatchSpanProcessor"
    write(f"{src}/tracing.{ext}", f"""{"import" if ts else "const"} {{ NodeSDK }} {"from" if ts else "= require("}"@opentelemetry/sdk-node"{"" if ts else ")"};
{"import" if ts else "const"} {{ {proc} }} {"from" if ts else "= require("}"@opentelemetry/sdk-trace-base"{"" if ts else ")"};
{"import" if ts else "const"} {{ W3CTraceContextPropagator }} {"from" if ts else "= require("}"@opentelemetry/core"{"" if ts else ")"};
{"import" if ts else "const"} {{ propagation }} {"from" if ts else "= require("}"@opentelemetry/api"{"" if ts else ")"};
{"import" if ts else "const"} {{ OTLPTraceExporter }} {"from" if ts else "= require("}"@opentelemetry/exporter-trace-otlp-http"{"" if ts else ")"};
{"import" if ts else "const"} {{ getNodeAutoInstrumentations }} {"from" if ts else "= require("}"@opentelemetry/auto-instrumentations-node"{"" if ts else ")"};

const sdk = new NodeSDK({{
  spanProcessors: [new {proc}(new OTLPTraceExporter())],
  instrumentations: [getNodeAutoInstrumentations()],
}});
sdk.start();
{prop}""")
    h = handlers(n - 4)
    regs = "".join(f"app.get('/h{k}/:id', h{k});\n" for k in range(h))
    reqs = "".join((f"import {{ h{k} }} from './h{k}';\n" if ts else f"const {{ h{k} }} = require('./h{k}');\n") for k in range(h))
    write(f"{src}/index.{ext}", f"""{"import './tracing';" if ts else ""}
{"import express from 'express';" if ts else "const express = require('express');"}
{reqs}
const app = express();
{regs}app.listen(8080);
""")
    for k in range(h, n - 4):
        write(f"{src}/m{k}.{ext}", domain(ext, k))
    for k in range(h):
        attr = "  span?.setAttribute('user.email', String(req.headers['x-email']));\n" if f["pii"] and k == 0 else ""
        typ = ": any" if ts else ""
        write(f"{src}/h{k}.{ext}", f"""{"import { trace } from '@opentelemetry/api';" if ts else "const { trace } = require('@opentelemetry/api');"}

// Handler {k}: fetch and price items.
{"export " if ts else ""}async function h{k}(req{typ}, res{typ}) {{
  const span = trace.getActiveSpan();
  span?.setAttribute('item.index', {k});
{attr}  const resp = await fetch(`http://inventory/items/${{req.params.id}}`);
  const text = await resp.text();
  let total = 0;
  for (const line of text.split('\\n')) {{
    total += line.length * 100;
  }}
  res.json({{ item: req.params.id, price: total }});
}}
{"" if ts else f"module.exports = {{ h{k} }};"}
""")


def java(d, name, f, n):
    pkg = "com.example." + name.replace("-", "")
    pdir = f"{d}/src/main/java/" + pkg.replace(".", "/")
    deps = "" if f["no_sdk"] else "".join(
        f"    <dependency><groupId>io.opentelemetry</groupId><artifactId>{a}</artifactId><version>1.54.0</version></dependency>\n"
        for a in ["opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp"]) + (
        "    <dependency><groupId>io.opentelemetry.instrumentation</groupId><artifactId>opentelemetry-java-http-client</artifactId><version>2.20.0-alpha</version></dependency>\n")
    write(f"{d}/pom.xml", f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>{name}</artifactId>
  <version>1.0.0</version>
  <packaging>jar</packaging>
  <dependencies>
{deps}    <dependency><groupId>io.javalin</groupId><artifactId>javalin</artifactId><version>6.3.0</version></dependency>
  </dependencies>
</project>
""")
    prop = "" if f["no_propagator"] else "            .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))\n"
    prop_imports = "" if f["no_propagator"] else (
        "import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;\n"
        "import io.opentelemetry.context.propagation.ContextPropagators;\n")
    proc = "SimpleSpanProcessor.create(exporter)" if f["simple"] else "BatchSpanProcessor.builder(exporter).build()"
    h = handlers(n - 2)
    regs = "".join(f"        app.get(\"/h{k}/{{id}}\", Handler{k}::handle);\n" for k in range(h))
    write(f"{pdir}/App.java", f"""package {pkg};

import io.javalin.Javalin;
{prop_imports}import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;

public class App {{
    public static void main(String[] args) {{
        OtlpHttpSpanExporter exporter = OtlpHttpSpanExporter.getDefault();
        OpenTelemetrySdk.builder()
            .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor({proc}).build())
{prop}            .buildAndRegisterGlobal();
        Javalin app = Javalin.create();
{regs}        app.start(8080);
    }}
}}
""")
    client = ("HttpClient.newHttpClient()" if f["no_sdk"] else
              "JavaHttpClientTelemetry.create(GlobalOpenTelemetry.get()).newHttpClient(HttpClient.newHttpClient())")
    imports = "" if f["no_sdk"] else ("import io.opentelemetry.api.GlobalOpenTelemetry;\n"
                                      "import io.opentelemetry.instrumentation.httpclient.JavaHttpClientTelemetry;\n")
    for k in range(h, n - 2):
        write(f"{pdir}/Order{k}.java", domain("java", k).replace("PACKAGE", pkg))
    for k in range(h):
        attr = '        span.setAttribute("user.email", ctx.header("X-Email"));\n' if f["pii"] and k == 0 else ""
        write(f"{pdir}/Handler{k}.java", f"""package {pkg};

import io.javalin.http.Context;
{imports}import io.opentelemetry.api.trace.Span;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Handler {k}: fetch and price items. */
public final class Handler{k} {{
    private static final HttpClient CLIENT = {client};

    public static void handle(Context ctx) throws Exception {{
        Span span = Span.current();
        span.setAttribute("item.index", {k});
{attr}        HttpRequest req = HttpRequest.newBuilder(URI.create("http://inventory/items/" + ctx.pathParam("id"))).build();
        String body = CLIENT.send(req, HttpResponse.BodyHandlers.ofString()).body();
        long total = 0;
        for (String line : body.split("\\n")) {{
            total += line.length() * 100L;
        }}
        ctx.json(java.util.Map.of("item", ctx.pathParam("id"), "price", total));
    }}
}}
""")


def dotnet(d, name, f, n):
    deps = "" if f["no_sdk"] else "".join(
        f'    <PackageReference Include="{p}" Version="1.9.0" />\n'
        for p in ["OpenTelemetry.Extensions.Hosting", "OpenTelemetry.Exporter.OpenTelemetryProtocol",
                  "OpenTelemetry.Instrumentation.AspNetCore", "OpenTelemetry.Instrumentation.Http"])
    write(f"{d}/{name}.csproj", f"""<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net8.0</TargetFramework>
    <OutputType>Exe</OutputType>
  </PropertyGroup>
  <ItemGroup>
{deps}  </ItemGroup>
</Project>
""")
    prop = "" if f["no_propagator"] else "Sdk.SetDefaultTextMapPropagator(new TraceContextPropagator());\n"
    proc = ".AddProcessor(new SimpleActivityExportProcessor(new OtlpTraceExporter(new OtlpExporterOptions())))" if f["simple"] else ".AddOtlpExporter()"
    h = handlers(n - 2)
    regs = "".join(f"app.MapGet(\"/h{k}/{{id}}\", Handler{k}.Handle);\n" for k in range(h))
    write(f"{d}/Program.cs", f"""using OpenTelemetry;
using OpenTelemetry.Context.Propagation;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOpenTelemetry().WithTracing(t => t
    .AddAspNetCoreInstrumentation()
    .AddHttpClientInstrumentation()
    {proc});
{prop}var app = builder.Build();
{regs}app.Run();
""")
    for k in range(h, n - 2):
        write(f"{d}/Domain/Order{k}.cs", domain("cs", k))
    for k in range(h):
        attr = '        activity?.SetTag("user.email", ctx.Request.Headers["X-Email"].ToString());\n' if f["pii"] and k == 0 else ""
        write(f"{d}/Handlers/Handler{k}.cs", f"""using System.Diagnostics;

/// Handler {k}: fetch and price items.
public static class Handler{k}
{{
    private static readonly HttpClient Client = new();

    public static async Task<IResult> Handle(HttpContext ctx, int id)
    {{
        var activity = Activity.Current;
        activity?.SetTag("item.index", {k});
{attr}        var body = await Client.GetStringAsync($"http://inventory/items/{{id}}");
        long total = 0;
        foreach (var line in body.Split('\\n'))
        {{
            total += line.Length * 100L;
        }}
        return Results.Json(new {{ item = id, price = total }});
    }}
}}
""")


def k8s(root, name, i, lang, f):
    endpoint = ('        - name: OTEL_EXPORTER_OTLP_ENDPOINT\n          valueFrom:\n            configMapKeyRef: {name: otel, key: endpoint}\n'
                if i % 19 != 7 else "")
    # A service missing the propagator: nothing where the SDK default is a no-op (Rust, Go,
    # Java), a non-W3C setting where the default is W3C (Python, Node, .NET).
    if not f["no_propagator"]:
        propagators = "        - name: OTEL_PROPAGATORS\n          value: tracecontext,baggage\n"
    elif lang in ("rust", "go", "java"):
        propagators = ""
    else:
        propagators = "        - name: OTEL_PROPAGATORS\n          value: b3multi\n"
    write(f"{root}/deploy/{name}.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: {name}
        image: registry.example.com/{name}:1.0.0
        env:
        - name: OTEL_SERVICE_NAME
          value: {name}
{endpoint}{propagators}---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: {name}}}
  ports:
  - port: 80
    targetPort: 8080
""")


def main():
    global PROFILE
    parser = argparse.ArgumentParser(description="Generate a synthetic monorepo.")
    parser.add_argument("dir")
    parser.add_argument("services", type=int)
    parser.add_argument("files", type=int, help="files per service")
    parser.add_argument("--profile", choices=["dense", "realistic"], default="dense",
                        help="dense (default): every handler-or-domain file is a handler that records "
                             "span attributes and calls out (the worst case for a pre-filter); realistic: "
                             f"{REALISTIC_HANDLERS} handlers per service, the rest domain code without "
                             "tracing or HTTP-client signals")
    args = parser.parse_args()
    PROFILE = args.profile
    root, services, files = args.dir, args.services, args.files
    # Manifest, entry point, Dockerfile (+ routes/tracing/tsconfig) are part of the count.
    for i in range(services):
        lang = LANGS[i % len(LANGS)]
        name = f"svc-{i:04d}-{lang}"
        d = f"{root}/services/{name}"
        f = flags(i)
        n = max(4, files - 3)  # handler files; manifest + entry point + Dockerfile make up the rest
        if lang == "rust":
            rust(d, name, f, n)
        elif lang == "go":
            go(d, name, f, n)
        elif lang == "python":
            python(d, name, f, n)
        elif lang in ("javascript", "typescript"):
            node(d, name, f, n, lang == "typescript")
        elif lang == "java":
            java(d, name, f, n)
        else:
            dotnet(d, name, f, n)
        write(f"{d}/Dockerfile", f"FROM gcr.io/distroless/base\nCOPY . /app\nENV OTEL_SERVICE_NAME={name}\nCMD [\"/app/{name}\"]\n")
        k8s(root, name, i, lang, f)


if __name__ == "__main__":
    main()
