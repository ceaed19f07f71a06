//! Reading an answer of the Prometheus API in one pass, straight into
//! series and samples: values are parsed as they are read, series and
//! samples are counted as they come, and nothing is held as a generic JSON
//! tree (serde's buffering of tagged enums included: the keys may come in
//! any order). An answer with too many series, or a series with more
//! samples than a range query asked for, is dropped at the first one over.

use super::{QueryError, QueryResult, Series};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

/// How much of an unexpected HTTP body an error keeps.
const ERROR_BODY_CHARS: usize = 500;

const HISTOGRAMS_SKIPPED: &str =
    "native histogram samples are not shown; query a quantile or a rate instead";

/// What one answer may hold.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_series: usize,
    /// In one series of a matrix.
    pub max_samples: usize,
}

/// The series of a success, or the error the answer describes. `status` is
/// the HTTP status, `body` the answer (or, for a failure, its start).
pub(super) fn decode(
    status: u16,
    body: &[u8],
    limits: Limits,
    query: &str,
) -> Result<QueryResult, QueryError> {
    let over_limit = Cell::new(false);
    let seed = AnswerSeed {
        // A scalar or a string is two items: a time and a value.
        max_items: limits.max_series.max(2),
        max_samples: limits.max_samples,
        over_limit: &over_limit,
    };
    let mut json = serde_json::Deserializer::from_slice(body);
    let answer = match seed
        .deserialize(&mut json)
        .and_then(|a| json.end().map(|()| a))
    {
        Ok(answer) => answer,
        Err(_) if over_limit.get() => {
            return Err(QueryError::TooManySeries {
                limit: limits.max_series,
                query: super::shortened(query),
            });
        }
        Err(e) if (200..300).contains(&status) => return Err(decode_error(e)),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            return Err(QueryError::Http {
                status,
                body: text.trim().chars().take(ERROR_BODY_CHARS).collect(),
            });
        }
    };
    if answer.status != "success" {
        return Err(QueryError::Api {
            error_type: answer.error_type,
            error: answer.error,
        });
    }
    let data = answer
        .data
        .ok_or_else(|| QueryError::Decode("a success without data".into()))?;
    let mut warnings = answer.warnings;
    let series = data.into_series(&mut warnings)?;
    Ok(QueryResult { series, warnings })
}

/// A data error's message without its place in the body: an answer is one
/// long line, and the message names what was wrong.
fn decode_error(e: serde_json::Error) -> QueryError {
    let text = e.to_string();
    QueryError::Decode(match text.rsplit_once(" at line ") {
        Some((message, _)) if e.is_data() => message.to_string(),
        _ => text,
    })
}

struct Answer {
    status: String,
    data: Option<Data>,
    error_type: String,
    error: String,
    warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum AnswerKey {
    Status,
    Data,
    ErrorType,
    Error,
    Warnings,
    #[serde(other)]
    Other,
}

/// The answer, with the limits on the items of its result and the samples
/// of a series.
#[derive(Clone, Copy)]
struct AnswerSeed<'a> {
    max_items: usize,
    max_samples: usize,
    /// Set when the result had more items than `max_items`.
    over_limit: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for AnswerSeed<'_> {
    type Value = Answer;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Answer, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for AnswerSeed<'_> {
    type Value = Answer;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus API answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Answer, A::Error> {
        let mut status = None;
        let mut answer = Answer {
            status: String::new(),
            data: None,
            error_type: String::new(),
            error: String::new(),
            warnings: Vec::new(),
        };
        while let Some(key) = map.next_key()? {
            match key {
                AnswerKey::Status => status = Some(map.next_value()?),
                AnswerKey::Data => answer.data = Some(map.next_value_seed(DataSeed(self))?),
                AnswerKey::ErrorType => answer.error_type = map.next_value()?,
                AnswerKey::Error => answer.error = map.next_value()?,
                AnswerKey::Warnings => answer.warnings = map.next_value()?,
                AnswerKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        answer.status = status.ok_or_else(|| de::Error::missing_field("status"))?;
        Ok(answer)
    }
}

/// `data`: its `resultType`, and its `result` read as items whatever the
/// type, so the two may come in either order.
struct Data {
    result_type: Option<String>,
    result: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum DataKey {
    ResultType,
    Result,
    #[serde(other)]
    Other,
}

struct DataSeed<'a>(AnswerSeed<'a>);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Data;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Data, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the data of an answer")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut data = Data {
            result_type: None,
            result: Vec::new(),
        };
        while let Some(key) = map.next_key()? {
            match key {
                DataKey::ResultType => data.result_type = Some(map.next_value()?),
                DataKey::Result => data.result = map.next_value_seed(ResultSeed(self.0))?,
                DataKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(data)
    }
}

/// `result`: a list of series (a vector or a matrix), or a time and a
/// value (a scalar or a string). Every item counts towards the limit.
struct ResultSeed<'a>(AnswerSeed<'a>);

