// Package diff compares two answers to the same query — legacy against
// nextgen, or either against ground truth replayed from the raw log — and
// classifies every difference. It is pure Go with no servers: the shadow
// comparer, the audit, the cutover gates and the operator reports build on it.
//
// A comparison has three steps:
//
//  1. Normalize turns a query.Answer into a Result: a flat slice of cells
//     (series, bucket, metric, value) sorted by series key, bucket start and
//     metric name, with URL keys normalised (pixel.NormalizeURL), times in
//     UTC aligned to the query's buckets, and zero cells dropped because a
//     missing bucket means zero.
//  2. Compare merge-joins two Results and puts every cell present on either
//     side in exactly one class: matched, within_tolerance, expected (an
//     expected-difference Rule explains it), unsettled (the bucket is too
//     recent to judge), missing_left, missing_right or value_drift.
//  3. The Report counts each class overall and per metric, keeps capped
//     samples, counts every rule's hits, and renders as JSON (schema
//     "brooks.diff/v1", see README.md) or text. Report.OK is the verdict: no
//     missing_left, missing_right or value_drift.
//
// Usage:
//
//	rules, err := diff.ParseRules(yamlBytes)
//	opts := diff.DefaultOptions()
//	opts.Now, opts.Rules = time.Now(), rules
//	rep, err := diff.CompareAnswers(legacyAnswer, nextgenAnswer, opts)
//	if !rep.OK() { ... rep.Text(os.Stderr) ... }
//
// RunFiles is the body of the `brooks diff LEFT.json RIGHT.json` command.
package diff
