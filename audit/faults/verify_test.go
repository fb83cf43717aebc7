//go:build verify

package faults_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/faults"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

const target = "acme.example"

// row is one line of the fault table.
type row struct {
	kind                      faults.Kind
	system                    string
	caughtBy, detect, side    string
	metrics, buckets, comment string
	caught                    bool
	// the comparer's: caught, time to detect, metrics and buckets
	cmpCaught                         bool
	cmpDetect, cmpMetrics, cmpBuckets string
	// residue is what the comparer still reported after the undo and the
	// audit's clean replay ("" when nothing).
	residue string
}

// TestVerify plants every fault kind into each system, one after the
// other, on a stack fed by loadgen traffic, and checks that the audit
// replay reports it: the system at fault named alone ("legacy wrong" or
// "nextgen wrong"), for the planted customer, in the planted buckets, and
// nothing else. Each fault is undone and the stack replayed clean before
// the next. The table is logged and written to $BROOKS_VERIFY_TABLE.
func TestVerify(t *testing.T) {
	h := newHarness(t, loadgen.Options{Seed: 51, Events: 6000, Visitors: 400})
	h.waitClean(t, 3*time.Minute)
	h.startComparer(t)
	h.waitNoMismatch(t, 2*time.Minute)
	bucket, url := h.busiest(t, target)
	hour := bucket.Truncate(time.Hour)
	var rows []row
	for _, ki := range faults.Kinds {
		for _, sys := range []string{faults.Legacy, faults.Nextgen} {
			f := faults.Fault{Kind: ki.Kind, System: sys, Customer: target, From: bucket, To: bucket.Add(5 * time.Minute)}
			switch ki.Kind {
			case faults.DropFraction:
				f.Fraction = 0.3
			case faults.DropURL:
				f.URL = url
			case faults.DropHour:
				f.From, f.To = hour, hour.Add(time.Hour)
			}
			r := row{kind: ki.Kind, system: sys}
			switch ki.Kind {
			case faults.StaleAnswer:
				r = h.verifyStale(t, f)
			default:
				r = h.verifyStored(t, f)
			}
			t.Logf("%s × %s: audit caught=%v (%s) in %s, side %s, metrics %s, buckets %s; comparer caught=%v in %s, metrics %s, buckets %s %s", r.kind, r.system, r.caught, r.caughtBy, r.detect, r.side, r.metrics, r.buckets, r.cmpCaught, r.cmpDetect, r.cmpMetrics, r.cmpBuckets, r.comment)
			rows = append(rows, r)
		}
	}
	h.commandPlants(t, faults.Fault{Kind: faults.DropURL, System: faults.Legacy, Customer: target, From: bucket, To: bucket.Add(5 * time.Minute), URL: url})
	h.commandPlants(t, faults.Fault{Kind: faults.Double, System: faults.Nextgen, Customer: target, From: bucket, To: bucket.Add(5 * time.Minute)})
	table := renderTable(rows)
	t.Logf("\n%s", table)
	if p := os.Getenv("BROOKS_VERIFY_TABLE"); p != "" {
		if err := os.WriteFile(p, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, r := range rows {
		info, _ := faults.Info(r.kind)
		if !r.caught && info.Cannot[r.system] == "" {
			t.Errorf("%s × %s planted and not caught: %s", r.kind, r.system, r.comment)
		}
		if r.residue != "" {
			t.Errorf("%s × %s: after the undo the comparer is not silent: %s", r.kind, r.system, r.residue)
		}
	}
}

// verifyStored plants f in the stores, replays until the fault shows (or
// a settle window passes), judges the findings, undoes f and waits clean.
func (h *harness) verifyStored(t *testing.T, f faults.Fault) row {
	t.Helper()
	r := row{kind: f.Kind, system: f.System}
	p, err := h.planter.Plant(testenv.Context(t, 2*time.Minute), f)
	if errors.Is(err, faults.ErrNotPlantable) {
		r.caughtBy, r.detect, r.side, r.metrics, r.buckets = "not planted", "-", "-", "-", "-"
		r.cmpDetect, r.cmpMetrics, r.cmpBuckets = "-", "-", "-"
		info, _ := faults.Info(f.Kind)
		r.comment = info.Cannot[f.System]
		return r
	}
	if err != nil {
		t.Fatalf("plant %s: %v", f, err)
	}
	fd, took, cf, ctook := h.detect(t, f, p.PlantedAt)
	if err := p.Undo(testenv.Context(t, time.Minute)); err != nil {
		t.Fatalf("undo %s: %v", f, err)
	}
	h.waitClean(t, 2*time.Minute)
	r = r.fill(f, fd, took, cf, ctook)
	r.residue = h.comparerSilent(t, 2*time.Minute)
	return r
}

// verifyStale freezes f's system's answers for f's customer, sends more
// traffic, and replays until the fault shows; then thaws and waits clean.
func (h *harness) verifyStale(t *testing.T, f faults.Fault) row {
	t.Helper()
	stale := h.legacy
	if f.System == faults.Nextgen {
		stale = h.nextgen
	}
	h.replayAll(t) // the cache has every question's answer
	stale.Freeze(f.Customer)
	seed := uint64(52)
	if f.System == faults.Nextgen {
		seed = 53
	}
	h.send(t, loadgen.Options{Seed: seed, Events: 1500, Visitors: 200})
	at := time.Now()
	f.From, f.To = time.Time{}, time.Time{}
	fd, took, cf, ctook := h.detect(t, f, at)
	stale.Thaw()
	h.waitClean(t, 3*time.Minute)
	r := row{kind: f.Kind, system: f.System}
	r = r.fill(f, fd, took, cf, ctook)
	r.residue = h.comparerSilent(t, 2*time.Minute)
	return r
}

// detect replays until the report shows f (the caught findings are
// stable over two replays: the other system has caught up) or a settle
// window (the comparer's and the replay's default: diff's settle delay,
// here 2 minutes of wall clock with a test clock) passed.
// The comparer is polled alongside: its open mismatches must be of f's
// customer and buckets, and nothing else.
func (h *harness) detect(t *testing.T, f faults.Fault, since time.Time) (audit finding, took time.Duration, cmp finding, ctook time.Duration) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if took == 0 {
			audit = judge(f, h.replayAll(t))
			if len(audit.verdicts) > 0 && len(audit.others) == 0 {
				took = time.Since(since)
			}
		}
		if ctook == 0 {
			cmp = comparerFinding(f, h.openMismatches(t))
			if len(cmp.verdicts) > 0 && len(cmp.others) == 0 {
				ctook = time.Since(since)
			}
		}
		if (took > 0 && ctook > 0) || time.Now().After(deadline) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (r row) fill(f faults.Fault, fd finding, took time.Duration, cf finding, ctook time.Duration) row {
	r.metrics, r.buckets = join(fd.metrics), short(fd.buckets)
	r.cmpMetrics, r.cmpBuckets, r.cmpDetect = join(cf.metrics), short(cf.buckets), "-"
	switch {
	case ctook > 0:
		r.cmpCaught, r.cmpDetect = true, ctook.Round(100*time.Millisecond).String()
	case len(cf.verdicts) > 0:
		r.cmpDetect = fmt.Sprintf("not alone: %d other mismatches, e.g. %s", len(cf.others), cf.others[0])
	case len(cf.others) > 0:
		r.cmpDetect = fmt.Sprintf("not caught: %d mismatches outside the fault, e.g. %s", len(cf.others), cf.others[0])
	default:
		r.cmpDetect = "not caught"
	}
	sides := []string{}
	for v := range fd.verdicts {
		sides = append(sides, strings.TrimSuffix(v, " wrong"))
	}
	r.side = join(sides)
	switch {
	case len(fd.verdicts) > 0 && len(fd.others) == 0:
		r.caught, r.caughtBy, r.detect = true, "caught", took.Round(100*time.Millisecond).String()
	case len(fd.verdicts) > 0:
		r.caughtBy, r.detect = "not alone: other findings", "-"
		r.comment = fmt.Sprintf("%d other findings, e.g. %s", len(fd.others), fd.others[0])
	default:
		r.caughtBy, r.detect, r.side = "not caught", "-", "-"
		if len(fd.others) > 0 {
			r.comment = fmt.Sprintf("%d findings outside the fault, e.g. %s", len(fd.others), fd.others[0])
		} else {
			r.comment = "no finding within the settle window"
		}
	}
	return r
}

func short(buckets []string) string {
	if len(buckets) > 4 {
		return fmt.Sprintf("%s … (%d buckets)", strings.Join(buckets[:3], ", "), len(buckets))
	}
	return join(buckets)
}

func renderTable(rows []row) string {
	var b strings.Builder
	b.WriteString("| kind | planted in | audit replay | time to detect | side named | metrics named | buckets named | comparer (mismatch) | time to detect | buckets | note |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		cmp := "caught"
		if !r.cmpCaught {
			cmp = "not caught"
		}
		if r.caughtBy == "not planted" {
			cmp = "-"
		}
		note := r.comment
		if r.residue != "" {
			note = strings.TrimSpace(note + " after the undo the comparer still reported: " + r.residue)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.kind, r.system, r.caughtBy, r.detect, r.side, r.metrics, r.buckets, cmp, r.cmpDetect, r.cmpBuckets, note)
	}
	return b.String()
}

// commandPlants runs `brooks faults plant --hold` for f against the
// stack's stores, checks the audit replay catches the fault while it is
// held, and that the stores are clean once the command undid it.
func (h *harness) commandPlants(t *testing.T, f faults.Fault) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "brooks")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(testenv.RepoRoot(t), "cmd", "brooks")).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "faults", "plant", "--kind", string(f.Kind), "--system", f.System, "--customer", f.Customer,
		"--from", f.From.Format(time.RFC3339), "--to", f.To.Format(time.RFC3339), "--url", f.URL, "--hold", "1h",
		"--archive-dir", h.s.ArchDir, "--customers-file", h.s.Cfg.CustomersFile, "--index-prefix", h.s.ES.Names.Prefix,
		"--mongo-database", h.s.LegacyDB, "--key-prefix", h.s.LegacyStore.Options().KeyPrefix)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "holding for") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("brooks faults plant never planted:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	fd, took, _, _ := h.detect(t, f, time.Now())
	if took == 0 || len(fd.others) > 0 {
		t.Errorf("the fault planted by the command was not caught alone: %+v", fd)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "undone") {
		t.Fatalf("brooks faults plant: %v\n%s", err, out.String())
	}
	t.Logf("brooks faults plant %s: caught by the audit in %s; output:\n%s", f, took.Round(100*time.Millisecond), out.String())
	h.waitClean(t, 2*time.Minute)
	if msg := h.comparerSilent(t, 2*time.Minute); msg != "" {
		t.Errorf("after brooks faults plant was undone, the comparer still reports: %s", msg)
	}
}

// syncBuffer is an output buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
