//! OData-style list queries (`$filter`, `$orderBy`, `$top`, `$skip`), which
//! the seeds use for their lists. Evaluated in memory over the JSON items of
//! one partition Query (never a scan), each list naming the fields clients
//! may filter and sort on, so a typo is a 400 instead of an empty result.
//!
//! Hand-written rather than taken from `odata-params` (0.4): that crate has
//! no dotted paths and gives `and`/`or` the same precedence (`a and b or c`
//! parses as `a and (b or c)`). This recursive-descent parser follows the
//! OData precedence: parentheses, `not`, comparisons, `and`, `or`.
//!
//! ```
//! use shared::odata::{Fields, Filter};
//! let fields = Fields::new(&["firstName", "age", "address.city"]);
//! let filter = Filter::parse("age ge 18 and not (address.city eq 'Oslo')", &fields).unwrap();
//! assert!(filter.matches(&serde_json::json!({"age": 30, "address": {"city": "Lund"}})));
//! ```

use std::cmp::Ordering;

use serde_json::Value;

use crate::error::{ApiError, FieldError};

/// Longest `$filter` / `$orderBy` accepted.
pub const MAX_EXPRESSION_LEN: usize = 2000;
/// Deepest nesting of parentheses and `not` accepted (bounds the recursion).
pub const MAX_DEPTH: usize = 32;
/// Most `$orderBy` terms accepted.
pub const MAX_ORDER_TERMS: usize = 5;

/// The fields one list lets clients filter and sort on. An entry ending in
/// `.*` (e.g. `customFields.*`) admits every path below it.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    allowed: &'static [&'static str],
}

impl Fields {
    /// An allow-list of (dotted) field paths.
    pub const fn new(allowed: &'static [&'static str]) -> Self {
        Self { allowed }
    }

    /// Whether `path` may be used.
    pub fn allows(&self, path: &str) -> bool {
        self.allowed.iter().any(|a| match a.strip_suffix(".*") {
            Some(prefix) => path.strip_prefix(prefix).is_some_and(|rest| rest.len() > 1 && rest.starts_with('.')),
            None => *a == path,
        })
    }

    /// The allowed paths, for error messages.
    fn list(&self) -> String {
        self.allowed.join(", ")
    }

    /// An ECMA 262 pattern of one allowed field path.
    fn path_pattern(&self) -> String {
        let segment = "[A-Za-z_][A-Za-z0-9_]*";
        let alternatives: Vec<String> = self
            .allowed
            .iter()
            .map(|a| match a.strip_suffix(".*") {
                Some(prefix) => format!(r"{}(?:\.{segment})+", prefix.replace('.', r"\.")),
                None => a.replace('.', r"\."),
            })
            .collect();
        format!("(?:{})", alternatives.join("|"))
    }

    /// The OpenAPI schema of a `$filter` over these fields. Its pattern
    /// states the canonical spelling, which the server always accepts:
    /// comparisons `field op literal` separated by white space, joined by
    /// `and`/`or`, each after up to four `not`, with one level of
    /// parentheses. The server also takes `literal op field`, deeper
    /// nesting (up to 32 levels) and tokens without white space between
    /// them where that is unambiguous. Empty or blank: no filter.
    pub fn filter_schema(&self) -> utoipa::openapi::Object {
        let ws = crate::domain::WHITE_SPACE;
        let literal = r"(?:'(?:[^']|'')*'|-?[0-9]{1,15}(?:\.[0-9]{1,15})?(?:[eE][+-]?[0-9]{1,2})?|true|false|null)";
        let comparison = format!("{}{ws}+(?:eq|ne|gt|ge|lt|le){ws}+{literal}", self.path_pattern());
        let nots = format!("(?:not{ws}+){{0,4}}");
        let joined = |term: &str| format!("{term}(?:{ws}+(?:and|or){ws}+{term})*");
        let flat = joined(&format!("{nots}{comparison}"));
        let nested = joined(&format!(r"{nots}(?:{comparison}|\({ws}*{flat}{ws}*\))"));
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .max_length(Some(MAX_EXPRESSION_LEN))
            .pattern(Some(format!("^{ws}*(?:{nested}{ws}*)?$")))
            .build()
    }

    /// The OpenAPI schema of an `$orderBy` over these fields: exactly what
    /// [`OrderBy::parse`] accepts (empty or blank: the natural order).
    pub fn order_by_schema(&self) -> utoipa::openapi::Object {
        let ws = crate::domain::WHITE_SPACE;
        let term = format!("{ws}*{}(?:{ws}+(?:asc|desc))?{ws}*", self.path_pattern());
        let more = MAX_ORDER_TERMS - 1;
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .max_length(Some(MAX_EXPRESSION_LEN))
            .pattern(Some(format!("^(?:{term}(?:,{term}){{0,{more}}}|{ws}*)$")))
            .build()
    }
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `'text'` (a quote inside is doubled: `'O''Brien'`).
    String(String),
    /// `42`, `-1.5`, `2e3`.
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CmpOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`1 lt x` is `x gt 1`).
    fn flipped(self) -> Self {
        match self {
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            other => other,
        }
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// Does not hold.
    Not(Box<Expr>),
    /// `path op literal`.
    Compare {
        /// Dotted field path.
        path: String,
        /// The operator.
        op: CmpOp,
        /// The value compared with.
        value: Literal,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Literal),
    Open,
    Close,
}

