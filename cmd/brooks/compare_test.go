package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brooksdata/brooks/diff"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
)

// TestTwoLoadgenRunsAndCompare is the newcomer's path on the real stack:
// two `bin/brooks loadgen` runs in a row into a pipeline feeding both
// systems. The runs use different seeds by default; both systems' answers
// equal the sum of both runs' expectations (`loadgen check`, which also
// finds the difference when one run is left out); `bin/brooks compare`
// says MATCH on the settled range and INCONCLUSIVE while it is unsettled.
func TestTwoLoadgenRunsAndCompare(t *testing.T) {
	s := startDual(t)
	dir := t.TempDir()
	seedRe := regexp.MustCompile(`loadgen: seed (\d+) \(repeat this run with --seed \d+\)`)
	var seeds, files []string
	for i, events := range []string{"1200", "800"} {
		f := filepath.Join(dir, "exp"+string(rune('1'+i))+".jsonl")
		code, out, errs := runCapture(t, "loadgen", "--target", s.p.URL, "--events", events, "--batch", "20", "--concurrency", "4", "--expect", f)
		if code != 0 || !strings.Contains(out, "0 failed, 0 straddled") {
			t.Fatalf("loadgen run %d: exit %d\n%s\n%s", i+1, code, out, errs)
		}
		m := seedRe.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("loadgen run %d does not print its seed:\n%s", i+1, out)
		}
		seeds, files = append(seeds, m[1]), append(files, f)
	}
	if seeds[0] == seeds[1] {
		t.Fatalf("two runs used the same default seed %s", seeds[0])
	}
	lines, err := loadgen.ReadExpectations(files...)
	if err != nil {
		t.Fatal(err)
	}
	customers := testenv.Customers(t)

	// Both systems answer the sum of both runs (wait for them to catch up).
	for _, api := range []string{s.legacyURL, s.nextgenURL} {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			m, err := loadgen.Check(context.Background(), query.NewClient(api), lines, customers)
			if err != nil {
				t.Fatal(err)
			}
			if m.Verdict == diff.VerdictMatch {
				break
			}
			if time.Now().After(deadline) {
				var b strings.Builder
				m.Text(&b)
				t.Fatalf("%s never equalled both runs' expectations:\n%s", api, b.String())
			}
			time.Sleep(time.Second)
		}
		code, out, errs := runCapture(t, "loadgen", "check", "--expect", files[0]+","+files[1], "--api", api)
		if code != 0 {
			t.Errorf("loadgen check %s, both runs: exit %d\n%s\n%s", api, code, out, errs)
		}
		code, out, _ = runCapture(t, "loadgen", "check", "--expect", files[0], "--api", api)
		if code != diff.ExitMismatch || !strings.Contains(out, "verdict: MISMATCH") {
			t.Errorf("loadgen check %s, first run only: exit %d, want %d\n%s", api, code, diff.ExitMismatch, out)
		}
	}

	// compare over the traffic's 5-minute range.
	from, to := lines[0].Bucket, lines[0].Bucket
	for _, l := range lines {
		if l.Bucket.Before(from) {
			from = l.Bucket
		}
		if l.Bucket.After(to) {
			to = l.Bucket
		}
	}
	to = to.Add(5 * time.Minute)
	for _, cust := range []string{"acme.example", "globex.example"} {
		args := []string{"compare", "--customer", cust, "--legacy-url", s.legacyURL, "--nextgen-url", s.nextgenURL,
			"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--format", "json"}
		// Settled: judged 10 minutes after the range ended.
		code, out, errs := runCapture(t, append(args, "--now", to.Add(10*time.Minute).Format(time.RFC3339))...)
		var m diff.MultiReport
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("compare %s: not one JSON document: %v\n%s\n%s", cust, err, out, errs)
		}
		if code != 0 || m.Verdict != diff.VerdictMatch || m.Total.Compared == 0 {
			t.Errorf("compare %s, settled: exit %d, verdict %s, %d compared, %d mismatches\n%s", cust, code, m.Verdict, m.Total.Compared, m.Total.Mismatches, textOf(t, args))
		}
		if cust == "acme.example" {
			t.Logf("bin/brooks compare, settled:\n%s", textOf(t, append(args, "--now", to.Add(10*time.Minute).Format(time.RFC3339))))
		}
		if m.Total.Expected == 0 {
			t.Errorf("compare %s: no cell explained by a rule; the posts-only rules were not applied", cust)
		}
		// Unsettled: the same range judged now, minutes after the traffic.
		code, out, _ = runCapture(t, args...)
		if err := json.Unmarshal([]byte(out), &m); err != nil || code != diff.ExitInconclusive || m.Verdict != diff.VerdictInconclusive || !strings.Contains(m.Reason, "no settled cells") {
			t.Errorf("compare %s, unsettled: exit %d, verdict %s, reason %q, err %v", cust, code, m.Verdict, m.Reason, err)
		}
	}
}

// textOf reruns a compare in text form, for a failure message.
func textOf(t *testing.T, args []string) string {
	t.Helper()
	var text []string
	for i := 0; i < len(args); i++ {
		if args[i] == "--format" {
			i++
			continue
		}
		text = append(text, args[i])
	}
	_, out, errs := runCapture(t, text...)
	return out + errs
}
