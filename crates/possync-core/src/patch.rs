//! Patches: the difference between two versions of an order, as sent in
//! `change` messages. Applying every patch in version order to the order at
//! the previous version yields exactly the server's order.

use crate::ids::LineId;
use crate::order::{Line, Order};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patch {
    /// The top-level order fields that changed, with their new values.
    pub header: Map<String, Value>,
    /// New lines (appended) and changed lines (replaced in place).
    pub upsert_lines: Vec<Line>,
    pub remove_lines: Vec<LineId>,
}

#[derive(Debug, thiserror::Error)]
#[error("patch does not apply: {0}")]
pub struct PatchError(String);

impl Patch {
    /// The patch that turns `before` into `after`.
    pub fn between(before: &Order, after: &Order) -> Patch {
        let mut header = Map::new();
        macro_rules! diff_fields {
            ($($field:ident),*) => {$(
                if before.$field != after.$field {
                    // Serializing the domain types cannot fail: no maps with non-string keys.
                    header.insert(
                        stringify!($field).to_owned(),
                        serde_json::to_value(&after.$field).unwrap_or(Value::Null),
                    );
                }
            )*};
        }
        diff_fields!(
            id,
            reference,
            state,
            version,
            origin,
            shared,
            customer_id,
            note,
            totals,
            lock,
            payments,
            change,
            invoice,
            paid_by,
            removed_line_ids,
            created_at,
            updated_at,
            updated_by
        );
        let before_lines: BTreeMap<LineId, &Line> =
            before.lines.iter().map(|line| (line.id, line)).collect();
        let after_ids: std::collections::BTreeSet<LineId> =
            after.lines.iter().map(|line| line.id).collect();
        let upsert_lines = after
            .lines
            .iter()
            .filter(|line| before_lines.get(&line.id) != Some(line))
            .cloned()
            .collect();
        let remove_lines = before
            .lines
            .iter()
            .map(|line| line.id)
            .filter(|line_id| !after_ids.contains(line_id))
            .collect();
        Patch {
            header,
            upsert_lines,
            remove_lines,
        }
    }

    /// Applies the patch to `order`, as a terminal does with a `change` message.
    /// The result is parsed like any order: a patch that would leave the order
    /// inconsistent (totals that are not the sums of the lines) is refused.
    pub fn apply_to(&self, order: &Order) -> Result<Order, PatchError> {
        let mut lines: Vec<Line> = order
            .lines
            .iter()
            .filter(|line| !self.remove_lines.contains(&line.id))
            .cloned()
            .collect();
        for line in &self.upsert_lines {
            match lines.iter_mut().find(|existing| existing.id == line.id) {
                Some(existing) => *existing = line.clone(),
                None => lines.push(line.clone()),
            }
        }
        let mut value =
            serde_json::to_value(order).map_err(|error| PatchError(error.to_string()))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| PatchError("order is not an object".into()))?;
        for (field, field_value) in &self.header {
            if field == "lines" {
                return Err(PatchError("lines change through upsert_lines".into()));
            }
            object.insert(field.clone(), field_value.clone());
        }
        object.insert(
            "lines".to_owned(),
            serde_json::to_value(lines).map_err(|error| PatchError(error.to_string()))?,
        );
        serde_json::from_value(value).map_err(|error| PatchError(error.to_string()))
    }
}
