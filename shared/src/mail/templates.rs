//! Every mail Sundial sends, built in one place with a text and an HTML
//! part; a one-time token always appears in a link with `token=<token>` in
//! both parts. (Owned by the email-flow work of the identity issue.)
//!
//! Each mail is a few plain paragraphs and at most one action link. The HTML
//! part escapes every paragraph, so names, organisation names and addresses
//! that people typed can never inject markup into someone else's inbox.

use super::Mail;

/// The product name shown in mails.
const PRODUCT: &str = "Sundial";

/// Who a mail goes to.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The address.
    pub email: &'a str,
    /// The first name, for the greeting (user-provided; escaped in HTML).
    pub first_name: &'a str,
}

/// A sensitive change to an account, announced to its owner so that a
/// change they did not make does not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityEvent {
    /// The password was changed (or reset).
    PasswordChanged,
    /// Two-factor authentication was turned off.
    MfaDisabled,
    /// A personal access token was created, with its name.
    TokenCreated {
        /// The token's name (user-provided).
        name: String,
    },
    /// The account's email address was changed to `new_email` (sent to the old address).
    EmailChanged {
        /// The new address.
        new_email: String,
    },
}

/// The link a mail's token goes in: `<app_url>/<path>?token=<token>`.
pub fn token_link(app_url: &str, path: &str, token: &str) -> String {
    // Tokens are base64url, so they need no percent-encoding.
    format!("{}/{}?token={token}", app_url.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// Asks the owner of a new address to confirm it (`/verify-email?token=`).
pub fn verify_email(app_url: &str, to: Recipient<'_>, token: &str) -> Mail {
    render(
        to,
        &format!("Confirm your email address for {PRODUCT}"),
        &[
            format!("please confirm that {} is your email address.", to.email),
            "The link works once and expires in 24 hours.".into(),
        ],
        Some(("Confirm my address", token_link(app_url, "verify-email", token))),
        "If you did not create an account, you can ignore this mail.",
    )
}

/// A forgotten-password link (`/reset-password?token=`), valid one hour.
pub fn password_reset(app_url: &str, to: Recipient<'_>, token: &str) -> Mail {
    render(
        to,
        &format!("Reset your {PRODUCT} password"),
        &[
            "someone asked to reset the password of your account.".into(),
            "The link works once and expires in one hour.".into(),
        ],
        Some(("Choose a new password", token_link(app_url, "reset-password", token))),
        "If it was not you, ignore this mail: your password stays as it is.",
    )
}

/// Invites someone whose account was created without a password to set one
/// (`/set-password?token=`); `organisation` names who created it, if any.
pub fn set_password(app_url: &str, to: Recipient<'_>, organisation: Option<&str>, token: &str) -> Mail {
    let opening = match organisation {
        Some(org) => format!("an account was created for you at {org} on {PRODUCT}."),
        None => format!("an account was created for you on {PRODUCT}."),
    };
    render(
        to,
        &format!("Set your {PRODUCT} password"),
        &[opening, "Choose a password to start using it. The link works once and expires in 7 days.".into()],
        Some(("Set my password", token_link(app_url, "set-password", token))),
        "If you did not expect this, you can ignore this mail.",
    )
}

/// Invites `to` to join `organisation` as `role`
/// (`/invitations/accept?token=`), carrying the organisation's own
/// invitation text, if it set one, as its own paragraphs.
pub fn invitation(app_url: &str, to: &str, organisation: &str, role: &str, text: Option<&str>, token: &str) -> Mail {
    let mut paragraphs = vec![format!("you are invited to join {organisation} on {PRODUCT} as {role}.")];
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        paragraphs.extend(text.split("\n\n").map(|p| p.trim().to_string()).filter(|p| !p.is_empty()));
    }
    paragraphs.push(
        "Accept with a new account, or sign in first if you already have one. The link works once and expires in 7 days."
            .into(),
    );
    render(
        Recipient { email: to, first_name: "there" },
        &format!("You are invited to join {organisation} on {PRODUCT}"),
        &paragraphs,
        Some(("Accept the invitation", token_link(app_url, "invitations/accept", token))),
        "If you did not expect this invitation, you can ignore this mail.",
    )
}

/// Welcomes a new account (no token).
pub fn welcome(app_url: &str, to: Recipient<'_>) -> Mail {
    render(
        to,
        &format!("Welcome to {PRODUCT}"),
        &[format!("welcome to {PRODUCT}! Your account {} is ready.", to.email)],
        Some(("Open Sundial", format!("{}/", app_url.trim_end_matches('/')))),
        "You receive this mail because an account was created with this address.",
    )
}

/// Asks the owner of the NEW address to confirm an email change
/// (`/confirm-email-change?token=`).
pub fn email_change_confirmation(app_url: &str, to: Recipient<'_>, token: &str) -> Mail {
    render(
        to,
        &format!("Confirm your new email address for {PRODUCT}"),
        &[
            format!("please confirm that your {PRODUCT} account should use {} from now on.", to.email),
            "The link works once and expires in 24 hours.".into(),
        ],
        Some(("Confirm the change", token_link(app_url, "confirm-email-change", token))),
        "If you did not ask for this, ignore this mail and nothing changes.",
    )
}

/// Tells the OLD address that a change to `new_email` was requested.
pub fn email_change_requested(app_url: &str, to: Recipient<'_>, new_email: &str) -> Mail {
    render(
        to,
        &format!("Your {PRODUCT} email address is about to change"),
        &[
            format!("someone asked to change the email address of your account from {} to {new_email}.", to.email),
            "The change happens only once the new address is confirmed.".into(),
        ],
        Some(("Review your account", format!("{}/account", app_url.trim_end_matches('/')))),
        "If it was not you, sign in, cancel the change and change your password.",
    )
}

/// Announces a sensitive change to the account's owner.
pub fn security_notice(app_url: &str, to: Recipient<'_>, event: &SecurityEvent) -> Mail {
    let (subject, what) = match event {
        SecurityEvent::PasswordChanged => {
            ("Your password was changed", "the password of your account was changed.".into())
        }
        SecurityEvent::MfaDisabled => (
            "Two-factor authentication was turned off",
            "two-factor authentication was turned off for your account.".into(),
        ),
        SecurityEvent::TokenCreated { name } => (
            "A personal access token was created",
            format!("a personal access token named \"{name}\" was created for your account."),
        ),
        SecurityEvent::EmailChanged { new_email } => (
            "Your email address was changed",
            format!("the email address of your account was changed from {} to {new_email}.", to.email),
        ),
    };
    render(
        to,
        &format!("{PRODUCT}: {subject}"),
        &[what],
        Some(("Review your account", format!("{}/account", app_url.trim_end_matches('/')))),
        "If this was you, there is nothing to do. If not, reset your password at once and contact your administrator.",
    )
}

/// Builds both parts from plain paragraphs; the HTML part escapes every
/// piece of text and attribute.
fn render(
    to: Recipient<'_>,
    subject: &str,
    paragraphs: &[String],
    action: Option<(&str, String)>,
    footer: &str,
) -> Mail {
    let greeting = format!("Hello {},", to.first_name);

    let mut text = format!("{greeting}\n\n");
    for paragraph in paragraphs {
        text.push_str(&capitalise(paragraph));
        text.push_str("\n\n");
    }
    if let Some((label, url)) = &action {
        text.push_str(&format!("{label}: {url}\n\n"));
    }
    text.push_str(footer);
    text.push_str(&format!("\n\n— {PRODUCT}\n"));

    let esc = |s: &str| html_escape::encode_safe(s).into_owned();
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family: sans-serif; line-height: 1.5\">\n",
    );
    html.push_str(&format!("<p>{}</p>\n", esc(&greeting)));
    for paragraph in paragraphs {
        html.push_str(&format!("<p>{}</p>\n", esc(&capitalise(paragraph))));
    }
    if let Some((label, url)) = &action {
        // The visible URL keeps its slashes (encode_text), the href is attribute-encoded.
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n<p>Or open this link: {}</p>\n",
            html_escape::encode_double_quoted_attribute(url),
            esc(label),
            html_escape::encode_text(url),
        ));
    }
    html.push_str(&format!("<p style=\"color: #666\">{}</p>\n<p>— {PRODUCT}</p>\n</body></html>\n", esc(footer)));

    Mail { to: to.email.to_string(), subject: subject.to_string(), text, html }
}

