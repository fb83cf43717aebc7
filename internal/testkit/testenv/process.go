package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StateDir is the local stack's state folder: BROOKS_STATE, or .brooks at
// the repository root (deploy/local/stack.sh's default).
func StateDir(t testing.TB) string {
	if s := os.Getenv("BROOKS_STATE"); s != "" {
		return s
	}
	return filepath.Join(RepoRoot(t), ".brooks")
}

// ServerPID reads the pid of a server deploy/local started (its pid file
// under StateDir), for benchmarks that measure the server's CPU.
func ServerPID(t testing.TB, server string) (int, error) {
	b, err := os.ReadFile(filepath.Join(StateDir(t), server, "pid"))
	if err != nil {
		return 0, fmt.Errorf("%s pid file: %w", server, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("%s pid file: %w", server, err)
	}
	return pid, nil
}

// clockTicks is USER_HZ on Linux, the unit of /proc's CPU times.
const clockTicks = 100

// ParseStat reads a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat line:
// the command name and the user plus system CPU time; ok is false for a
// malformed line.
func ParseStat(line string) (name string, cpu time.Duration, ok bool) {
	i, j := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if i < 0 || j < i {
		return "", 0, false
	}
	// Fields after the parenthesised name; utime and stime are the 14th
	// and 15th fields of the line.
	f := strings.Fields(line[j+1:])
	if len(f) < 13 {
		return "", 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return line[i+1 : j], time.Duration(ut+st) * time.Second / clockTicks, true
}

// ProcessCPU is a process's user plus system CPU time so far; ok is false
// when it cannot be read.
func ProcessCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	_, d, ok := ParseStat(string(b))
	return d, ok
}

// EnvInt is a benchmark's positive integer setting from the environment
// variable name, or def when it is unset or not a positive integer.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