fn filter_error(message: impl Into<String>) -> ApiError {
    ApiError::invalid("$filter", message)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn tokenize(input: &str) -> Result<Vec<Token>, ApiError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            tokens.push(Token::Open);
            i += 1;
        } else if c == ')' {
            tokens.push(Token::Close);
            i += 1;
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(filter_error("has an unterminated string literal")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Literal(Literal::String(text)));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == 'e'
                    || chars[i] == 'E'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            if chars.get(i).is_some_and(|c| is_word_char(*c)) {
                return Err(filter_error(format!("has a malformed number near '{text}'")));
            }
            let number = text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| filter_error(format!("has a malformed number '{text}'")))?;
            tokens.push(Token::Literal(Literal::Number(number)));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(match word.as_str() {
                "true" => Token::Literal(Literal::Bool(true)),
                "false" => Token::Literal(Literal::Bool(false)),
                "null" => Token::Literal(Literal::Null),
                _ => Token::Word(word),
            });
        } else {
            return Err(filter_error(format!("has an unexpected character '{c}'")));
        }
    }
    Ok(tokens)
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "and" | "or" | "not") || CmpOp::parse(word).is_some()
}

fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|segment| {
            segment.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && segment.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    fields: &'a Fields,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn or(&mut self, depth: usize) -> Result<Expr, ApiError> {
        let mut left = self.and(depth)?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ApiError> {
        let mut left = self.unary(depth)?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ApiError> {
        if depth >= MAX_DEPTH {
            return Err(filter_error(format!("is nested more than {MAX_DEPTH} levels deep")));
        }
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            return match self.next() {
                Some(Token::Close) => Ok(inner),
                _ => Err(filter_error("is missing a closing parenthesis")),
            };
        }
        self.comparison()
    }

    fn operand(&mut self) -> Result<Operand, ApiError> {
        match self.next() {
            Some(Token::Literal(literal)) => Ok(Operand::Literal(literal)),
            Some(Token::Word(word)) if !is_keyword(&word) => {
                if !valid_path(&word) {
                    return Err(filter_error(format!("has a malformed field path '{word}'")));
                }
                if !self.fields.allows(&word) {
                    return Err(filter_error(format!(
                        "uses the unknown field '{word}'; filterable fields: {}",
                        self.fields.list()
                    )));
                }
                Ok(Operand::Path(word))
            }
            Some(Token::Word(word)) => Err(filter_error(format!("expected a field or a value, found '{word}'"))),
            Some(Token::Open | Token::Close) => Err(filter_error("expected a field or a value, found a parenthesis")),
            None => Err(filter_error("ends where a field or a value was expected")),
        }
    }

    fn comparison(&mut self) -> Result<Expr, ApiError> {
        let left = self.operand()?;
        let op = match self.next() {
            Some(Token::Word(word)) => CmpOp::parse(&word)
                .ok_or_else(|| filter_error(format!("expected eq, ne, gt, ge, lt or le, found '{word}'")))?,
            _ => return Err(filter_error("expected eq, ne, gt, ge, lt or le")),
        };
        let right = self.operand()?;
        match (left, right) {
            (Operand::Path(path), Operand::Literal(value)) => Ok(Expr::Compare { path, op, value }),
            (Operand::Literal(value), Operand::Path(path)) => Ok(Expr::Compare { path, op: op.flipped(), value }),
            _ => Err(filter_error("each comparison needs one field and one value")),
        }
    }
}

enum Operand {
    Path(String),
    Literal(Literal),
}

/// A validated `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(pub Expr);

