//! The statements the scanner records: `define(...)`, top-level `const`, assignments
//! (to `$table_prefix`, and of environment reads to variables later `eval()`ed),
//! `eval(...)` and `require`/`include`. Each method returns the index of the first
//! token after what it read.
//!
//! It must not track blocks or guards itself (that is `scanner.rs`), nor evaluate
//! anything beyond handing token ranges to the expression parser.

use super::Scanner;
use crate::wpconfig::reader::expr::{parse_value, static_string, var_name};
use crate::wpconfig::reader::ranges::{expression_end, source_text, split_args};
use crate::wpconfig::reader::token::{Kind, Op};
use crate::wpconfig::reader::{Assignment, Define, EnvEval, Include, Issue, Origin, Value};

impl Scanner<'_, '_> {
    pub(super) fn define(&mut self, i: usize) -> usize {
        let line = self.tokens.line(i);
        let Some(close) = self.tokens.partner(i + 1) else {
            self.issue(line, "define( without its closing parenthesis");
            return i + 1;
        };
        let args = split_args(self.tokens, i + 2, close);
        let (Some((name_start, name_end)), Some((value_start, value_end))) =
            (args.get(0), args.get(1))
        else {
            self.issue(line, "define() with fewer than two arguments");
            return close + 1;
        };
        let Some(name) = static_string(parse_value(self.tokens, name_start, name_end, 0)) else {
            self.issue(line, "define() with a name the reader cannot evaluate");
            return close + 1;
        };
        let value = parse_value(self.tokens, value_start, value_end, 0);
        self.push_define(name, value, line);
        close + 1
    }

    /// `const NAME = value, OTHER = value;` at the top level.
    pub(super) fn constant(&mut self, i: usize) -> usize {
        let mut k = i + 1;
        loop {
            let named =
                self.tokens.kind(k) == Some(Kind::Ident) && self.tokens.is_op(k + 1, Op::Assign);
            if !named {
                return k;
            }
            let end = expression_end(self.tokens, k + 2);
            let value = parse_value(self.tokens, k + 2, end, 0);
            let name = self.tokens.text(k).to_string();
            self.push_define(name, value, self.tokens.line(k));
            if !self.tokens.is_op(end, Op::Comma) {
                return end;
            }
            k = end + 1;
        }
    }

    fn push_define(&mut self, name: String, value: Value, line: u32) {
        let guarded = self.guarded_by_defined(&name);
        self.out.defines.push(Define {
            name,
            value,
            line,
            conditional: self.is_conditional(),
            guarded,
            preempted_by_include: guarded && self.seen_foreign_include,
            origin: Origin::File,
        });
    }

    /// `$name = …`, `$name .= …`, `$name ??= …`: records `$table_prefix`, and which
    /// variables hold an environment variable (for `eval($configExtra)`).
    pub(super) fn assignment(&mut self, i: usize) -> usize {
        let tokens = self.tokens;
        let member = i > 0
            && matches!(
                tokens.kind(i - 1),
                Some(Kind::Op(
                    Op::Arrow | Op::NullsafeArrow | Op::DoubleColon | Op::Dollar
                ))
            );
        let operator = match tokens.kind(i + 1) {
            Some(Kind::Op(op @ (Op::Assign | Op::ConcatAssign | Op::CoalesceAssign))) => op,
            _ => return i + 1,
        };
        if member {
            return i + 1;
        }
        let name = var_name(tokens.text(i));
        let end = expression_end(tokens, i + 2);
        let value = parse_value(tokens, i + 2, end, 0);
        if operator == Op::Assign {
            match value.top_env_var() {
                Some(var) => self.env_vars.insert(name.to_string(), var.to_string()),
                None => self.env_vars.remove(name),
            };
        }
        if name == "table_prefix" {
            let value = match operator {
                Op::ConcatAssign => {
                    Value::Unknown(format!(".= {}", source_text(tokens, i + 2, end)))
                }
                _ => value,
            };
            let only_if_unset =
                operator == Op::CoalesceAssign || self.guarded_by_unset("table_prefix");
            self.out.table_prefix_assignments.push(Assignment {
                value,
                line: tokens.line(i),
                conditional: self.is_conditional(),
                only_if_unset,
                preempted_by_include: only_if_unset && self.seen_foreign_include,
                origin: Origin::File,
            });
        }
        end
    }

    pub(super) fn eval(&mut self, i: usize) -> usize {
        let line = self.tokens.line(i);
        let Some(close) = self.tokens.partner(i + 1) else {
            return i + 1;
        };
        let var = if close == i + 3 && self.tokens.kind(i + 2) == Some(Kind::Var) {
            self.env_vars
                .get(var_name(self.tokens.text(i + 2)))
                .cloned()
        } else {
            parse_value(self.tokens, i + 2, close, 0)
                .top_env_var()
                .map(str::to_string)
        };
        match var {
            Some(var) => self.out.evals_env.push(EnvEval {
                var,
                line,
                defines_before: self.out.defines.len(),
                assignments_before: self.out.table_prefix_assignments.len(),
            }),
            None => self.issue(line, "eval() of code the reader cannot follow"),
        }
        close + 1
    }

    pub(super) fn include(&mut self, i: usize) -> usize {
        let end = expression_end(self.tokens, i + 1);
        let include = Include {
            statement: self.tokens.ident(i).unwrap_or("").to_ascii_lowercase(),
            target: parse_value(self.tokens, i + 1, end, 0),
            line: self.tokens.line(i),
        };
        self.seen_foreign_include |= !include.is_wp_settings();
        self.out.includes.push(include);
        end
    }

    fn issue(&mut self, line: u32, message: &str) {
        self.out.issues.push(Issue {
            line,
            message: message.to_string(),
            fatal: false,
        });
    }
}
