//! The API's contract, made exact. poem-openapi generates the OpenAPI document from the
//! handler types; [`finish`] adds what the middleware does around every operation (the
//! `Idempotency-Key` header, rate-limit headers, `Retry-After`, strict request bodies, standard
//! formats, links between operations), and [`Contract`] enforces the finished document on
//! every request before the operation runs: a body or a query parameter the document says is
//! wrong is refused with a problem naming it, whatever the parser would have tolerated.

use serde_json::{Map, Value, json};

use crate::i18n::{Lang, Msg};

/// The limits the domain checks, stated in the document where the handler types cannot say
/// them (poem-openapi counts string lengths in bytes; these are characters).
fn state_limits(spec: &mut Value) {
    use crate::orders::{ADDRESS_LEN, MAX_COD, NAME_LEN, NOTE_LEN, PACKAGE_LEN};
    let len = |(min, max): (usize, usize)| json!({"minLength": min, "maxLength": max});
    let sizes = json!({"enum": ["S", "M", "L"]});
    let events: Vec<&str> = crate::webhooks::EVENTS.to_vec();
    let rules: Vec<(&str, &str, Value)> = vec![
        ("OrderCreate", "pickup_address", len(ADDRESS_LEN)),
        ("OrderCreate", "dropoff_address", len(ADDRESS_LEN)),
        ("OrderCreate", "package_description", len(PACKAGE_LEN)),
        ("OrderCreate", "courier_note", json!({"maxLength": NOTE_LEN.1})),
        ("OrderCreate", "cod_amount", json!({"minimum": 0, "maximum": MAX_COD})),
        ("OrderCreate", "size_class", sizes.clone()),
        ("QuoteRequest", "size_class", sizes),
        ("Person", "name", json!({"maxLength": NAME_LEN.1})),
        ("Person", "phone", json!({"maxLength": 30})),
        ("CancelRequest", "reason", json!({"maxLength": 200})),
        ("PayoutRequest", "amount", json!({"minimum": crate::wallet::MIN_PAYOUT.get(), "maximum": 100_000_000})),
        ("WebhookIn", "url", json!({"minLength": 1, "format": "uri"})),
    ];
    for (schema, prop, extra) in rules {
        if let (Some(target), Some(extra)) =
            (spec.pointer_mut(&format!("/components/schemas/{schema}/properties/{prop}")).and_then(Value::as_object_mut), extra.as_object())
        {
            for (k, v) in extra {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(items) = spec.pointer_mut("/components/schemas/WebhookIn/properties/events/items").and_then(Value::as_object_mut) {
        items.insert("enum".into(), json!(events));
    }
    // Query parameters with a closed set of values.
    let mut kinds = events.clone();
    kinds.push("webhook.test");
    let params: Vec<(&str, &str, &str, Value)> = vec![
        ("/webhook/deliveries", "get", "status", json!({"type": "string", "enum": ["PENDING", "SENDING", "DELIVERED", "FAILED"]})),
        ("/webhook/deliveries", "get", "event", json!({"type": "string", "enum": kinds})),
        ("/analytics/summary", "get", "period", json!({"type": "string", "enum": ["7d", "30d", "90d", "12m", "custom"]})),
        ("/analytics/summary", "get", "from", json!({"type": "string", "format": "date"})),
        ("/analytics/summary", "get", "to", json!({"type": "string", "format": "date"})),
    ];
    for (path, method, name, schema) in params {
        let pointer = format!("/paths/{}/{method}/parameters", path.replace('/', "~1"));
        if let Some(list) = spec.pointer_mut(&pointer).and_then(Value::as_array_mut) {
            for p in list.iter_mut().filter(|p| p["name"] == name) {
                p["schema"] = schema.clone();
            }
        }
    }
}

/// Answers' closed sets of values, dates and binary bodies, typed so that a generated client
/// gets enums, date-times and bytes rather than bare strings.
fn type_answers(spec: &mut Value) {
    use crate::orders::model::Status;
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let mut kinds: Vec<&str> = crate::webhooks::EVENTS.to_vec();
    kinds.push("webhook.test");
    let reasons: Vec<&str> = crate::disputes::REASONS.iter().map(|(c, _)| *c).collect();
    let enums: Vec<(&str, &str, Value)> = vec![
        ("OrderOut", "status", json!(statuses)),
        ("OrderOut", "source", json!(["PORTAL", "API", "BOOKING", "IMPORT", "DEMO"])),
        ("OrderOut", "size_class", json!(["S", "M", "L"])),
        ("TimelineEntry", "status", json!(statuses)),
        ("TimelineEntry", "actor", json!(["VENDOR", "ADMIN", "COURIER", "SYSTEM", "CUSTOMER"])),
        ("PayoutOut", "operator", json!(["MTN", "ORANGE"])),
        ("PayoutOut", "status", json!(["PENDING", "PAID", "REJECTED"])),
        ("EntryOut", "kind", json!(["COD_COLLECTED", "DELIVERY_FEE", "DISPUTE_REFUND", "PAYOUT", "ADJUSTMENT"])),
        ("DeliveryOut", "status", json!(["PENDING", "SENDING", "DELIVERED", "FAILED"])),
        ("DeliveryOut", "event", json!(kinds)),
        ("DisputeOut", "status", json!(["OPEN", "IN_REVIEW", "RESOLVED", "REJECTED"])),
        ("DisputeOut", "reason", json!(reasons)),
        ("MessageOut", "author", json!(["VENDOR", "ADMIN"])),
        ("WebhookOut", "paused_reason", json!(["retries-exhausted", "consecutive-failures"])),
    ];
    for (schema, prop, values) in enums {
        if let Some(p) = spec.pointer_mut(&format!("/components/schemas/{schema}/properties/{prop}")).and_then(Value::as_object_mut) {
            p.insert("enum".into(), values);
        }
    }
    // Instants are RFC 3339 date-times.
    if let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                for (name, p) in props.iter_mut() {
                    let instant = name == "at" || name.ends_with("_at") || name == "last_triggered";
                    if instant && p["type"] == "string" && p.get("format").is_none() {
                        p["format"] = json!("date-time");
                    }
                }
            }
        }
    }
    // Binary answers (a photo, a PDF) are bytes; also offered as `application/octet-stream`,
    // which every generator knows.
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
                let Some(content) = op.pointer_mut("/responses/200/content").and_then(Value::as_object_mut) else { continue };
                let binary = content.keys().any(|k| k.starts_with("image/") || k == "application/pdf");
                if binary {
                    for media in content.values_mut() {
                        media["schema"] = json!({"type": "string", "format": "binary"});
                    }
                    content.insert("application/octet-stream".into(), json!({"schema": {"type": "string", "format": "binary"}}));
                }
            }
        }
    }
}

