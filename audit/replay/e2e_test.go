package replay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/internal/audittest"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/audit/replay"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/loadgen"
	"github.com/brooksdata/brooks/query"
)

// replayAll replays every customer of the stack over [from, to), judged
// at now.
func replayAll(t *testing.T, s *audittest.Stack, from, to, now time.Time) map[string]*replay.Report {
	t.Helper()
	out := map[string]*replay.Report{}
	for _, c := range s.Customers.IDs() {
		o := replay.DefaultOptions()
		o.Sink, o.Customers, o.Legacy, o.Nextgen, o.Raw, o.Now = s.Sink, s.Customers, s.Legacy, s.Nextgen, s.Raw, now
		rep, err := replay.Run(testenv.Context(t, 2*time.Minute), o, c, from, to)
		if err != nil {
			t.Fatal(err)
		}
		out[c] = rep
	}
	return out
}

// days is the whole UTC days holding [a, b].
func days(a, b time.Time) (time.Time, time.Time) {
	return a.UTC().Truncate(24 * time.Hour), b.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
}

func ptr(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprint(*v)
}

func summary(reps map[string]*replay.Report) string {
	s := ""
	for c, r := range reps {
		s += fmt.Sprintf("%s: %s %v %v; ", c, r.Verdict, r.Counts, r.Reasons)
		for i, cv := range r.Faults() {
			if i == 3 {
				break
			}
			s += fmt.Sprintf("[%s %s %v %s truth %v legacy %s (its truth %s) nextgen %s: %s] ", cv.Interval, cv.Bucket.Format(time.RFC3339), cv.Key, cv.Metric, cv.Truth, ptr(cv.Legacy), ptr(cv.LegacyTruth), ptr(cv.Nextgen), cv.Verdict)
		}
	}
	return s
}

