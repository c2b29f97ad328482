//! Form handling: per-field errors shown next to their field, and the input components.

use maud::{Markup, html};

/// Largest url-encoded form body accepted.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// Validation errors keyed by field name, already translated.
#[derive(Default, Debug, Clone)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if self.get(field).is_none() {
            self.0.push((field, message.into()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(f, _)| *f)
    }
}

/// A labelled input with its hint and error, accessible (`aria-invalid`, `aria-describedby`).
pub struct Input<'a> {
    pub name: &'static str,
    pub label: &'a str,
    pub value: &'a str,
    pub kind: &'static str,
    pub autocomplete: &'static str,
    pub hint: Option<&'a str>,
    pub required: bool,
    pub inputmode: Option<&'static str>,
}

impl<'a> Input<'a> {
    pub fn new(name: &'static str, label: &'a str, value: &'a str) -> Self {
        Input { name, label, value, kind: "text", autocomplete: "off", hint: None, required: true, inputmode: None }
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    pub fn autocomplete(mut self, ac: &'static str) -> Self {
        self.autocomplete = ac;
        self
    }

    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    pub fn inputmode(mut self, mode: &'static str) -> Self {
        self.inputmode = Some(mode);
        self
    }

    pub fn render(&self, errors: &FieldErrors) -> Markup {
        let error = errors.get(self.name);
        let id = format!("f-{}", self.name);
        let hint_id = format!("{id}-hint");
        let err_id = format!("{id}-err");
        let described: Vec<&str> = [self.hint.map(|_| hint_id.as_str()), error.map(|_| err_id.as_str())].into_iter().flatten().collect();
        let value = if self.kind == "password" { "" } else { self.value };
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) { (self.label) }
                input #(id) type=(self.kind) name=(self.name) value=(value) autocomplete=(self.autocomplete)
                    required[self.required] inputmode=[self.inputmode]
                    aria-invalid=[error.map(|_| "true")]
                    aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
                @if let Some(h) = self.hint { div.hint #(hint_id) { (h) } }
                @if let Some(e) = error { div.error #(err_id) role="alert" { (e) } }
            }
        }
    }
}

/// A labelled `<select>`; `options` are `(value, label)`.
pub fn select(
    name: &'static str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &FieldErrors,
    extra: Markup,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            select #(id) name=(name) aria-invalid=[error.map(|_| "true")] { (extra)
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
            @if let Some(e) = error { div.error role="alert" { (e) } }
        }
    }
}

/// Trim a submitted text value and bound its length (in characters).
pub fn clean(value: &str, max_chars: usize) -> Result<String, usize> {
    let v = value.trim();
    if v.chars().count() > max_chars { Err(max_chars) } else { Ok(v.to_owned()) }
}

/// A labelled `<textarea>` with its hint and error.
pub fn textarea(name: &'static str, label: &str, value: &str, max_chars: usize, hint: Option<&str>, errors: &FieldErrors) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    let hint_id = format!("{id}-hint");
    let err_id = format!("{id}-err");
    let described: Vec<&str> = [hint.map(|_| hint_id.as_str()), error.map(|_| err_id.as_str())].into_iter().flatten().collect();
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            textarea #(id) name=(name) rows="4" maxlength=(max_chars) required
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[(!described.is_empty()).then(|| described.join(" "))] { (value) }
            @if let Some(h) = hint { div.hint #(hint_id) { (h) } }
            @if let Some(e) = error { div.error #(err_id) role="alert" { (e) } }
        }
    }
}
