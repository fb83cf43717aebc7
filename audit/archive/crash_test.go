package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

// waitManifests waits until the archive folder holds at least n manifests.
func waitManifests(t *testing.T, dir string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if countFiles(dir, ManifestSuffix, false) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %d manifests in %s after %s", n, dir, timeout)
}

// countFiles counts files ending in suffix (hidden temporary files when
// hidden is set).
func countFiles(dir, suffix string, hidden bool) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".") == hidden && strings.Contains(d.Name(), suffix) {
			n++
		}
		return nil
	})
	return n
}

// TestArchiveSurvivesSIGKILL kills `brooks archive` twice while traffic
// flows, restarts it each time, and then stops it with SIGTERM: every
// acknowledged event must be in a closed part exactly once, every offset
// committed, and the ledger must agree with the collector.
func TestArchiveSurvivesSIGKILL(t *testing.T) {
	brooksBinary(t) // build before the traffic starts
	p := stacktest.Start(t)
	cfg := testenv.Require(t, testenv.Kafka, testenv.Cassandra)
	ks, store := ledgerKeyspace(t)
	dir := t.TempDir()
	group := testenv.Name("archive")
	start := time.Now().UTC()
	env := []string{
		"BROOKS_TOPIC=" + p.Cfg.Topic,
		"BROOKS_ARCHIVE_DIR=" + dir,
		"BROOKS_KEYSPACE=" + ks,
		"BROOKS_KAFKA_BROKERS=" + strings.Join(cfg.KafkaBrokers, ","),
		"BROOKS_CASSANDRA_HOSTS=" + strings.Join(cfg.CassandraHosts, ","),
		"BROOKS_CUSTOMERS_FILE=" + cfg.CustomersFile,
		"BROOKS_LOG_LEVEL=debug",
	}
	args := []string{"archive", "--group", group, "--roll-interval", "700ms", "--session-timeout", "6s", "--http-addr", "127.0.0.1:0"}

	// Traffic for ~15 s at a steady rate, in the background, so both kills
	// and the restarts (each waits out the dead member's 6 s session)
	// happen while events flow.
	type result struct {
		rep *loadgen.Report
		err error
	}
	sent := make(chan result, 1)
	go func() {
		rep, err := loadgen.Run(context.Background(), loadgen.Options{Target: p.URL, Seed: 7, Events: 6000, Rate: 400, Batch: 10, Concurrency: 4})
		sent <- result{rep, err}
	}()

	for kill := 1; kill <= 2; kill++ {
		a := startBrooks(t, env, args...)
		waitManifests(t, dir, 3*kill, 40*time.Second)
		time.Sleep(time.Duration(300*kill) * time.Millisecond)
		if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-a.done
		t.Logf("SIGKILL %d after %s: %d manifests, %d temporary files left", kill, time.Since(a.started).Round(time.Millisecond),
			countFiles(dir, ManifestSuffix, false), countFiles(dir, ".tmp-", true))
	}
	last := startBrooks(t, env, args...)

	res := <-sent
	if res.err != nil || res.rep.Failed > 0 || res.rep.Expectations.Straddled > 0 {
		t.Fatalf("loadgen: %v, %d failed, %d straddled", res.err, res.rep.Failed, res.rep.Expectations.Straddled)
	}
	exp := res.rep.Expectations
	waitArchived(t, NewLocalMust(t, dir), exp, start, 90*time.Second)
	time.Sleep(1500 * time.Millisecond) // room for doubles to show up

	// The running archiver serves its health and metrics.
	base := "http://" + httpAddr(t, last.log)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, code := httpGet(t, base+"/readyz"); code == 200 {
			break
		}
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "brooks_archive_parts_closed_total"} {
		body, code := httpGet(t, base+path)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d %.200s", path, code, body)
		}
	}
	metrics, _ := httpGet(t, base+"/metrics")
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "brooks_archive_skipped_total") || strings.HasPrefix(l, "brooks_archive_events_total") {
			t.Logf("last archiver: %s", l)
		}
	}

	if err := last.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-last.done:
		if err != nil {
			t.Fatalf("brooks archive after SIGTERM: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("brooks archive did not stop within 40s of SIGTERM")
	}
	logb, _ := os.ReadFile(last.log)
	if !bytes.Contains(logb, []byte("archiver stopped")) {
		t.Errorf("clean shutdown not logged")
	}

	sink := NewLocalMust(t, dir)
	seen, perCustomer, parts := archived(t, sink, start, time.Now().Add(time.Hour))
	checkExactlyOnce(t, p.Cfg, seen, exp)
	t.Logf("%d events in %d closed parts", len(seen), parts)
	for c, ids := range exp.EIDs {
		if got, want := perCustomer[c], tallyOf(ids); got != want {
			t.Errorf("%s: manifests' tally %+v, loadgen's %+v", c, got, want)
		}
	}
	// SIGTERM closed every part: the last process left no temporary file.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".") {
			if info, _ := d.Info(); info != nil && !info.ModTime().Before(last.started) {
				t.Errorf("open part left by the SIGTERMed archiver: %s", path)
			}
		}
		return nil
	})
	checkCommittedToEnd(t, cfg.KafkaBrokers, p.Cfg.Topic, group)

	// The ledger: the collector's tallies flushed by a Recorder, the
	// archive's recorded by the archiver processes; `brooks ledger` and
	// `brooks archive verify` agree.
	rec := &ledger.Recorder{Acc: p.Ledger, Store: store, Stage: ledger.StageCollector, Writer: ledger.WriterID("collector")}
	if err := rec.Flush(testenv.Context(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	settled := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	for c := range exp.EIDs {
		out, code := runBrooks(t, env, "ledger", "--customer", c, "--from", start.Format(time.RFC3339), "--now", settled, "--grace", "1m")
		if code != 0 || !strings.Contains(out, "all stages agree") || !strings.Contains(out, "COLLECTOR") || !strings.Contains(out, "ARCHIVE") {
			t.Errorf("brooks ledger --customer %s: exit %d\n%s", c, code, out)
		}
		hours, err := store.Read(testenv.Context(t, time.Minute), c, start, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var col, arc ledger.Tally
		for _, st := range hours {
			col.Merge(st[ledger.StageCollector])
			arc.Merge(st[ledger.StageArchive])
		}
		if want := tallyOf(exp.EIDs[c]); col != want || arc != want {
			t.Errorf("%s ledger: collector %+v, archive %+v, want %+v", c, col, arc, want)
		}
		out, code = runBrooks(t, env, "archive", "verify", "--customer", c, "--from", start.Format(time.RFC3339))
		if code != 0 || !strings.Contains(out, "every part matches its manifest") {
			t.Errorf("brooks archive verify --customer %s: exit %d\n%s", c, code, out)
		}
	}

	// A doubled event in the archive stage: brooks ledger says so and exits 1.
	var c string
	for c = range exp.EIDs {
		break
	}
	dup := exp.EIDs[c][0]
	hours, _ := store.Read(testenv.Context(t, time.Minute), c, start, time.Now().Add(time.Hour))
	var h time.Time
	for h = range hours {
		break
	}
	if err := store.Record(testenv.Context(t, time.Minute), ledger.StageArchive, "test", "dup", map[ledger.Key]ledger.Tally{{Customer: c, Hour: h}: tallyOf([]string{dup})}); err != nil {
		t.Fatal(err)
	}
	out, code := runBrooks(t, env, "ledger", "--customer", c, "--from", start.Format(time.RFC3339), "--now", settled, "--format", "json")
	var rep struct {
		OK    bool `json:"ok"`
		Hours []struct {
			Status   string           `json:"status"`
			Findings []ledger.Finding `json:"findings"`
		} `json:"hours"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("brooks ledger --format json: %v\n%s", err, out)
	}
	found := false
	for _, hr := range rep.Hours {
		for _, f := range hr.Findings {
			found = found || (hr.Status == ledger.StatusMismatch && f.Message == "archive: 1 more than collector")
		}
	}
	if code != 1 || rep.OK || !found {
		t.Errorf("brooks ledger with a doubled archive event: exit %d\n%s", code, out)
	}
}