impl<'de> DeserializeSeed<'de> for ResultSeed<'_> {
    type Value = Vec<Item>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Item>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed<'_> {
    type Value = Vec<Item>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Item>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ItemSeed(self.0.max_samples))? {
            if items.len() == self.0.max_items {
                self.0.over_limit.set(true);
                return Err(de::Error::custom("too many series"));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// One item of a result.
enum Item {
    /// A scalar's or a string's time or value: never read, as neither is
    /// a series (see `QueryError::ResultType`).
    Value,
    Series {
        series: Series,
        /// It carried native histogram samples, which are skipped.
        histograms: bool,
    },
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum SeriesKey {
    Metric,
    Value,
    Values,
    Histogram,
    Histograms,
    #[serde(other)]
    Other,
}

/// An item, with the most samples its series may have.
struct ItemSeed(usize);

impl<'de> DeserializeSeed<'de> for ItemSeed {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series, a time or a value")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item, E> {
        Ok(Item::Value)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item, E> {
        Ok(Item::Value)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item, E> {
        Ok(Item::Value)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Item, E> {
        Ok(Item::Value)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut series = Series {
            labels: BTreeMap::new(),
            samples: Vec::new(),
        };
        let mut histograms = false;
        while let Some(key) = map.next_key()? {
            match key {
                SeriesKey::Metric => series.labels = map.next_value()?,
                SeriesKey::Value => series.samples.push(map.next_value::<Sample>()?.0),
                SeriesKey::Values => series.samples = map.next_value_seed(SamplesSeed(self.0))?,
                SeriesKey::Histogram | SeriesKey::Histograms => {
                    histograms = true;
                    map.next_value::<IgnoredAny>()?;
                }
                SeriesKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Item::Series { series, histograms })
    }
}

/// `values`: at most this many samples.
struct SamplesSeed(usize);

impl<'de> DeserializeSeed<'de> for SamplesSeed {
    type Value = Vec<(DateTime<Utc>, f64)>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SamplesSeed {
    type Value = Vec<(DateTime<Utc>, f64)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of samples")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut samples = Vec::new();
        while let Some(Sample(sample)) = seq.next_element()? {
            if samples.len() == self.0 {
                return Err(de::Error::custom(format!(
                    "a series has more than {} samples, more than the query asked for",
                    self.0
                )));
            }
            samples.push(sample);
        }
        Ok(samples)
    }
}

/// `[<unix seconds>, "<value>"]`, read into a time and a number.
struct Sample((DateTime<Utc>, f64));

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sample, D::Error> {
        let (seconds, value) = <(f64, ValueText)>::deserialize(deserializer)?;
        Ok(Sample((time(seconds).map_err(de::Error::custom)?, value.0)))
    }
}

/// A sample's value, parsed from its string without keeping the string.
struct ValueText(f64);

impl<'de> Deserialize<'de> for ValueText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ValueText, D::Error> {
        struct Text;
        impl Visitor<'_> for Text {
            type Value = ValueText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample value as a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ValueText, E> {
                value(v).map(ValueText).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Text)
    }
}

fn time(seconds: f64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis((seconds * 1000.0).round() as i64)
        .ok_or_else(|| format!("timestamp {seconds} out of range"))
}

fn value(text: &str) -> Result<f64, String> {
    // Go's strconv writes these three; JSON has no numbers for them.
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        text => text
            .parse()
            .map_err(|_| format!("sample value {text:?} is not a number")),
    }
}

impl Data {
    /// The items as series, as the result type says they are.
    fn into_series(self, warnings: &mut Vec<String>) -> Result<Vec<Series>, QueryError> {
        let bad = QueryError::Decode;
        let result_type = self.result_type.unwrap_or_default();
        match result_type.as_str() {
            "vector" | "matrix" => {
                let vector = result_type == "vector";
                let mut series = Vec::with_capacity(self.result.len());
                for item in self.result {
                    let Item::Series {
                        series: s,
                        histograms,
                    } = item
                    else {
                        return Err(bad(format!("a {result_type} item is not a series")));
                    };
                    if histograms {
                        note(warnings, HISTOGRAMS_SKIPPED);
                    }
                    // A vector's histogram sample has no value: nothing to show.
                    if !(vector && s.samples.is_empty()) {
                        series.push(s);
                    }
                }
                Ok(series)
            }
            // Neither is a series labelled by version: the query is wrong,
            // which is not the same as no data.
            "scalar" => Err(QueryError::ResultType { answered: "scalar" }),
            "string" => Err(QueryError::ResultType { answered: "string" }),
            other => Err(bad(format!("unknown result type {other:?}"))),
        }
    }
}

fn note(warnings: &mut Vec<String>, warning: &str) {
    if !warnings.iter().any(|w| w == warning) {
        warnings.push(warning.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str, max_series: usize) -> Result<QueryResult, QueryError> {
        let limits = Limits {
            max_series,
            max_samples: 3,
        };
        decode(200, body.as_bytes(), limits, "sum by (version) (up)")
    }

    fn matrix(series: usize) -> String {
        let all: Vec<String> = (0..series)
            .map(|i| format!(r#"{{"metric":{{"version":"v{i}"}},"values":[[10,"1"],[25,"2"]]}}"#))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}}}}"#,
            all.join(",")
        )
    }

    #[test]
    fn up_to_the_series_limit_is_read_and_one_more_is_refused() {
        let at_limit = read(&matrix(3), 3).unwrap();
        assert_eq!(at_limit.series.len(), 3);
        assert_eq!(at_limit.series[2].labels["version"], "v2");
        assert_eq!(at_limit.series[2].samples[1].1, 2.0);
        let err = read(&matrix(4), 3).unwrap_err();
        assert_eq!(
            err,
            QueryError::TooManySeries {
                limit: 3,
                query: "sum by (version) (up)".into()
            }
        );
        assert!(
            err.to_string()
                .starts_with("Prometheus answered more than 3 series to `sum by (version) (up)`: "),
            "{err}"
        );
    }

    #[test]
    fn a_scalar_or_a_string_is_the_wrong_type_whatever_the_series_limit() {
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[12.5,"3"]}}"#;
        let string = r#"{"status":"success","data":{"resultType":"string","result":[1,"hi"]}}"#;
        for (body, answered) in [(scalar, "scalar"), (string, "string")] {
            assert_eq!(
                read(body, 1).unwrap_err(),
                QueryError::ResultType { answered }
            );
        }
    }

    #[test]
    fn the_keys_may_come_in_any_order() {
        let reordered = r#"{"data":{"result":[{"values":[[10,"1"]],"metric":{"version":"a"}}],
            "resultType":"matrix"},"warnings":["partial"],"status":"success","infos":["x"]}"#;
        let result = read(reordered, 10).unwrap();
        assert_eq!(result.series[0].labels["version"], "a");
        assert_eq!(result.warnings, ["partial"]);
    }

    #[test]
    fn histograms_are_skipped_with_a_warning() {
        let vector = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"version":"a"},"histogram":[10,{"count":"3","sum":"1","buckets":[]}]},
            {"metric":{"version":"b"},"value":[10,"1"]}]}}"#;
        let result = read(vector, 10).unwrap();
        assert_eq!(result.series.len(), 1);
        assert_eq!(result.warnings, [HISTOGRAMS_SKIPPED]);
    }

    #[test]
    fn odd_answers_are_decode_errors_without_a_place_in_the_body() {
        let wrong_value = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[10,"many"]]}]}}"#;
        let no_status = r#"{"data":{"resultType":"vector","result":[]}}"#;
        let four_samples = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[10,"1"],[25,"1"],[40,"1"],[55,"1"]]}]}}"#;
        for (body, message) in [
            (
                four_samples,
                "a series has more than 3 samples, more than the query asked for",
            ),
            (wrong_value, "sample value \"many\" is not a number"),
            (no_status, "missing field `status`"),
        ] {
            assert_eq!(
                read(body, 10).unwrap_err(),
                QueryError::Decode(message.into())
            );
        }
    }
}