// TestReplayOfLoadgenTrafficIsBothRight sends loadgen traffic through the
// real collector, archiver, legacy ingester and nextgen engine: the
// replayed truth equals loadgen's exact expectations, and once both
// systems caught up every settled cell is "both right", the raw store
// equals the archive hour by hour, and the verdict is clean.
func TestReplayOfLoadgenTrafficIsBothRight(t *testing.T) {
	s := audittest.Start(t, audittest.Options{})
	start := time.Now().UTC()
	exp, n := s.Send(t, loadgen.Options{Seed: 21, Events: 3000})
	s.WaitArchived(t, int64(n), start.Add(-time.Hour))
	from, to := days(start, time.Now())
	now := to.Add(time.Hour)

	// The truth equals loadgen, cell by cell (customer, 5m bucket, url,
	// referrer category) and metric by metric.
	for _, c := range s.Customers.IDs() {
		tr, err := replay.Build(testenv.Context(t, time.Minute), s.Sink, s.Customers, c, from, to, replay.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Refused) > 0 {
			t.Fatalf("%s: refused parts %v", c, tr.Refused)
		}
		cust, _ := s.Customers.Get(c)
		q := query.Query{Customer: c, Metrics: query.Metrics, GroupBy: []string{"url", "referrer_category"}, From: from, To: to, Interval: "5m"}
		got := map[string]map[string]float64{}
		for _, se := range replay.Answer(tr.Rollup, &q, nil).Series {
			for _, p := range se.Points {
				got[fmt.Sprintf("%s|%s|%s", p.T.Format(time.RFC3339), se.Key["url"], se.Key["referrer_category"])] = p.Values
			}
		}
		want := 0
		for k, cell := range exp.Cells {
			if k.Customer != c {
				continue
			}
			want++
			id := fmt.Sprintf("%s|%s|%s", k.Bucket.Format(time.RFC3339), k.URL, k.RefCategory)
			g := got[id]
			w := map[string]float64{"pageviews": float64(cell.Pageviews), "engaged_seconds": float64(cell.Pings * cust.HeartbeatSeconds),
				"video_starts": float64(cell.VideoStarts), "visitors": float64(len(cell.Visitors)),
				"new_visitors": float64(len(cell.NewVisitors)), "returning_visitors": float64(len(cell.ReturningVisitors))}
			for m, v := range w {
				if g[m] != v {
					t.Errorf("%s %s %s: truth %v, loadgen %v", c, id, m, g[m], v)
				}
			}
		}
		if want == 0 || len(got) != want {
			t.Errorf("%s: truth has %d cells, loadgen %d", c, len(got), want)
		}
	}

	var reps map[string]*replay.Report
	audittest.Eventually(t, 2*time.Minute, func() string {
		reps = replayAll(t, s, from, to, now)
		for _, r := range reps {
			if !r.OK() {
				return "not clean yet: " + summary(reps)
			}
		}
		return ""
	})
	for c, r := range reps {
		legacyJudged := 0
		for _, cv := range r.Cells {
			if cv.LegacyStatus == replay.Right {
				legacyJudged++
			}
		}
		if r.Counts[replay.BothRight] == 0 || legacyJudged == 0 || r.ExitCode != replay.ExitClean || len(r.RawStore) == 0 {
			t.Errorf("%s: counts %v, %d cells judged on legacy, exit %d, %d raw-store hours", c, r.Counts, legacyJudged, r.ExitCode, len(r.RawStore))
		}
		for _, h := range r.RawStore {
			if h.Status != replay.RawOK {
				t.Errorf("%s raw store %s: %+v", c, h.Hour, h)
			}
		}
		t.Logf("%s: %d cells both right, %d distinct events, %d raw-store hours equal, replay %.2fs (archive read %.3fs)", c, r.Counts[replay.BothRight], r.Archive.Events, len(r.RawStore), r.ReplaySeconds, r.ReadSeconds)
	}

	// The command gives the same verdict, as one brooks.audit/v1 document.
	c := s.Customers.IDs()[0]
	out, code := brooks(t, "audit", "replay", "--customer", c, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339),
		"--now", now.Format(time.RFC3339), "--format", "json", "--archive-dir", s.ArchDir, "--keyspace", s.Keyspace,
		"--customers-file", s.Cfg.CustomersFile, "--legacy-url", s.LegacyURL, "--nextgen-url", s.NextgenURL)
	var doc replay.Report
	if err := json.Unmarshal(out, &doc); err != nil || code != 0 || doc.Schema != replay.Schema || doc.Verdict != replay.VerdictClean || doc.Counts[replay.BothRight] != reps[c].Counts[replay.BothRight] {
		t.Errorf("brooks audit replay: exit %d, %v, verdict %q schema %q counts %v\n%.2000s", code, err, doc.Verdict, doc.Schema, doc.Counts, out)
	}

	// Judged at the wall clock with a settle delay longer than the
	// traffic's age, nothing is settled: inconclusive, never a pass.
	o := replay.DefaultOptions()
	o.Sink, o.Customers, o.Legacy, o.Nextgen, o.SettleDelay = s.Sink, s.Customers, s.Legacy, s.Nextgen, 48*time.Hour
	rep, err := replay.Run(testenv.Context(t, time.Minute), o, s.Customers.IDs()[0], from, to)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != replay.VerdictInconclusive || rep.ExitCode != replay.ExitInconclusive || rep.Compared != 0 {
		t.Errorf("nothing settled: verdict %s exit %d compared %d, want inconclusive, 3, 0", rep.Verdict, rep.ExitCode, rep.Compared)
	}
	out, code = brooks(t, "audit", "replay", "--customer", c, "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339),
		"--settle", "48h", "--archive-dir", s.ArchDir, "--keyspace", s.Keyspace,
		"--customers-file", s.Cfg.CustomersFile, "--legacy-url", s.LegacyURL, "--nextgen-url", s.NextgenURL)
	if code != replay.ExitInconclusive || !strings.Contains(string(out), "INCONCLUSIVE") {
		t.Errorf("brooks audit replay, nothing settled: exit %d\n%s", code, out)
	}
}