/// Paragraphs are written to follow "Hello <name>," in prose; each starts
/// a sentence of its own in the mail.
fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reminds the owner of an event that it is coming up (`when` is its local
/// start, e.g. "2026-03-29 08:00 (Europe/Stockholm)"); `late` when a
/// reminders run caught up after an outage.
pub fn event_reminder(app_url: &str, to: Recipient<'_>, title: &str, when: &str, late: bool) -> Mail {
    let mut paragraphs = vec![format!("this is a reminder of \"{title}\", which starts {when}.")];
    if late {
        paragraphs.push("This reminder is late: it could not be sent at its time.".into());
    }
    render(
        to,
        &format!("Reminder: {title}"),
        &paragraphs,
        Some(("Open my calendar", format!("{}/calendar", app_url.trim_end_matches('/')))),
        "You get this mail because the event has an email reminder.",
    )
}

/// The daily almanac digest: the almanac events at `location` in the next
/// `days` days (today included), one paragraph per date with its event
/// titles (`events`, in date order; never empty — no events, no mail);
/// `late` when a reminders run caught up after an outage.
pub fn almanac_digest(
    app_url: &str,
    to: Recipient<'_>,
    location: &str,
    days: u64,
    events: &[(chrono::NaiveDate, Vec<String>)],
    late: bool,
) -> Mail {
    let window = if days == 7 { "the coming week".to_string() } else { format!("the next {days} days") };
    let count: usize = events.iter().map(|(_, titles)| titles.len()).sum();
    let mut paragraphs = vec![format!("these are the almanac events at {location} in {window}:")];
    for (date, titles) in events {
        paragraphs.push(format!("{}: {}", date.format("%A %-d %B %Y"), titles.join("; ")));
    }
    if late {
        paragraphs.push("This digest is late: it could not be sent at its time.".into());
    }
    let noun = if count == 1 { "event" } else { "events" };
    render(
        to,
        &format!("Almanac: {count} {noun} in {window} at {location}"),
        &paragraphs,
        Some(("Open the almanac", format!("{}/almanac", app_url.trim_end_matches('/')))),
        "You get this mail because almanac notifications are on in your settings.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "https://app.example.com/";
    const TOKEN: &str = "AbC-123_xyz";

    fn ada() -> Recipient<'static> {
        Recipient { email: "ada@example.com", first_name: "Ada" }
    }

    fn token_mails() -> Vec<(Mail, &'static str)> {
        vec![
            (verify_email(APP, ada(), TOKEN), "verify-email"),
            (password_reset(APP, ada(), TOKEN), "reset-password"),
            (set_password(APP, ada(), Some("Sunrise"), TOKEN), "set-password"),
            (email_change_confirmation(APP, ada(), TOKEN), "confirm-email-change"),
            (invitation(APP, "ada@example.com", "Sunrise", "member", Some("Welcome!"), TOKEN), "invitations/accept"),
        ]
    }

    #[test]
    fn every_token_mail_carries_the_link_in_both_parts() {
        for (mail, path) in token_mails() {
            let link = format!("https://app.example.com/{path}?token={TOKEN}");
            assert!(mail.text.contains(&link), "text of {path}: {}", mail.text);
            assert!(mail.html.contains(&format!("href=\"{link}\"")), "html of {path}: {}", mail.html);
            assert!(mail.html.contains(&format!("token={TOKEN}<")), "visible link of {path}");
            assert_eq!(mail.to, "ada@example.com");
            assert!(!mail.subject.is_empty());
        }
    }

    #[test]
    fn user_provided_names_are_escaped_in_html() {
        let evil = Recipient { email: "ada@example.com", first_name: "<script>alert(1)</script>" };
        let mails = [
            verify_email(APP, evil, TOKEN),
            set_password(APP, evil, Some("<b>Org</b> & \"co\""), TOKEN),
            security_notice(APP, evil, &SecurityEvent::TokenCreated { name: "<img src=x onerror=alert(1)>".into() }),
            welcome(APP, evil),
        ];
        for mail in &mails {
            assert!(!mail.html.contains("<script>"), "{}", mail.html);
            assert!(!mail.html.contains("<img"), "{}", mail.html);
            assert!(!mail.html.contains("<b>Org"), "{}", mail.html);
            assert!(mail.html.contains("&lt;script&gt;"), "{}", mail.html);
            // The text part shows the name as typed.
            assert!(mail.text.contains("Hello <script>alert(1)</script>,"));
        }
    }

    #[test]
    fn invitations_carry_the_organisations_text_escaped_in_html() {
        let mail =
            invitation(APP, "ada@example.com", "Sunrise", "admin", Some("We plan <together>.\n\nSee you"), TOKEN);
        assert!(mail.text.contains("We plan <together>.") && mail.text.contains("See you"));
        assert!(mail.html.contains("We plan &lt;together&gt;.") && !mail.html.contains("<together>"));
        assert!(mail.text.contains("Sunrise") && mail.text.contains("admin"));
        let plain = invitation(APP, "ada@example.com", "Sunrise", "member", None, TOKEN);
        assert!(plain.text.contains("invitations/accept?token="));
    }

    #[test]
    fn an_almanac_digest_lists_each_date_with_its_titles_and_says_when_it_is_late() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let events = vec![
            (day(29), vec!["Ekadasi — Fasting".to_string(), "<b>Gaura</b>".to_string()]),
            (day(31), vec!["Rama Navami".to_string()]),
        ];
        let mail = almanac_digest(APP, ada(), "Stockholm, Sweden", 3, &events, false);
        assert_eq!(mail.subject, "Almanac: 3 events in the next 3 days at Stockholm, Sweden");
        assert!(mail.text.contains("Sunday 29 March 2026: Ekadasi — Fasting; <b>Gaura</b>"), "{}", mail.text);
        assert!(mail.text.contains("Tuesday 31 March 2026: Rama Navami"));
        assert!(mail.html.contains("&lt;b&gt;Gaura") && !mail.html.contains("<b>Gaura"));
        assert!(mail.text.contains("https://app.example.com/almanac") && !mail.text.contains("is late"));
        let week = almanac_digest(APP, ada(), "Stockholm", 7, &events[1..], true);
        assert_eq!(week.subject, "Almanac: 1 event in the coming week at Stockholm");
        assert!(week.text.contains("This digest is late"));
    }

    #[test]
    fn notices_name_what_changed() {
        let changed = security_notice(APP, ada(), &SecurityEvent::EmailChanged { new_email: "new@example.com".into() });
        assert!(changed.text.contains("from ada@example.com to new@example.com"));
        assert!(security_notice(APP, ada(), &SecurityEvent::PasswordChanged).subject.contains("password"));
        assert!(security_notice(APP, ada(), &SecurityEvent::MfaDisabled).text.contains("Two-factor"));
        let requested = email_change_requested(APP, ada(), "new@example.com");
        assert!(requested.text.contains("new@example.com") && !requested.text.contains("token="));
    }
}