/// Tags in the order an integrator works: quote, order, follow, hear, get paid, bill, settle
/// disputes, measure.
fn order_tags(spec: &mut Value) {
    let retag =
        [("getOrderTimeline", "Tracking"), ("getOrderPosition", "Tracking"), ("listInvoices", "Invoices"), ("getInvoicePdf", "Invoices")];
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
                if let Some((_, tag)) = retag.iter().find(|(id, _)| op["operationId"] == *id) {
                    op["tags"] = json!([tag]);
                }
            }
        }
    }
    spec["tags"] = json!([
        {"name": "Quotes", "description": "1. Price a delivery before ordering."},
        {"name": "Orders", "description": "2. Create deliveries (with an `Idempotency-Key`), list them, cancel before pick-up."},
        {"name": "Tracking", "description": "3. Follow a delivery: its timeline and its courier's position."},
        {"name": "Webhooks", "description": "4. Hear of every event as it happens: signed HTTP callbacks, retried, in a queue that survives pauses."},
        {"name": "Wallet", "description": "5. Follow your money: balance, ledger, payouts to Mobile Money."},
        {"name": "Invoices", "description": "6. Monthly invoices and credit notes, as PDF."},
        {"name": "Disputes", "description": "7. When a delivery went wrong: open a dispute, talk with DELIVR-CM, get refunded."},
        {"name": "Analytics", "description": "8. The figures of the analytics page."},
    ]);
}

/// A sample per operation, in curl and Python, in its description (the reference shows it
/// beside the operation).
fn code_samples(spec: &mut Value) {
    let server = spec["servers"][0]["url"].as_str().unwrap_or("https://portail.delivr.cm/api/v1").to_owned();
    let schemas = spec["components"]["schemas"].clone();
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let url_path = path
            .replace("/orders/{id}", "/orders/DLV-A7F3X2")
            .replace("/disputes/{id}", "/disputes/$DISPUTE_ID")
            .replace("{photo_id}", "$PHOTO_ID")
            .replace("{id}", "$ID");
        for (method, op) in item.as_object_mut().into_iter().flatten() {
            let example = op["requestBody"]["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .and_then(|m| m["schema"]["$ref"].as_str())
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(|name| schemas[name]["example"].clone())
                .filter(|e| !e.is_null());
            let upper = method.to_uppercase();
            let mut curl = format!("curl -X {upper} \"{server}{url_path}\" \\\n  -H \"Authorization: Api-Key $DELIVR_API_KEY\"");
            let mut python_headers = "{\"Authorization\": f\"Api-Key {key}\"".to_owned();
            if method == "post" {
                curl.push_str(" \\\n  -H \"Idempotency-Key: $(uuidgen)\"");
                python_headers.push_str(", \"Idempotency-Key\": str(uuid.uuid4())");
            }
            python_headers.push('}');
            let mut python_call = format!("requests.{method}(\n    \"{server}{url_path}\",\n    headers={python_headers},");
            if let Some(body) = &example {
                let compact = serde_json::to_string(body).unwrap_or_default().replace('\'', "'\\''");
                curl.push_str(&format!(" \\\n  -H \"Content-Type: application/json\" \\\n  -d '{compact}'"));
                let pretty = serde_json::to_string_pretty(body)
                    .unwrap_or_default()
                    .replace("true", "True")
                    .replace("false", "False")
                    .replace("null", "None");
                python_call.push_str(&format!("\n    json={},", pretty.replace('\n', "\n    ")));
            }
            python_call.push_str("\n    timeout=30,\n)");
            let sample = format!(
                "\n\n**Example**\n\n```sh\n{curl}\n```\n\n```python\nimport os, uuid, requests\n\nkey = os.environ[\"DELIVR_API_KEY\"]\nr = {python_call}\nr.raise_for_status()  # problems are application/problem+json\nprint(r.json())\n```"
            );
            let description = op["description"].as_str().unwrap_or("").to_owned();
            op["description"] = json!(format!("{description}{sample}"));
        }
    }
}

