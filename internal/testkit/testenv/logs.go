package testenv

import (
	"strings"
	"sync"
)

// LogBuffer collects what loggers on several goroutines write (a server's
// handlers, a component's workers), for a test to read with String: for
// example, to check that no secret was logged.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
