package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Servers are the local stack's servers whose CPU is measured, as
// deploy/local names their state folders (STATE/<server>/pid).
var Servers = []string{"kafka", "redis", "ferretdb", "cassandra", "elasticsearch"}

// clockTicks is USER_HZ on Linux, the unit of /proc's CPU times.
const clockTicks = 100

// parseStat reads a /proc/<pid>/stat line: user plus system CPU time; ok is
// false for a malformed line.
func parseStat(line string) (time.Duration, bool) {
	j := strings.LastIndexByte(line, ')')
	if j < 0 {
		return 0, false
	}
	// utime and stime are the 14th and 15th fields; 12th and 13th after
	// the parenthesised command name.
	f := strings.Fields(line[j+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * time.Second / clockTicks, true
}

// processCPU is a live process's user plus system CPU time so far.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	d, ok := parseStat(string(b))
	if !ok {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return d, nil
}

// serverPIDs reads the servers' pid files under state; a server without one
// is left out (and named in missing).
func serverPIDs(state string) (pids map[string]int, missing []string) {
	pids = map[string]int{}
	for _, s := range Servers {
		b, err := os.ReadFile(filepath.Join(state, s, "pid"))
		if err != nil {
			missing = append(missing, s)
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			missing = append(missing, s)
			continue
		}
		pids[s] = pid
	}
	return pids, missing
}

// cpuSnapshot is the CPU time of each named process at one moment.
type cpuSnapshot map[string]time.Duration

func readCPU(pids map[string]int) (cpuSnapshot, error) {
	s := cpuSnapshot{}
	for name, pid := range pids {
		d, err := processCPU(pid)
		if err != nil {
			return nil, fmt.Errorf("cpu of %s (pid %d): %w", name, pid, err)
		}
		s[name] = d
	}
	return s, nil
}

// machineCPU is the whole machine's busy CPU time so far (every core:
// user, nice, system, irq, softirq, steal), from /proc/stat.
func machineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: malformed first line")
	}
	var ticks int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

func numCPU() int { return runtime.NumCPU() }

// loadAvg is /proc/loadavg's three figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
