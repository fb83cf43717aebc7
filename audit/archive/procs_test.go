package archive

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

var binary struct {
	once sync.Once
	path string
	err  error
}

// brooksBinary builds cmd/brooks once per test run.
func brooksBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "brooks-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "brooks")
		cmd := exec.Command("go", "build", "-o", binary.path, "./cmd/brooks")
		cmd.Dir = testenv.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/brooks: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// proc is a `brooks` subprocess with its stderr in a file.
type proc struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	done    chan error
}

func startBrooks(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "brooks-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(brooksBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = testenv.RepoRoot(t)
	p := &proc{cmd: cmd, log: logf.Name(), started: time.Now(), done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("brooks %s log (tail):\n%s", strings.Join(args, " "), tail(b, 4000))
		}
	})
	return p
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// httpAddr finds the address the archiver logged it listens on.
func httpAddr(t *testing.T, logPath string) string {
	t.Helper()
	re := regexp.MustCompile(`msg="http listening".* addr=(\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(logPath)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no http address in %s", logPath)
	return ""
}

func httpGet(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return "", 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// runBrooks runs a short brooks command and returns its output and exit code.
func runBrooks(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(brooksBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = testenv.RepoRoot(t)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("brooks %v: %v", args, err)
	}
	return string(out), 0
}

// NewLocalMust opens the local sink at dir.
func NewLocalMust(t testing.TB, dir string) *Local {
	t.Helper()
	s, err := NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
