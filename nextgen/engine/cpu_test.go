package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testenv"
)

// cpuMeter samples CPU time of this process and of the local stack's
// servers (their pid files under BROOKS_STATE, default .brooks), so a
// benchmark can say where each event's CPU goes.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
}

const clockTicks = 100 // USER_HZ on Linux

func newCPUMeter(t testing.TB) *cpuMeter {
	state := os.Getenv("BROOKS_STATE")
	if state == "" {
		state = filepath.Join(testenv.RepoRoot(t), ".brooks")
	}
	m := &cpuMeter{pids: map[string]int{}}
	for _, s := range []string{"kafka", "cassandra", "elasticsearch"} {
		b, err := os.ReadFile(filepath.Join(state, s, "pid"))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			m.pids[s] = pid
		}
	}
	m.start = m.sample()
	return m
}

func (m *cpuMeter) sample() map[string]time.Duration {
	out := map[string]time.Duration{}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out["engine (go)"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for name, pid := range m.pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name; utime and stime are
		// the 14th and 15th fields of the line.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		out[name] = time.Duration(ut+st) * time.Second / clockTicks
	}
	return out
}

// report logs CPU seconds and microseconds per event since the meter was
// made, and returns the total.
func (m *cpuMeter) report(b *testing.B, events int) {
	now := m.sample()
	var total time.Duration
	var parts []string
	for _, name := range []string{"engine (go)", "cassandra", "elasticsearch", "kafka"} {
		d, ok := now[name]
		if !ok {
			continue
		}
		d -= m.start[name]
		total += d
		parts = append(parts, fmt.Sprintf("%s %.1fs (%.0f µs/event)", name, d.Seconds(), float64(d.Microseconds())/float64(events)))
	}
	benchLog(b, "CPU: %s; total %.0f µs/event", strings.Join(parts, ", "), float64(total.Microseconds())/float64(events))
}