// TestReplayAttributesLegacyDoubleCount kills a legacy ingester between
// its flush to Redis and MongoDB and its offset commit (System One's
// documented at-least-once double count); the next ingester reads the
// records again. The replay names legacy wrong, bucket by bucket, with
// legacy above its truth by exactly the page views counted twice, and
// nextgen right everywhere.
func TestReplayAttributesLegacyDoubleCount(t *testing.T) {
	s := audittest.Start(t, audittest.Options{NoLegacyIngester: true})
	start := time.Now().UTC()
	_, n := s.Send(t, loadgen.Options{Seed: 5, Events: 2000})
	crash := errors.New("simulated crash between flush and commit")
	crashed, stop := s.RunLegacy(t, crash)
	ctx := testenv.Context(t, 3*time.Minute)
	for crashed.Stats().Flushes == 0 && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); !errors.Is(err, crash) {
		t.Fatalf("crashed ingester returned %v, want the simulated crash", err)
	}
	twice := float64(crashed.Stats().RealtimePageviews)
	if st := crashed.Stats(); st.Committed != 0 || twice == 0 {
		t.Fatalf("crashed ingester: %+v, want page views flushed and nothing committed", st)
	}
	in, _ := s.RunLegacy(t, nil)
	audittest.Eventually(t, 2*time.Minute, func() string {
		if st := in.Stats(); st.Committed < int64(n) {
			return fmt.Sprintf("second ingester committed %d of %d records", st.Committed, n)
		}
		return ""
	})
	s.WaitArchived(t, int64(n), start.Add(-time.Hour))
	from, to := days(start, time.Now())
	now := to.Add(time.Hour)

	var reps map[string]*replay.Report
	var extra float64
	audittest.Eventually(t, 2*time.Minute, func() string {
		reps = replayAll(t, s, from, to, now)
		extra = 0
		for _, r := range reps {
			if r.Counts[replay.NextgenWrong]+r.Counts[replay.BothWrong] > 0 {
				return "nextgen not caught up: " + summary(reps)
			}
			for _, cv := range r.Faults() {
				if cv.Interval == "5m" && len(cv.Key) == 0 && cv.Metric == "pageviews" {
					extra += *cv.Legacy - *cv.LegacyTruth
				}
			}
		}
		if extra != twice {
			return fmt.Sprintf("legacy counts %v page views more than the truth in its 5m buckets, want %v: %s", extra, twice, summary(reps))
		}
		return ""
	})
	buckets := 0
	for c, r := range reps {
		for _, cv := range r.Faults() {
			if cv.Verdict != replay.LegacyWrong || cv.Legacy == nil || cv.LegacyTruth == nil || *cv.Legacy <= *cv.LegacyTruth {
				t.Errorf("%s: %+v: want legacy wrong, above its truth", c, cv)
			}
			if cv.NextgenStatus != replay.Right && cv.NextgenStatus != replay.OutsideView {
				t.Errorf("%s: %+v: nextgen %s", c, cv, cv.NextgenStatus)
			}
			if cv.Interval == "5m" && len(cv.Key) == 0 {
				buckets++
			}
		}
		if r.Counts[replay.LegacyWrong] > 0 && (r.ExitCode != replay.ExitFault || r.Verdict != replay.VerdictFault) {
			t.Errorf("%s: verdict %s exit %d with legacy wrong", c, r.Verdict, r.ExitCode)
		}
	}
	if buckets == 0 {
		t.Fatal("no 5-minute bucket attributed to legacy")
	}
	// The ledger names the legacy stage and the hour: the crashed
	// ingester's tallies and the second one's add up to more than the
	// distinct post page views of the archive.
	audittest.Eventually(t, time.Minute, func() string {
		named := 0
		for _, c := range s.Customers.IDs() {
			ctx := testenv.Context(t, time.Minute)
			hours, err := s.Ledger.Read(ctx, c, from, to)
			if err != nil {
				t.Fatal(err)
			}
			// Legacy is judged on what it counts: the archive's distinct
			// post page views (as bin/brooks ledger adds them).
			truth, err := archive.Truth(ctx, s.Sink, c, from, to, 6*time.Hour,
				map[string]archive.Subset{ledger.StageTruth: nil, ledger.StageTruthLegacy: legacy.Counts(s.Customers)})
			if err != nil {
				t.Fatal(err)
			}
			for stage, byHour := range truth {
				for h, tally := range byHour {
					if hours[h] == nil {
						hours[h] = map[string]ledger.Tally{}
					}
					hours[h][stage] = tally
				}
			}
			for _, h := range ledger.Compare(c, hours, from, to, now, time.Minute).Hours {
				for _, f := range h.Findings {
					if f.Stage == ledger.StageLegacy && f.Kind == ledger.KindCountedTwice && f.Reference == ledger.StageTruthLegacy {
						named++
						t.Logf("ledger: %s %s: %s", c, h.Hour.Format("15:04"), f.Message)
					} else {
						return fmt.Sprintf("ledger: %s %s: unexpected finding %+v", c, h.Hour, f)
					}
				}
			}
		}
		if named == 0 {
			return "the ledger names no legacy hour"
		}
		return ""
	})
	t.Logf("a crash between flush and commit: %v page views counted twice, found in %d 5-minute buckets, all attributed to legacy", twice, buckets)
}