/// Webhooks as a contract: each event's body as a schema, and the deliveries themselves
/// (headers, what counts as received) under `x-webhooks` (OpenAPI 3.1's `webhooks`, for this
/// 3.0 document; Redoc and most generators read it).
fn webhook_events(spec: &mut Value) {
    use crate::orders::model::Status;
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    let order_events: Vec<&str> = crate::webhooks::EVENTS.iter().copied().filter(|e| e.starts_with("order.")).collect();
    let dispute_events: Vec<&str> = crate::webhooks::EVENTS.iter().copied().filter(|e| e.starts_with("dispute.")).collect();
    let envelope = |events: Value, data: &str, description: &str| {
        json!({
            "type": "object",
            "description": description,
            "required": ["id", "event", "timestamp", "data"],
            "properties": {
                "id": {"type": "string", "format": "uuid", "description": "The event's id: the same on every delivery of this event (retries, replays). Deduplicate on it."},
                "event": {"type": "string", "enum": events},
                "sequence": {"type": "integer", "format": "int64", "description": "Increases with each event of your account: order events by it, as deliveries may arrive out of order. Absent on `webhook.test`."},
                "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened (UTC)."},
                "data": {"$ref": format!("#/components/schemas/{data}")},
            },
        })
    };
    let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    schemas.insert(
        "OrderEventData".into(),
        json!({
            "type": "object",
            "description": "An order as an event tells it (the specification's payload).",
            "required": ["order_id", "tracking_number", "status", "recipient", "pricing", "cod_amount", "attempt"],
            "properties": {
                "order_id": {"type": "string", "format": "uuid"},
                "tracking_number": {"type": "string", "example": "DLV-A7F3X2"},
                "status": {"type": "string", "enum": statuses},
                "courier": {"allOf": [{"$ref": "#/components/schemas/Person"}], "nullable": true, "description": "Once assigned."},
                "recipient": {"$ref": "#/components/schemas/Person"},
                "pricing": {"$ref": "#/components/schemas/Pricing"},
                "cod_amount": {"type": "integer", "format": "int64", "description": "Cash to collect, FCFA."},
                "attempt": {"type": "integer", "format": "int64", "minimum": 1, "description": "The delivery attempt: 1, then 2… after each new attempt ordered after a failure (`order.reattempted`)."},
                "reason": {"type": "string", "description": "Why, for `order.cancelled` and `order.failed`."},
            },
        }),
    );
    schemas.insert(
        "PaymentEventData".into(),
        json!({
            "description": "Cash collected on delivery, credited to the wallet (once per order): the order's fields, as every order event carries them, plus the amount credited.",
            "allOf": [
                {"$ref": "#/components/schemas/OrderEventData"},
                {
                    "type": "object",
                    "required": ["amount", "currency"],
                    "properties": {
                        "amount": {"type": "integer", "format": "int64", "description": "Cash credited, FCFA."},
                        "currency": {"type": "string", "enum": ["XAF"], "description": "Always XAF."},
                    },
                },
            ],
        }),
    );
    schemas.insert(
        "DisputeEventData".into(),
        json!({
            "type": "object",
            "required": ["dispute_id", "number", "order_id", "tracking_number", "status", "reason", "amount_claimed"],
            "properties": {
                "dispute_id": {"type": "string", "format": "uuid"},
                "number": {"type": "string", "example": "LIT-ZFK6AA"},
                "order_id": {"type": "string", "format": "uuid"},
                "tracking_number": {"type": "string"},
                "status": {"type": "string", "enum": ["OPEN", "IN_REVIEW", "RESOLVED", "REJECTED"]},
                "reason": {"type": "string", "enum": crate::disputes::REASONS.iter().map(|(c, _)| *c).collect::<Vec<_>>()},
                "amount_claimed": {"type": "integer", "format": "int64"},
                "refund_amount": {"type": "integer", "format": "int64", "description": "On `dispute.resolved` with a refund."},
                "decision_reason": {"type": "string", "description": "On `dispute.resolved`."},
                "message": {
                    "type": "object",
                    "description": "On `dispute.updated` caused by a message.",
                    "required": ["author", "body"],
                    "properties": {"author": {"type": "string", "enum": ["VENDOR", "ADMIN"]}, "body": {"type": "string"}},
                },
            },
        }),
    );
    schemas.insert(
        "BookingEventData".into(),
        json!({
            "type": "object",
            "description": "A customer asked for a delivery on your booking page; it waits for you to accept it (with the cash to collect) or decline it in the portal.",
            "required": ["booking_request_id", "status", "recipient", "dropoff", "package_description", "delivery_fee", "currency", "expires_at"],
            "properties": {
                "booking_request_id": {"type": "string", "format": "uuid", "description": "The request's id."},
                "status": {"type": "string", "enum": ["PENDING"], "description": "Waiting for your answer."},
                "recipient": {"allOf": [{"$ref": "#/components/schemas/Person"}], "description": "The customer, as they wrote (phone in E.164)."},
                "dropoff": {
                    "type": "object",
                    "description": "Where the customer wants it.",
                    "required": ["city", "quartier", "address"],
                    "properties": {
                        "city": {"type": "string", "description": "City name."},
                        "quartier": {"type": "string", "description": "Quartier name."},
                        "address": {"type": "string", "description": "Address or landmark."},
                    },
                },
                "package_description": {"type": "string", "description": "What the parcel is."},
                "delivery_fee": {"type": "integer", "format": "int64", "description": "The fee the customer was shown, FCFA."},
                "currency": {"type": "string", "enum": ["XAF"], "description": "Always XAF."},
                "expires_at": {"type": "string", "format": "date-time", "description": "Unanswered by then, the request expires."},
            },
        }),
    );
    schemas
        .insert("TestEventData".into(), json!({"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}));
    schemas.insert("OrderEvent".into(), envelope(json!(order_events), "OrderEventData", "`order.*` events."));
    schemas.insert("PaymentEvent".into(), envelope(json!(["payment.received"]), "PaymentEventData", "`payment.received`."));
    schemas.insert("DisputeEvent".into(), envelope(json!(dispute_events), "DisputeEventData", "`dispute.*` events."));
    schemas.insert("BookingEvent".into(), envelope(json!(["booking.requested"]), "BookingEventData", "`booking.requested`."));
    schemas.insert("TestEvent".into(), envelope(json!(["webhook.test"]), "TestEventData", "`webhook.test`, sent on request."));
    let headers = json!([
        {"name": "X-Delivr-Signature", "in": "header", "required": true, "schema": {"type": "string"}, "description": "`sha256=` and the hex HMAC-SHA256 of the raw body, keyed with your webhook secret."},
        {"name": "X-Delivr-Event", "in": "header", "required": true, "schema": {"type": "string"}, "description": "The event's name."},
        {"name": "webhook-id", "in": "header", "required": true, "schema": {"type": "string"}, "description": "Standard Webhooks: the event's id."},
        {"name": "webhook-timestamp", "in": "header", "required": true, "schema": {"type": "integer"}, "description": "Standard Webhooks: seconds since the epoch of this attempt."},
        {"name": "webhook-signature", "in": "header", "required": true, "schema": {"type": "string"}, "description": "Standard Webhooks: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`."},
    ]);
    let mut hooks = Map::new();
    let groups: Vec<(Vec<&str>, &str)> = vec![
        (order_events.clone(), "OrderEvent"),
        (vec!["payment.received"], "PaymentEvent"),
        (dispute_events.clone(), "DisputeEvent"),
        (vec!["booking.requested"], "BookingEvent"),
        (vec!["webhook.test"], "TestEvent"),
    ];
    for (events, schema) in groups {
        for event in events {
            hooks.insert(
                event.to_owned(),
                json!({"post": {
                    "summary": format!("`{event}` delivered to your webhook URL"),
                    "description": "At least once: a delivery is retried until your endpoint answers 2xx (see the API's description for the schedule and the pause rule); deduplicate on `id`.",
                    "parameters": headers,
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
                    "responses": {"2XX": {"description": "Received: no further attempt."}, "default": {"description": "Not received: retried later."}},
                }}),
            );
        }
    }
    spec["x-webhooks"] = Value::Object(hooks);
}

/// Each operation lists only the error statuses it can answer with (the handler types share
/// one problem type that names them all).
fn prune_statuses(spec: &mut Value) {
    // Operations that can find something in the way (409), and those that look a thing up
    // (404) beyond their path's own id.
    const CONFLICTS: &[&str] =
        &["cancelOrder", "reattemptOrder", "returnOrder", "createDispute", "createDisputeMessage", "sendWebhookTest"];
    const LOOKUPS: &[&str] = &["getWebhook", "regenerateWebhookSecret", "sendWebhookTest", "createOrder", "createDispute"];
    // Reads that can still refuse a well-formed request (a date range, a cursor, a period).
    const READ_RULES: &[&str] = &["listOrders", "listLedger", "getAnalyticsSummary"];
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let has_id = path.contains('{');
        for (method, op) in item.as_object_mut().into_iter().flatten() {
            let id = op["operationId"].as_str().unwrap_or("").to_owned();
            let writes = method != "get";
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            // No operation answers 403: a key acts as its partner, on its partner's data only.
            responses.remove("403");
            if !writes {
                responses.remove("413");
            }
            if !CONFLICTS.contains(&id.as_str()) {
                responses.remove("409");
            }
            if !has_id && !LOOKUPS.contains(&id.as_str()) {
                responses.remove("404");
            }
            if !writes && !READ_RULES.contains(&id.as_str()) {
                responses.remove("422");
            }
        }
    }
}

/// What a property means, for those whose type says no more than their name (the handler
/// types document the rest themselves).
fn describe(schema: &str, property: &str) -> Option<&'static str> {
    Some(match (schema, property) {
        (_, "id") if schema.starts_with("Order") => "The order's id (UUID).",
        (_, "id") if schema.starts_with("Dispute") => "The dispute's id (UUID).",
        (_, "id") if schema.starts_with("Payout") => "The payout's id (UUID).",
        (_, "id") if schema.starts_with("Delivery") => "The delivery's id (UUID): replay it with `POST /webhook/deliveries/{id}/replay`.",
        ("EntryOut", "id") => "The ledger entry's number; entries are listed newest first.",
        ("MessageOut", "id") => "The message's number in the thread.",
        ("PhotoOut", "id") => "The photo's id: `GET /disputes/{id}/photos/{photo_id}`.",
        ("InvoiceOut", "id") => "The invoice's id: `GET /invoices/{id}/pdf`.",
        (_, "id") => "Identifier.",
        (_, "data") => "The items, newest first.",
        (_, "events") => "The entries, oldest first.",
        (_, "created_at") => "When it was created (UTC).",
        (_, "updated_at") => "When it last changed (UTC).",
        (_, "decided_at") => "When DELIVR-CM decided (UTC).",
        (_, "finished_at") => "When the delivery ended: completed, cancelled or failed (UTC).",
        (_, "issued_at") => "When the document was issued (UTC).",
        (_, "at") => "When (UTC).",
        (_, "currency") => "Always `XAF` (FCFA, no minor unit).",
        (_, "tracking_number") => "The tracking number, `DLV-` and six characters.",
        (_, "order_id") => "The order's id (UUID).",
        (_, "dispute_id") => "The dispute's id (UUID).",
        (_, "number") => "The dispute's number, for people (`LIT-…`).",
        (_, "event") => "The event's name.",
        (_, "event_id") => "The event's id: the same on every delivery of the event.",
        (_, "status") => "Where it stands.",
        (_, "reason") if schema.starts_with("Dispute") => "Why the dispute was opened.",
        (_, "reason") => "Why, in the words of whoever gave it.",
        (_, "description") => "What happened, in the vendor's words.",
        (_, "amount_claimed") => "What the vendor claims, FCFA.",
        (_, "amount") => "FCFA.",
        (_, "total") if schema == "Pricing" => "What the delivery costs the vendor, FCFA.",
        (_, "commission") => "DELIVR-CM's share of the total, FCFA.",
        (_, "net") => "The courier's share of the total, FCFA.",
        (_, "total") => "Total, FCFA, TVA included.",
        (_, "balance_after") => "The balance after this entry, FCFA.",
        (_, "pricing") => "The price: total, and its split between DELIVR-CM and the courier.",
        (_, "recipient") => "Who receives the parcel.",
        (_, "courier") => "The courier, once assigned.",
        (_, "pickup") => "Where the parcel is picked up.",
        (_, "dropoff") => "Where the parcel is delivered.",
        (_, "city") => "The city's name.",
        (_, "quartier") => "The quartier's name.",
        ("OrderCreate", "dropoff_city") => "Drop-off city, by name (`Douala`) or id.",
        ("OrderCreate", "dropoff_quartier") => "Drop-off quartier, by name (accents and case ignored) or id.",
        (_, "cod_amount") => "Cash the courier collects from the recipient, FCFA (0: nothing).",
        (_, "courier_note") => "A note for the courier.",
        (_, "cancel_reason") => "Why it was cancelled.",
        (_, "failure_reason") => "Why the delivery failed.",
        (_, "distance_m") => "Distance between pickup and drop-off quartiers, metres.",
        (_, "package_description") => "What is in the parcel.",
        (_, "size_class") => "Package size.",
        (_, "phone") => "E.164 phone number.",
        (_, "reference") => "The operator's transaction reference, once paid.",
        (_, "reject_reason") => "Why the payout was rejected.",
        (_, "body") => "The text.",
        (_, "messages") => "The thread, oldest first.",
        (_, "photos") => "Evidence photos.",
        (_, "width") => "Pixels.",
        (_, "height") => "Pixels.",
        (_, "lat") => "Latitude (WGS 84).",
        (_, "lng") => "Longitude (WGS 84).",
        (_, "note") => "What was said with this step.",
        (_, "attempts") => "Attempts made so far.",
        (_, "last_error") => "What went wrong at the last attempt (`skipped-on-resume` when left out on resuming).",
        (_, "last_status_code") => "Your endpoint's HTTP status at the last attempt.",
        (_, "last_triggered") => "When the last attempt was made (UTC).",
        (_, "url") => "Where events are POSTed.",
        (_, "is_active") => "Whether events are sent.",
        (_, "page") => "This page's number, from 1.",
        (_, "current") => "The chosen period.",
        (_, "previous") => "The period of the same length just before, to compare with.",
        (_, "orders") => "Orders created in the period.",
        (_, "completed") => "Of those, delivered.",
        (_, "cancelled") => "Of those, cancelled.",
        (_, "failed") => "Of those, failed.",
        (_, "message") => "The test's text.",
        _ => return None,
    })
}