impl Filter {
    /// Parses `input`, allowing only `fields`; a 400 on `$filter` otherwise.
    pub fn parse(input: &str, fields: &Fields) -> Result<Self, ApiError> {
        if input.chars().count() > MAX_EXPRESSION_LEN {
            return Err(filter_error(format!("must be at most {MAX_EXPRESSION_LEN} characters")));
        }
        let tokens = tokenize(input)?;
        if tokens.is_empty() {
            return Err(filter_error("must not be empty"));
        }
        let mut parser = Parser { tokens, pos: 0, fields };
        let expr = parser.or(0)?;
        if let Some(token) = parser.peek() {
            let found = match token {
                Token::Word(w) => w.clone(),
                Token::Literal(l) => format!("{l:?}"),
                Token::Open => "(".into(),
                Token::Close => ")".into(),
            };
            return Err(filter_error(format!("has unexpected '{found}' after a complete expression")));
        }
        Ok(Self(expr))
    }

    /// Whether `item` satisfies the filter.
    pub fn matches(&self, item: &Value) -> bool {
        eval(&self.0, item)
    }
}

/// The value at a dotted path (`Null` when absent).
pub fn lookup<'a>(item: &'a Value, path: &str) -> &'a Value {
    let mut current = item;
    for segment in path.split('.') {
        match current.get(segment) {
            Some(next) => current = next,
            None => return &Value::Null,
        }
    }
    current
}

fn literal_value(literal: &Literal) -> Value {
    match literal {
        Literal::String(s) => Value::String(s.clone()),
        Literal::Number(n) => serde_json::Number::from_f64(*n).map(Value::Number).unwrap_or(Value::Null),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    }
}

/// Orders two JSON values of the same kind; `None` for different kinds.
fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn eval(expr: &Expr, item: &Value) -> bool {
    match expr {
        Expr::And(a, b) => eval(a, item) && eval(b, item),
        Expr::Or(a, b) => eval(a, item) || eval(b, item),
        Expr::Not(a) => !eval(a, item),
        Expr::Compare { path, op, value } => {
            let actual = lookup(item, path);
            let expected = literal_value(value);
            let ordering = compare_values(actual, &expected);
            match op {
                CmpOp::Eq => ordering == Some(Ordering::Equal),
                CmpOp::Ne => ordering != Some(Ordering::Equal),
                // Ordering against null is never true, as in OData.
                _ if actual.is_null() || expected.is_null() => false,
                CmpOp::Gt => ordering == Some(Ordering::Greater),
                CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
                CmpOp::Lt => ordering == Some(Ordering::Less),
                CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
            }
        }
    }
}

/// A validated `$orderBy`: `field [asc|desc], ...`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderBy(pub Vec<(String, bool)>);

impl OrderBy {
    /// Parses `input`, allowing only `fields`; a 400 on `$orderBy` otherwise.
    pub fn parse(input: &str, fields: &Fields) -> Result<Self, ApiError> {
        let invalid = |m: String| ApiError::invalid("$orderBy", m);
        if input.chars().count() > MAX_EXPRESSION_LEN {
            return Err(invalid(format!("must be at most {MAX_EXPRESSION_LEN} characters")));
        }
        let mut terms = Vec::new();
        for term in input.split(',') {
            let words: Vec<&str> = term.split_whitespace().collect();
            let (path, descending) = match words.as_slice() {
                [path] => (*path, false),
                [path, "asc"] => (*path, false),
                [path, "desc"] => (*path, true),
                [] => return Err(invalid("has an empty term".into())),
                _ => {
                    return Err(invalid(format!(
                        "term '{}' must be 'field', 'field asc' or 'field desc'",
                        term.trim()
                    )));
                }
            };
            if !valid_path(path) || !fields.allows(path) {
                return Err(invalid(format!("uses the unknown field '{path}'; sortable fields: {}", fields.list())));
            }
            terms.push((path.to_string(), descending));
        }
        if terms.len() > MAX_ORDER_TERMS {
            return Err(invalid(format!("may have at most {MAX_ORDER_TERMS} terms")));
        }
        Ok(Self(terms))
    }

    /// Compares two items by the terms; absent values sort first (last when
    /// descending), values of different kinds by kind.
    pub fn compare(&self, a: &Value, b: &Value) -> Ordering {
        for (path, descending) in &self.0 {
            let (x, y) = (lookup(a, path), lookup(b, path));
            let ordering = compare_values(x, y).unwrap_or_else(|| kind_rank(x).cmp(&kind_rank(y)));
            let ordering = if *descending { ordering.reverse() } else { ordering };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    }
}

fn kind_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A list request's `$filter` and `$orderBy`, parsed together so that one
/// 400 reports what is wrong with both.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// The order, if any (otherwise the list's natural order).
    pub order_by: OrderBy,
}

