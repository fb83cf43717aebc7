package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/cass"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/shadow/cutover"
)

// TestCutoverTwoProcessesAdvance runs two `brooks cutover advance`
// processes of the built binary on the same customer at once: exactly one
// wins, the other fails with the conflict error naming the new state; the
// history has one entry, forced, with the unmet gates' values.
func TestCutoverTwoProcessesAdvance(t *testing.T) {
	cfg := testenv.Require(t, testenv.Cassandra)
	ks := testenv.Name("cutovercli")
	ctx := testenv.Context(t, 2*time.Minute)
	if err := cass.EnsureKeyspace(ctx, cfg.CassandraHosts, ks, 1); err != nil {
		t.Fatal(err)
	}
	s, err := cass.Connect(cfg.CassandraHosts, ks)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Query("DROP KEYSPACE IF EXISTS " + ks).Exec()
		s.Close()
	})
	if err := cutover.Migrate(ctx, s, ks); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "brooks")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	brooks := func(args ...string) (int, string) {
		cmd := exec.CommandContext(ctx, bin, append(args, "--keyspace", ks)...)
		cmd.Dir = testenv.RepoRoot(t)
		cmd.Env = append(os.Environ(), "BROOKS_STATE="+testenv.StateDir(t))
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	// No nextgen at that address and no freshness source: the gates fail,
	// --force records them.
	advance := []string{"cutover", "advance", "--customer", "acme.example", "--from", "legacy", "--force", "--reason", "race",
		"--nextgen-url", "http://127.0.0.1:1", "--nextgen-metrics-url", ""}
	var wg sync.WaitGroup
	codes, outs := make([]int, 2), make([]string, 2)
	start := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			codes[i], outs[i] = brooks(advance...)
		}()
	}
	close(start)
	wg.Wait()
	wins, conflicts := 0, 0
	for i := range 2 {
		switch {
		case codes[i] == 0 && strings.Contains(outs[i], "now shadow (version 1)"):
			wins++
		case codes[i] == 1 && strings.Contains(outs[i], "changed concurrently") && strings.Contains(outs[i], "now shadow at version 1"):
			conflicts++
		}
	}
	if wins != 1 || conflicts != 1 {
		t.Fatalf("want one win and one conflict:\n[%d] %s\n[%d] %s", codes[0], outs[0], codes[1], outs[1])
	}
	t.Logf("loser: %s", strings.TrimSpace(outs[0]+outs[1]))
	code, out := brooks("cutover", "history", "--customer", "acme.example")
	if code != 0 || strings.Count(out, "legacy → shadow") != 1 || !strings.Contains(out, "FORCED") || !strings.Contains(out, "nextgen_data") {
		t.Errorf("history: exit %d\n%s", code, out)
	}
	code, out = brooks("cutover", "status", "--customer", "acme.example")
	if code != 0 || !strings.Contains(out, "shadow") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	code, out = brooks("cutover", "rollback", "--customer", "acme.example")
	if code != 2 || !strings.Contains(out, "--reason is required") {
		t.Errorf("rollback without a reason: exit %d\n%s", code, out)
	}
}