fn describe_properties(spec: &mut Value) {
    let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for (name, schema) in schemas.iter_mut() {
        let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) else { continue };
        for (prop, p) in props.iter_mut() {
            let Some(p) = p.as_object_mut() else { continue };
            if p.get("description").and_then(Value::as_str).is_none_or(str::is_empty)
                && let Some(text) = describe(name, prop)
            {
                // A `$ref` cannot carry a description beside it in OpenAPI 3.0: wrap it.
                if let Some(r) = p.remove("$ref") {
                    p.insert("allOf".into(), json!([{"$ref": r}]));
                }
                p.insert("description".into(), json!(text));
            }
        }
    }
}

/// An example for every successful answer, built from the schema (its own example when it
/// has one, else the examples, enums and formats of its properties).
fn answer_examples(spec: &mut Value) {
    let snapshot = spec.clone();
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut() {
        for op in item.as_object_mut().into_iter().flat_map(|o| o.values_mut()) {
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, resp) in responses.iter_mut() {
                if !status.starts_with('2') {
                    continue;
                }
                let Some(content) = resp.get_mut("content").and_then(Value::as_object_mut) else { continue };
                for (media_type, media) in content.iter_mut() {
                    if media.get("example").is_some() || !media_type.contains("json") {
                        continue;
                    }
                    let example = example_of(&snapshot, &media["schema"], "", 0);
                    media["example"] = example;
                }
            }
        }
    }
}

