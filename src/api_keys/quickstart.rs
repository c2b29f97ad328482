//! "Démarrer avec l'API": a short guide for integrators, light enough for a phone at 360 px
//! (no Swagger UI): create a key, create a first order with curl, verify a webhook's
//! signature; the reference (Swagger) stays one link away for desktops.

use maud::{Markup, html};
use poem::{Response, handler, http::StatusCode, web::Data};

use crate::{
    accounts::guard,
    i18n::Msg,
    state::AppState,
    web::{
        Ctx, PageResult,
        layout::{page, respond},
    },
};

/// A code sample the reader copies (a button with JavaScript; selectable text without).
fn sample(ctx: &Ctx, id: &str, code: &str) -> Markup {
    html! {
        div.sample {
            pre #(id) tabindex="0" { code { (code) } }
            button.btn.secondary type="button" data-copy=(format!("#{id}")) { (ctx.t(Msg::Copy)) }
        }
    }
}

fn view(ctx: &Ctx, api: &str) -> Markup {
    let create = format!(
        "curl -X POST {api}/orders \\\n  -H \"Authorization: Api-Key $DELIVR_KEY\" \\\n  -H \"Content-Type: application/json\" \\\n  -H \"Idempotency-Key: $(uuidgen)\" \\\n  -d '{{\"recipient\": {{\"name\": \"Paul Nkwi\", \"phone\": \"677 98 76 54\"}},\n       \"dropoff_city\": \"Douala\", \"dropoff_quartier\": \"Bonamoussadi\",\n       \"dropoff_address\": \"Derrière la pharmacie\",\n       \"package_description\": \"Chaussures\", \"cod_amount\": 15000}}'"
    );
    let follow = format!("curl {api}/orders/DLV-XXXXXX \\\n  -H \"Authorization: Api-Key $DELIVR_KEY\"");
    let python = "import hmac, hashlib\n\nexpected_sig = hmac.new(\n    webhook_secret.encode(),\n    request.body,\n    hashlib.sha256\n).hexdigest()\n\nis_valid = hmac.compare_digest(\n    f\"sha256={expected_sig}\",\n    request.headers['X-Delivr-Signature']\n)";
    let php = "$expected = 'sha256=' . hash_hmac('sha256', file_get_contents('php://input'), $webhookSecret);\n$valid = hash_equals($expected, $_SERVER['HTTP_X_DELIVR_SIGNATURE'] ?? '');";
    html! {
        h1 { (ctx.t(Msg::QuickstartTitle)) }
        p.muted { (ctx.t(Msg::QuickstartIntro)) }
        ol.steps {
            li.card {
                h2 { (ctx.t(Msg::QuickstartKeyTitle)) }
                p { (ctx.t(Msg::QuickstartKeyText)) }
                p { a.btn href="/partners/api-keys/" { (ctx.t(Msg::ApiKeyCreate)) } }
                (sample(ctx, "qs-env", "export DELIVR_KEY='dlv_XXXXXXXX.…'"))
            }
            li.card {
                h2 { (ctx.t(Msg::QuickstartOrderTitle)) }
                p { (ctx.t(Msg::QuickstartOrderText)) }
                (sample(ctx, "qs-create", &create))
                p.small.muted { (ctx.t(Msg::QuickstartOrderAnswer)) }
                (sample(ctx, "qs-follow", &follow))
            }
            li.card {
                h2 { (ctx.t(Msg::QuickstartWebhookTitle)) }
                p { (ctx.t(Msg::QuickstartWebhookText)) " " a href="/partners/webhooks/" { (ctx.t(Msg::NavWebhooks)) } }
                p.small { strong { "Python" } }
                (sample(ctx, "qs-python", python))
                p.small { strong { "PHP" } }
                (sample(ctx, "qs-php", php))
                p.small.muted { (ctx.t(Msg::QuickstartWebhookRetry)) }
            }
        }
        p { a href="/partners/docs/" hx-boost="false" { (ctx.t(Msg::QuickstartReference)) } }
    }
}

#[handler]
pub async fn quickstart(Data(state): Data<&AppState>, Data(ctx): Data<&Ctx>) -> PageResult<Response> {
    guard::partner(ctx)?;
    let api = format!("{}/api/v1", state.config.public_url());
    Ok(respond(StatusCode::OK, page(ctx, ctx.t(Msg::QuickstartTitle), view(ctx, &api))))
}
