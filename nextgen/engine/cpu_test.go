package engine_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brooksdata/brooks/internal/testkit/testenv"
)

// cpuMeter samples CPU time of this process and of the local stack's
// servers (their pid files under BROOKS_STATE, default .brooks), so a
// benchmark can say where each event's CPU goes.
type cpuMeter struct {
	pids  map[string]int
	start map[string]time.Duration
}

func newCPUMeter(t testing.TB) *cpuMeter {
	m := &cpuMeter{pids: map[string]int{}}
	for _, s := range []string{testenv.Kafka, testenv.Cassandra, testenv.Elasticsearch} {
		if pid, err := testenv.ServerPID(t, s); err == nil {
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
		if d, ok := testenv.ProcessCPU(pid); ok {
			out[name] = d
		}
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