fn example_of(spec: &Value, schema: &Value, name: &str, depth: usize) -> Value {
    if depth > 6 {
        return Value::Null;
    }
    if let Some(r) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
        let target = spec.pointer(&format!("/{r}")).cloned().unwrap_or(Value::Null);
        if let Some(e) = target.get("example") {
            return e.clone();
        }
        return example_of(spec, &target, name, depth + 1);
    }
    if let Some(first) = schema["allOf"].as_array().and_then(|a| a.first()) {
        return example_of(spec, first, name, depth + 1);
    }
    if let Some(e) = schema.get("example") {
        return e.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|a| a.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("object") => {
            let mut out = Map::new();
            for (k, p) in schema["properties"].as_object().into_iter().flatten() {
                out.insert(k.clone(), example_of(spec, p, k, depth + 1));
            }
            Value::Object(out)
        }
        Some("array") => json!([example_of(spec, &schema["items"], name, depth + 1)]),
        Some("integer") => json!(match name {
            "amount" | "cod_amount" | "amount_claimed" => 15_000,
            "total" | "subtotal" => 2_350,
            "balance" | "balance_after" => 48_500,
            "page" | "attempts" => 1,
            _ => 0,
        }),
        Some("number") => json!(match name {
            "lat" => 4.0511,
            "lng" => 9.7679,
            _ => 0.0,
        }),
        Some("boolean") => json!(true),
        Some("string") => match (schema["format"].as_str(), name) {
            (Some("date-time"), _) => json!("2026-02-11T10:30:00Z"),
            (Some("date"), _) => json!("2026-02-11"),
            (Some("uuid"), _) | (_, "id" | "order_id" | "dispute_id" | "event_id") => json!("4f6c2a7e-1b0d-4c1e-9d7a-2f1e8c3b5a90"),
            (_, "tracking_number") => json!("DLV-A7F3X2"),
            (_, "phone") => json!("+237677987654"),
            (_, "currency") => json!("XAF"),
            (_, "secret") => json!("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            (_, "number") => json!("FAC-2026-000042"),
            (_, "month") => json!("2026-01"),
            _ => json!("…"),
        },
        _ => Value::Null,
    }
}