impl ListQuery {
    /// Parses both parameters against `fields`.
    pub fn parse(filter: Option<&str>, order_by: Option<&str>, fields: &Fields) -> Result<Self, ApiError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut collect = |err: ApiError| match err {
            ApiError::Validation(mut e) => errors.append(&mut e),
            other => errors.push(FieldError::new("query", other.to_string())),
        };
        // Blank means absent, unless it is too long to be anything.
        let given = |text: &&str| !text.trim().is_empty() || text.chars().count() > MAX_EXPRESSION_LEN;
        let filter = match filter.filter(given).map(|f| Filter::parse(f, fields)) {
            Some(Ok(f)) => Some(f),
            Some(Err(e)) => {
                collect(e);
                None
            }
            None => None,
        };
        let order_by = match order_by.filter(given).map(|o| OrderBy::parse(o, fields)) {
            Some(Ok(o)) => o,
            Some(Err(e)) => {
                collect(e);
                OrderBy::default()
            }
            None => OrderBy::default(),
        };
        if errors.is_empty() { Ok(Self { filter, order_by }) } else { Err(ApiError::Validation(errors)) }
    }

    /// Keeps the matching items and sorts them (stable: ties keep their order).
    pub fn apply(&self, mut items: Vec<Value>) -> Vec<Value> {
        if let Some(filter) = &self.filter {
            items.retain(|item| filter.matches(item));
        }
        if !self.order_by.0.is_empty() {
            items.sort_by(|a, b| self.order_by.compare(a, b));
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: Fields = Fields::new(&["name", "age", "active", "status", "address.city", "customFields.*"]);

    fn parse(input: &str) -> Result<Filter, ApiError> {
        Filter::parse(input, &FIELDS)
    }

    fn cmp(path: &str, op: CmpOp, value: Literal) -> Expr {
        Expr::Compare { path: path.into(), op, value }
    }

    fn message(err: ApiError) -> String {
        let problem = err.problem();
        let errors = problem.errors.unwrap();
        assert_eq!(errors[0].field, "$filter");
        errors[0].message.clone()
    }

    #[test]
    fn parses_every_literal_kind() {
        assert_eq!(parse("name eq 'Ada'").unwrap().0, cmp("name", CmpOp::Eq, Literal::String("Ada".into())));
        assert_eq!(parse("age ge -1.5").unwrap().0, cmp("age", CmpOp::Ge, Literal::Number(-1.5)));
        assert_eq!(parse("age lt 2e3").unwrap().0, cmp("age", CmpOp::Lt, Literal::Number(2000.0)));
        assert_eq!(parse("active eq true").unwrap().0, cmp("active", CmpOp::Eq, Literal::Bool(true)));
        assert_eq!(parse("status ne null").unwrap().0, cmp("status", CmpOp::Ne, Literal::Null));
        assert_eq!(parse("name eq 'O''Brien'").unwrap().0, cmp("name", CmpOp::Eq, Literal::String("O'Brien".into())));
        assert_eq!(parse("name eq ''").unwrap().0, cmp("name", CmpOp::Eq, Literal::String(String::new())));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let expr = parse("age gt 1 or age gt 2 and age gt 3").unwrap().0;
        let expected = Expr::Or(
            Box::new(cmp("age", CmpOp::Gt, Literal::Number(1.0))),
            Box::new(Expr::And(
                Box::new(cmp("age", CmpOp::Gt, Literal::Number(2.0))),
                Box::new(cmp("age", CmpOp::Gt, Literal::Number(3.0))),
            )),
        );
        assert_eq!(expr, expected);
    }

    #[test]
    fn not_binds_tighter_than_and_and_parentheses_group() {
        let expr = parse("not age gt 1 and age lt 5").unwrap().0;
        assert!(matches!(expr, Expr::And(ref l, _) if matches!(**l, Expr::Not(_))));
        let grouped = parse("not (age gt 1 and age lt 5)").unwrap().0;
        assert!(matches!(grouped, Expr::Not(ref inner) if matches!(**inner, Expr::And(..))));
        let item = json!({"age": 3});
        assert!(!parse("not (age gt 1 and age lt 5)").unwrap().matches(&item));
        assert!(parse("(age eq 1 or age eq 3) and (name eq null)").unwrap().matches(&item));
    }

    #[test]
    fn literal_first_comparisons_are_flipped() {
        assert_eq!(parse("18 le age").unwrap().0, cmp("age", CmpOp::Ge, Literal::Number(18.0)));
    }

    #[test]
    fn dotted_paths_reach_into_objects() {
        let item = json!({"address": {"city": "Lund"}, "customFields": {"shoe": {"size": 42}}});
        assert!(parse("address.city eq 'Lund'").unwrap().matches(&item));
        assert!(parse("customFields.shoe.size gt 41").unwrap().matches(&item));
        assert!(parse("customFields.missing eq null").unwrap().matches(&item));
    }

    #[test]
    fn unknown_fields_are_rejected_with_the_allowed_ones() {
        let msg = message(parse("nmae eq 'Ada'").unwrap_err());
        assert!(msg.contains("'nmae'") && msg.contains("address.city"), "{msg}");
        assert!(parse("address eq 'x'").is_err(), "only the allowed leaf");
        assert!(parse("customFields eq 1").is_err(), "the wildcard needs a sub-path");
        assert!(parse("address.city.x eq 1").is_err());
    }

    #[test]
    fn malformed_filters_are_rejected() {
        for bad in [
            "",
            "   ",
            "name",
            "name eq",
            "name eq 'Ada",
            "name eq 'Ada')",
            "(name eq 'Ada'",
            "name eq 'Ada' and",
            "name eq 'Ada' name eq 'B'",
            "name like 'Ada'",
            "name eq age",
            "'a' eq 'b'",
            "name eq 1x",
            "name eq 1.2.3",
            "name eq #",
            "and eq 1",
            "name..x eq 1",
            "name eq 'a' or or age eq 1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn deep_nesting_and_long_input_are_bounded() {
        let deep = format!("{}age eq 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(message(parse(&deep).unwrap_err()).contains("nested"));
        let nots = format!("{}age eq 1", "not ".repeat(MAX_DEPTH + 1));
        assert!(parse(&nots).is_err());
        let long = format!("name eq '{}'", "x".repeat(MAX_EXPRESSION_LEN));
        assert!(parse(&long).is_err());
    }

    #[test]
    fn comparisons_follow_types_and_nulls() {
        let item = json!({"name": "Ada", "age": 36, "active": true});
        assert!(parse("age eq 36.0").unwrap().matches(&item), "numbers compare numerically");
        assert!(parse("age gt 9").unwrap().matches(&item));
        assert!(!parse("age gt 'a'").unwrap().matches(&item), "different kinds never order");
        assert!(parse("age ne 'a'").unwrap().matches(&item));
        assert!(parse("name ge 'A' and name lt 'B'").unwrap().matches(&item));
        assert!(parse("active eq true and status eq null").unwrap().matches(&item));
        assert!(!parse("status lt 'x'").unwrap().matches(&item), "absent never orders");
        assert!(!parse("status ne null").unwrap().matches(&item));
        assert!(parse("not active eq false").unwrap().matches(&item));
    }

    #[test]
    fn order_by_sorts_by_several_terms() {
        let order = OrderBy::parse("status desc, name", &FIELDS).unwrap();
        assert_eq!(order.0, vec![("status".to_string(), true), ("name".to_string(), false)]);
        let query = ListQuery { filter: None, order_by: order };
        let items = vec![
            json!({"name": "b", "status": "a"}),
            json!({"name": "c"}),
            json!({"name": "a", "status": "a"}),
            json!({"name": "z", "status": "b"}),
        ];
        let names: Vec<String> = query.apply(items).iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["z", "a", "b", "c"]);
    }

    #[test]
    fn order_by_rejects_unknown_fields_and_bad_terms() {
        assert!(OrderBy::parse("name asc", &FIELDS).is_ok());
        assert!(OrderBy::parse("nope", &FIELDS).is_err());
        assert!(OrderBy::parse("name up", &FIELDS).is_err());
        assert!(OrderBy::parse("name,", &FIELDS).is_err());
        assert!(OrderBy::parse("name asc desc", &FIELDS).is_err());
        assert!(OrderBy::parse("name, age, status, active, address.city, customFields.a", &FIELDS).is_err());
    }

    #[test]
    fn list_queries_report_both_parameters_at_once() {
        let ApiError::Validation(errors) = ListQuery::parse(Some("x eq 1"), Some("y"), &FIELDS).unwrap_err() else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["$filter", "$orderBy"]);
        let query = ListQuery::parse(Some("age gt 1"), None, &FIELDS).unwrap();
        let kept = query.apply(vec![json!({"age": 1}), json!({"age": 2})]);
        assert_eq!(kept, vec![json!({"age": 2})]);
    }
}