// TestReplayRefusesADamagedPart archives events of two past hours, then
// truncates one part of the first hour and flips a byte of another: the
// replay refuses both by name, leaves the first hour's buckets unjudged,
// and still judges the second hour (both right).
func TestReplayRefusesADamagedPart(t *testing.T) {
	s := audittest.Start(t, audittest.Options{})
	c := "acme.example"
	h0 := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	urls := []string{"https://acme.example/post/1", "https://acme.example/post/2", "https://acme.example/about"}
	first := audittest.PastEvents(1, c, urls, h0.Add(10*time.Minute), 40*time.Minute, 300)
	second := audittest.PastEvents(2, c, urls, h0.Add(time.Hour+10*time.Minute), 40*time.Minute, 300)
	s.Produce(t, first[:150])
	time.Sleep(1500 * time.Millisecond) // a roll interval: the first hour gets two parts
	s.Produce(t, append(first[150:], second...))
	s.WaitArchived(t, 600, h0)
	from, to := h0, h0.Add(2*time.Hour)
	now := time.Now().Add(time.Hour)
	audittest.Eventually(t, 2*time.Minute, func() string {
		reps := replayAll(t, s, from, to, now)
		if !reps[c].OK() {
			return "not clean yet: " + summary(reps)
		}
		return ""
	})

	mans, _, err := archive.Manifests(context.Background(), s.Sink, c, h0, h0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(mans) < 2 {
		t.Fatalf("hour %s has %d parts, want 2", h0, len(mans))
	}
	truncated, flipped := mans[0].Key, mans[1].Key
	damage(t, filepath.Join(s.ArchDir, truncated), func(b []byte) []byte { return b[:len(b)/2] })
	damage(t, filepath.Join(s.ArchDir, flipped), func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b })

	rep := replayAll(t, s, from, to, now)[c]
	refused := map[string]string{}
	for _, r := range rep.Archive.Refused {
		refused[r.Key] = r.Reason
	}
	if refused[truncated] == "" || refused[flipped] == "" || len(refused) != 2 {
		t.Fatalf("refused %v, want %s and %s", refused, truncated, flipped)
	}
	if rep.Verdict != replay.VerdictFault || rep.ExitCode != replay.ExitFault {
		t.Errorf("verdict %s exit %d, want fault 1", rep.Verdict, rep.ExitCode)
	}
	judged, unjudged := 0, 0
	for _, cv := range rep.Cells {
		inFirst := cv.Bucket.Before(h0.Add(time.Hour))
		switch {
		case inFirst && cv.Verdict != replay.Unsettled:
			t.Errorf("%+v: judged, but its hour has a refused part", cv)
		case inFirst:
			unjudged++
		case cv.Verdict != replay.BothRight:
			t.Errorf("%+v: want both right", cv)
		default:
			judged++
		}
	}
	if judged == 0 || unjudged == 0 {
		t.Errorf("%d cells judged in the intact hour, %d unjudged in the damaged one", judged, unjudged)
	}
	t.Logf("refused: %v; %d cells judged both right, %d left unjudged", refused, judged, unjudged)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// brooks runs the built binary and returns its stdout and exit code.
func brooks(t *testing.T, args ...string) ([]byte, int) {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "brooks-audit-test")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "brooks")
		out, err := exec.Command("go", "build", "-o", binary, filepath.Join(testenv.RepoRoot(t), "cmd", "brooks")).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cmd := exec.Command(binary, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Logf("brooks %v: exit %d, stderr:\n%.3000s", args, code, stderr.String())
	}
	return out, code
}

func damage(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(b), 0o644); err != nil {
		t.Fatal(err)
	}
}