/// Finish the generated document (see the module's comment).
pub fn finish(spec: &mut Value) {
    prune_statuses(spec);
    webhook_events(spec);
    state_limits(spec);
    type_answers(spec);
    order_tags(spec);
    code_samples(spec);
    describe_properties(spec);
    request_schemas_strict(spec);
    let rate_headers = json!({
        "RateLimit-Limit": {"description": "Requests allowed per minute for this key.", "schema": {"type": "integer"}},
        "RateLimit-Remaining": {"description": "Requests that could still be made right now.", "schema": {"type": "integer"}},
        "RateLimit-Reset": {"description": "Seconds until the allowance is whole again.", "schema": {"type": "integer"}},
        "RateLimit-Policy": {"description": "The limit, as `<requests>;w=60`.", "schema": {"type": "string"}},
    });
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else { continue };
            // Standard date format names; an optional query parameter sent empty is taken as
            // not sent (as a form sends an empty filter), which the document says.
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                for p in params.iter_mut() {
                    if p["schema"]["format"] == "naive-date" {
                        p["schema"]["format"] = json!("date");
                    }
                    if p["in"] == "query" && p["required"] != true {
                        p["allowEmptyValue"] = json!(true);
                    }
                }
            }
            if method == "post" {
                let params = op.entry("parameters").or_insert_with(|| json!([]));
                if let Some(list) = params.as_array_mut() {
                    list.push(json!({
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": false,
                        "description": "Any unique string (a UUID is fine), 1 to 255 ASCII characters. A retry with the same key and \
                                        the same body is answered as the first request was (for 24 hours), and never does the work \
                                        twice, even if the server stopped in between; the same key with another body is a `422`.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7E]+$"},
                    }));
                }
                // A body that carries nothing may be left out.
                if path.ends_with("/cancel")
                    && let Some(body) = op.get_mut("requestBody").and_then(Value::as_object_mut)
                {
                    body.insert("required".into(), json!(false));
                }
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                for (status, resp) in responses.iter_mut() {
                    let Some(resp) = resp.as_object_mut() else { continue };
                    let headers = resp.entry("headers").or_insert_with(|| json!({}));
                    if let (Some(h), Some(rate)) = (headers.as_object_mut(), rate_headers.as_object()) {
                        if status != "401" && status != "503" {
                            for (k, v) in rate {
                                h.insert(k.clone(), v.clone());
                            }
                        }
                        if status == "429" || status == "503" {
                            h.insert(
                                "Retry-After".into(),
                                json!({"description": "Seconds to wait before the next request.", "schema": {"type": "integer"}}),
                            );
                        }
                    }
                }
            }
        }
    }
    add_links(spec);
    answer_examples(spec);
}

/// Request bodies are exact: unknown fields are refused (`additionalProperties: false`), and a
/// property that may be left out may also be sent as `null` (it then means "not given").
fn request_schemas_strict(spec: &mut Value) {
    let mut names = Vec::new();
    if let Some(paths) = spec["paths"].as_object() {
        for item in paths.values() {
            for op in item.as_object().into_iter().flat_map(|o| o.values()) {
                // The bodies themselves (their operations refuse unknown fields); the objects
                // nested in them keep ignoring fields they do not know, as they always did.
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    for media in content.values() {
                        if let Some(r) = media["schema"]["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"))
                            && !names.iter().any(|n| n == r)
                        {
                            names.push(r.to_owned());
                        }
                    }
                }
            }
        }
    }
    let Some(schemas) = spec.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    for name in names {
        let Some(schema) = schemas.get_mut(&name).and_then(Value::as_object_mut) else { continue };
        if schema.get("type") != Some(&json!("object")) {
            continue;
        }
        schema.insert("additionalProperties".into(), json!(false));
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for (k, p) in props.iter_mut() {
                if !required.contains(k)
                    && let Some(p) = p.as_object_mut()
                    && !p.contains_key("$ref")
                {
                    p.insert("nullable".into(), json!(true));
                }
            }
        }
    }
}

/// Links from the operations that create or list resources to those that use them, so that a
/// client (and a stateful fuzzer) can follow the workflow.
fn add_links(spec: &mut Value) {
    // (path, method, status, [(link name, operation, the id's place in the answer)])
    type Targets = &'static [(&'static str, &'static str, &'static str)];
    let links: &[(&str, &str, &str, Targets)] = &[
        (
            "/orders",
            "post",
            "201",
            &[
                ("GetOrder", "getOrder", "$response.body#/id"),
                ("CancelOrder", "cancelOrder", "$response.body#/id"),
                ("GetOrderTimeline", "getOrderTimeline", "$response.body#/id"),
                ("GetOrderPosition", "getOrderPosition", "$response.body#/id"),
            ],
        ),
        (
            "/disputes",
            "post",
            "201",
            &[("GetDispute", "getDispute", "$response.body#/id"), ("AddMessage", "createDisputeMessage", "$response.body#/id")],
        ),
        ("/webhook/deliveries", "get", "200", &[("ReplayDelivery", "replayWebhookDelivery", "$response.body#/data/0/id")]),
        ("/invoices", "get", "200", &[("GetInvoicePdf", "getInvoicePdf", "$response.body#/data/0/id")]),
    ];
    for (path, method, status, targets) in links {
        let Some(resp) = spec.pointer_mut(&format!("/paths/{}/{method}/responses/{status}", path.replace('/', "~1"))) else { continue };
        let Some(resp) = resp.as_object_mut() else { continue };
        let mut map = Map::new();
        for (name, op, value) in *targets {
            map.insert((*name).to_owned(), json!({"operationId": op, "parameters": {"id": value}}));
        }
        resp.insert("links".into(), Value::Object(map));
    }
}

/// What is wrong with a request, by the finished document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A query parameter: its name and what is wrong.
    Parameter(String, String),
    /// The body is not the shape the document gives (a wrong type, `null`, an unknown or a
    /// missing field): each field (a JSON path) and what is wrong with it. (The limits the
    /// document states are the operation's own rules, reported with its others in one 422.)
    Malformed(Vec<(String, String)>),
    /// A body the operation requires is missing, or is not JSON.
    Unreadable(String),
}

struct Operation {
    method: String,
    segments: Vec<Option<String>>,
    query: Vec<(String, Value, bool)>,
    body: Option<(Value, bool)>,
}

/// The finished document, ready to check requests against.
pub struct Contract {
    spec: Value,
    operations: Vec<Operation>,
}

