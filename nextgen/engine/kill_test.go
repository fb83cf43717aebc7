package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/stacktest"
	"github.com/brooksdata/brooks/internal/testkit/testenv"
	"github.com/brooksdata/brooks/loadgen"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// brooksBinary builds cmd/brooks once per test run.
func brooksBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "brooks-engine-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "brooks")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/brooks")
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/brooks: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// startEngine runs `brooks nextgen run` as a child process on e's topic,
// keyspace, index prefix and group; its log goes to a file shown on failure.
func startEngine(t *testing.T, e *env, n int) *exec.Cmd {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("engine-%d.log", n))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(brooksBinary(t), "nextgen", "run", "--group", e.group, "--http-addr", "127.0.0.1:0",
		"--flush-interval", "300ms", "--daily-flush-interval", "900ms", "--session-timeout", "6s")
	cmd.Env = append(os.Environ(),
		"BROOKS_TOPIC="+e.cfg.Topic, "BROOKS_KEYSPACE="+e.cfg.Keyspace, "BROOKS_INDEX_PREFIX="+e.cfg.IndexPrefix,
		"BROOKS_CUSTOMERS_FILE="+e.cfg.CustomersFile, "BROOKS_LOG_LEVEL=info")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("engine %d log:\n%s", n, b)
		}
	})
	return cmd
}

// waitProgress waits until the group has committed more than from records
// in all.
func waitProgress(t *testing.T, e *env, from int64, wait time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if n := sumMap(groupOffsets(t, e.cfg, e.group)); n > from {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no commit beyond %d records within %v", from, wait)
	return 0
}

// The engine is killed with SIGKILL twice while loadgen traffic flows, at
// random moments after it made progress, and restarted each time; a last
// run catches up and stops with SIGTERM. The stored documents still equal
// loadgen's exact expectations: nothing counted twice, nothing lost; and
// the raw and rollup stages of the ledger equal the collector's tallies.
func TestSIGKILLMidStream(t *testing.T) {
	from := time.Now().UTC()
	p := stacktest.Start(t)
	e := newEnv(t, p.Cfg)
	brooksBinary(t)

	var (
		rep     *loadgen.Report
		sendErr error
		sent    = make(chan struct{})
	)
	go func() {
		defer close(sent)
		rep, sendErr = loadgen.Run(context.Background(), loadgen.Options{Target: p.URL, Seed: 42, Events: 30000, Rate: 1500, Batch: 20, Concurrency: 4})
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	var progress int64
	for round := 1; round <= 2; round++ {
		cmd := startEngine(t, e, round)
		progress = waitProgress(t, e, progress, time.Minute)
		time.Sleep(time.Duration(rng.IntN(700)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("round %d: SIGKILL after %d records committed", round, progress)
	}
	cmd := startEngine(t, e, 3)
	<-sent
	if sendErr != nil {
		t.Fatalf("loadgen: %v", sendErr)
	}
	if rep.Failed > 0 || rep.Expectations.Straddled > 0 {
		t.Fatalf("loadgen: %d events not acknowledged, %d requests straddled a bucket", rep.Failed, rep.Expectations.Straddled)
	}
	waitCommitted(t, e.cfg, e.group, 3*time.Minute)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("engine after SIGTERM: %v", err)
	}
	checkLoadgen(t, e, rep.Expectations)
	n := checkLedger(t, e, p.Ledger, from, time.Now().Add(time.Hour))
	t.Logf("ledger: raw and rollup stages equal the collector's %d events after two SIGKILLs", n)
}
