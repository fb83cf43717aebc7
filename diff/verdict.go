package diff

import "fmt"

// Verdict is the outcome of judging evidence: a diff report, an archive
// verification, a ledger, and the comparer, audit and cutover gates that
// build on them. No evidence is not a pass: when less was checked than a
// stated minimum the verdict is Inconclusive, never Match.
type Verdict string

// Verdicts, in JSON and reports (text reports upper-case them).
const (
	VerdictMatch        Verdict = "match"        // enough was checked and nothing differs
	VerdictMismatch     Verdict = "mismatch"     // something checked differs
	VerdictInconclusive Verdict = "inconclusive" // nothing differs, but too little was checked
)

// Exit codes shared by every command that judges evidence (brooks diff,
// compare, archive verify, ledger, loadgen check).
const (
	ExitOK           = 0 // verdict match
	ExitMismatch     = 1 // verdict mismatch
	ExitUsage        = 2 // bad flags, unreadable or invalid input, unknown customer
	ExitInconclusive = 3 // verdict inconclusive: less was checked than the minimum
)

// DefaultMinCompared is the default minimum of things checked for a
// verdict other than Inconclusive.
const DefaultMinCompared = 1

// Judge returns the verdict of checked things of which mismatches
// differ, against a minimum of minChecked. A mismatch is a mismatch however
// little was checked; otherwise fewer than minChecked (at least 1) is
// inconclusive.
func Judge(checked, mismatches, minChecked int) Verdict {
	switch {
	case mismatches > 0:
		return VerdictMismatch
	case checked < max(minChecked, 1):
		return VerdictInconclusive
	}
	return VerdictMatch
}

// ExitCode maps the verdict to its exit code.
func (v Verdict) ExitCode() int {
	switch v {
	case VerdictMatch:
		return ExitOK
	case VerdictMismatch:
		return ExitMismatch
	case VerdictInconclusive:
		return ExitInconclusive
	}
	return ExitUsage
}

// Upper is the verdict as text reports print it: MATCH, MISMATCH,
// INCONCLUSIVE.
func (v Verdict) Upper() string {
	switch v {
	case VerdictMatch:
		return "MATCH"
	case VerdictMismatch:
		return "MISMATCH"
	case VerdictInconclusive:
		return "INCONCLUSIVE"
	}
	return fmt.Sprintf("UNKNOWN(%s)", string(v))
}