impl Contract {
    pub fn new(spec: Value) -> Contract {
        let mut operations = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (path, item) in paths {
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| if s.starts_with('{') { None } else { Some(s.to_owned()) })
                    .collect::<Vec<_>>();
                for (method, op) in item.as_object().into_iter().flatten() {
                    let query = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["schema"].clone(), p["required"] == true)))
                        .collect();
                    let body = op["requestBody"]["content"]
                        .as_object()
                        .and_then(|c| c.values().next())
                        .map(|m| (m["schema"].clone(), op["requestBody"]["required"] != false));
                    operations.push(Operation { method: method.to_uppercase(), segments: segments.clone(), query, body });
                }
            }
        }
        Contract { spec, operations }
    }

    /// The document, as served.
    pub fn document(&self) -> &Value {
        &self.spec
    }

    fn matches(op: &Operation, path: &str) -> bool {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        parts.len() == op.segments.len() && parts.iter().zip(&op.segments).all(|(p, s)| s.as_deref().is_none_or(|s| s == *p))
    }

    /// The methods the document allows on `path` (relative to `/api/v1`), for `Allow`.
    pub fn allowed(&self, path: &str) -> Vec<&str> {
        let mut methods: Vec<&str> = self.operations.iter().filter(|o| Self::matches(o, path)).map(|o| o.method.as_str()).collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }

    /// Every way `value` departs from the document's schema `name` (shape and limits): how
    /// tests hold what the server sends (webhook bodies, answers) to what the document says.
    pub fn violations(&self, name: &str, value: &Value) -> Vec<(String, String)> {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        let mut errors = Vec::new();
        self.check_value(value, &schema, "", Lang::En, &mut errors);
        errors.into_iter().map(|(f, m, _)| (f, m)).collect()
    }

    /// Does this operation take a body that may be left out? (The middleware then hands the
    /// operation an empty JSON object.)
    pub fn body_optional(&self, method: &str, path: &str) -> bool {
        self.operations.iter().any(|o| o.method == method && Self::matches(o, path) && matches!(o.body, Some((_, false))))
    }

    /// Check a request against its operation (unknown routes are left to the router).
    pub fn check(&self, method: &str, path: &str, query: &str, body: Option<&[u8]>, lang: Lang) -> Result<(), Refusal> {
        let Some(op) = self.operations.iter().find(|o| o.method == method && Self::matches(o, path)) else { return Ok(()) };
        let given: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        for (name, schema, required) in &op.query {
            match given.iter().find(|(k, _)| k == name) {
                // An empty value is no value (`?status=` filters nothing), as forms send it.
                None if *required => return Err(Refusal::Parameter(name.clone(), lang.t(Msg::ErrRequired).to_owned())),
                None => {}
                Some((_, raw)) if raw.trim().is_empty() => {}
                Some((_, raw)) => {
                    let raw = raw.trim();
                    // Closed sets are matched whatever the case (`?status=delivered`).
                    let raw = match self.resolve(schema)["enum"].as_array() {
                        Some(values) => values.iter().filter_map(Value::as_str).find(|v| v.eq_ignore_ascii_case(raw)).unwrap_or(raw),
                        None => raw,
                    };
                    let value = self.query_value(schema, raw);
                    let mut errors = Vec::new();
                    self.check_value(&value, schema, name, lang, &mut errors);
                    if let Some((_, message, _)) = errors.into_iter().next() {
                        return Err(Refusal::Parameter(name.clone(), message));
                    }
                }
            }
        }
        if let Some((schema, required)) = &op.body {
            let bytes = body.unwrap_or_default();
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return if *required { Err(Refusal::Unreadable(lang.t(Msg::ErrApiBodyMissing).to_owned())) } else { Ok(()) };
            }
            let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
                return Err(Refusal::Unreadable(lang.t(Msg::ErrApiBody).to_owned()));
            };
            let mut errors = Vec::new();
            self.check_value(&value, schema, "", lang, &mut errors);
            // A body of the wrong shape never reaches the operation. The limits the document
            // states (lengths, ranges, lists of values) are the operation's own rules: it checks
            // them with its other rules and lists every field in one 422.
            if errors.iter().any(|(_, _, shape)| *shape) {
                return Err(Refusal::Malformed(errors.into_iter().filter(|(_, _, shape)| *shape).map(|(f, m, _)| (f, m)).collect()));
            }
        }
        Ok(())
    }

    /// A query string's text as the JSON value its schema expects (numbers, booleans).
    fn query_value(&self, schema: &Value, raw: &str) -> Value {
        match self.resolve(schema)["type"].as_str() {
            Some("integer") => raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(raw.to_owned())),
            Some("number") => raw
                .parse::<f64>()
                .ok()
                .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
                .unwrap_or_else(|| Value::String(raw.to_owned())),
            Some("boolean") => match raw {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(raw.to_owned()),
            },
            _ => Value::String(raw.to_owned()),
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
            Some(pointer) => self.spec.pointer(&format!("/{pointer}")).unwrap_or(schema),
            None => schema,
        }
    }

    /// Check `value` against `schema`, adding (field, message, is a shape error) to `errors`.
    fn check_value(&self, value: &Value, schema: &Value, at: &str, lang: Lang, errors: &mut Vec<(String, String, bool)>) {
        let schema = self.resolve(schema);
        let field = if at.is_empty() { "body".to_owned() } else { at.to_owned() };
        if value.is_null() {
            if schema["nullable"] != true {
                errors.push((field, lang.t(Msg::ErrApiNull).to_owned(), true));
            }
            return;
        }
        // A described reference (`allOf` around one `$ref`) is the reference.
        if let Some(all) = schema["allOf"].as_array() {
            for part in all {
                self.check_value(value, part, at, lang, errors);
            }
            return;
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            let list = allowed.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ");
            errors.push((field, lang.fmt(Msg::ErrApiEnum, &[("values", &list)]), false));
            return;
        }
        let wrong = |expected: &str, errors: &mut Vec<(String, String, bool)>| {
            errors.push((field.clone(), lang.fmt(Msg::ErrApiType, &[("expected", expected)]), true));
        };
        match schema["type"].as_str() {
            Some("string") => {
                let Some(s) = value.as_str() else { return wrong("string", errors) };
                let n = s.chars().count() as u64;
                if let Some(max) = schema["maxLength"].as_u64()
                    && n > max
                {
                    errors.push((field.clone(), lang.fmt(Msg::ErrTooLong, &[("max", &max.to_string())]), false));
                }
                if let Some(min) = schema["minLength"].as_u64()
                    && n < min
                {
                    errors.push((field.clone(), lang.fmt(Msg::ErrApiTooShort, &[("min", &min.to_string())]), false));
                }
                let ok_format = match schema["format"].as_str() {
                    Some("date") => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
                    Some("date-time") => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
                    _ => true,
                };
                if !ok_format {
                    errors.push((field, lang.fmt(Msg::ErrApiFormat, &[("format", schema["format"].as_str().unwrap_or(""))]), false));
                }
            }
            Some("integer") => {
                let Some(n) = value.as_i64() else { return wrong("integer", errors) };
                if let Some(max) = schema["maximum"].as_f64()
                    && n as f64 > max
                {
                    errors.push((field.clone(), lang.fmt(Msg::ErrApiMaximum, &[("max", &(max as i64).to_string())]), false));
                }
                if let Some(min) = schema["minimum"].as_f64()
                    && (n as f64) < min
                {
                    errors.push((field, lang.fmt(Msg::ErrApiMinimum, &[("min", &(min as i64).to_string())]), false));
                }
            }
            Some("number") if !value.is_number() => wrong("number", errors),
            Some("boolean") if !value.is_boolean() => wrong("boolean", errors),
            Some("array") => {
                let Some(items) = value.as_array() else { return wrong("array", errors) };
                if let Some(max) = schema["maxItems"].as_u64()
                    && items.len() as u64 > max
                {
                    errors.push((field.clone(), lang.fmt(Msg::ErrApiMaxItems, &[("max", &max.to_string())]), false));
                }
                for (i, item) in items.iter().enumerate() {
                    self.check_value(item, &schema["items"], &format!("{at}[{i}]"), lang, errors);
                }
            }
            Some("object") => {
                let Some(map) = value.as_object() else { return wrong("object", errors) };
                let props = schema["properties"].as_object();
                for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        errors.push((join(at, name), lang.t(Msg::ErrRequired).to_owned(), true));
                    }
                }
                for (k, v) in map {
                    match props.and_then(|p| p.get(k)) {
                        Some(prop) => self.check_value(v, prop, &join(at, k), lang, errors),
                        None if schema["additionalProperties"] == false => {
                            errors.push((join(at, k), lang.t(Msg::ErrApiUnknownField).to_owned(), true));
                        }
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() { name.to_owned() } else { format!("{at}.{name}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        let mut spec = json!({
            "paths": {
                "/orders": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/New"}}}}, "responses": {"201": {}}},
                            "get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                                                   {"name": "from", "in": "query", "schema": {"type": "string", "format": "naive-date"}}], "responses": {"200": {}}}},
                "/orders/{id}/cancel": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Cancel"}}}}, "responses": {"200": {}}}}
            },
            "components": {"schemas": {
                "New": {"type": "object", "required": ["name", "count"], "properties": {
                    "name": {"type": "string", "maxLength": 3}, "count": {"type": "integer", "minimum": 0},
                    "note": {"type": "string"}, "person": {"$ref": "#/components/schemas/Person"}}},
                "Person": {"type": "object", "required": ["phone"], "properties": {"phone": {"type": "string"}}},
                "Cancel": {"type": "object", "properties": {"reason": {"type": "string"}}}
            }}
        });
        finish(&mut spec);
        Contract::new(spec)
    }

    #[test]
    fn bodies_are_held_to_the_document() {
        let c = contract();
        let check = |body: &str| c.check("POST", "/orders", "", Some(body.as_bytes()), Lang::En);
        assert_eq!(check(r#"{"name":"ab","count":1}"#), Ok(()));
        assert_eq!(check(r#"{"name":"ab","count":1,"note":null}"#), Ok(()), "an optional field may be null");
        assert!(matches!(check(r#"{"name":false,"count":1}"#), Err(Refusal::Malformed(_))), "a wrong type is malformed");
        assert_eq!(check(r#"{"name":"abcd","count":-1}"#), Ok(()), "lengths and ranges are the operation's rules");
        assert_eq!(check(r#"{"name":"ab","count":1,"person":{"phone":"1","x":2}}"#), Ok(()), "nested objects ignore unknown fields");
        for bad in [
            r#"{"name":false,"count":1}"#,
            r#"{"name":"ab","count":null}"#,
            r#"{"name":"ab","count":1.5}"#,
            r#"{"name":"ab"}"#,
            r#"{"name":"ab","count":1,"extra":1}"#,
            r#"{"name":"ab","count":1,"person":{"phone":1}}"#,
            r#"[]"#,
        ] {
            assert!(matches!(check(bad), Err(Refusal::Malformed(_))), "{bad}");
        }
        assert!(matches!(check("{"), Err(Refusal::Unreadable(_))));
        assert!(matches!(c.check("POST", "/orders", "", None, Lang::En), Err(Refusal::Unreadable(_))));
        // The cancel body carries nothing required: it may be left out.
        assert_eq!(c.check("POST", "/orders/x/cancel", "", None, Lang::En), Ok(()));
    }

    #[test]
    fn query_parameters_are_held_to_the_document() {
        let c = contract();
        let q = |s: &str| c.check("GET", "/orders", s, None, Lang::En);
        assert_eq!(q("limit=10&from=2026-01-31"), Ok(()));
        assert_eq!(q("limit=&from= 2026-01-31 "), Ok(()), "empty is absent; spaces are trimmed");
        assert!(matches!(q("limit=0"), Err(Refusal::Parameter(n, _)) if n == "limit"));
        assert!(matches!(q("limit=ten"), Err(Refusal::Parameter(n, _)) if n == "limit"));
        assert!(matches!(q("from=2026-02-31"), Err(Refusal::Parameter(n, _)) if n == "from"));
        assert_eq!(c.allowed("/orders"), vec!["GET", "POST"]);
        assert_eq!(c.allowed("/orders/abc/cancel"), vec!["POST"]);
    }
}
