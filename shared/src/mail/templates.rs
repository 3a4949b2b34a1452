//! Every mail Sundial sends, built in one place with a text and an HTML
//! part; a one-time token always appears in a link with `token=<token>` in
//! both parts. (Owned by the email-flow work of the identity issue.)
