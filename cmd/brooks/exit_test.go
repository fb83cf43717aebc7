package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/brooksdata/brooks/internal/component"
)

// TestExitCodes runs the binary's entry point on command lines that are
// wrong in each way cobra or a command can tell, without servers.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"version", []string{"--version"}, exitOK},
		{"help of a parent", []string{"legacy"}, exitOK},
		{"unknown command", []string{"nope"}, exitUsage},
		{"unknown subcommand", []string{"legacy", "typo"}, exitUsage},
		{"unknown flag", []string{"--nope"}, exitUsage},
		{"unknown shorthand", []string{"collector", "-z"}, exitUsage},
		{"flag without its value", []string{"legacy", "ingest", "--group"}, exitUsage},
		{"bad flag value", []string{"collector", "--kafka-timeout", "soon"}, exitUsage},
		{"extra argument", []string{"collector", "extra"}, exitUsage},
		{"bad configuration", []string{"--log-level", "loud", "collector"}, exitUsage},
		{"command's own usage error", []string{"diff", "only-one.json"}, exitUsage},
		{"bench with no duration", []string{"bench", "platform", "--duration", "0s"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(tt.args); got != tt.want {
				t.Errorf("brooks %v exited %d, want %d", tt.args, got, tt.want)
			}
		})
	}
}

// TestExitStatus checks the mapping from returned errors to statuses.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  int
		print bool
	}{
		{"nil", nil, exitOK, false},
		{"plain failure", errors.New("kafka: dial"), exitFailure, true},
		{"usage", usageError{errors.New("--format x")}, exitUsage, true},
		{"wrapped usage", fmt.Errorf("collector: %w", usageError{errors.New("customers file")}), exitUsage, true},
		{"chosen mismatch", exitCode(1), exitFailure, false},
		{"open on a public address", fmt.Errorf("%w on 0.0.0.0:8080", component.ErrUnauthenticated), exitUsage, true},
		{"chosen inconclusive", fmt.Errorf("verify: %w", exitCode(exitInconclusive)), exitInconclusive, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, print := exitStatus(tt.err)
			if got != tt.want || print != tt.print {
				t.Errorf("exitStatus(%v) = %d, %v; want %d, %v", tt.err, got, print, tt.want, tt.print)
			}
		})
	}
}

// TestShadowReportExit: only PASS exits 0; too few settled comparisons is
// not a pass.
func TestShadowReportExit(t *testing.T) {
	for verdict, want := range map[string]int{"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3} {
		got := 0
		var ec exitCode
		if err := shadowExit(verdict); errors.As(err, &ec) {
			got = int(ec)
		}
		if got != want {
			t.Errorf("shadow report %s: exit %d, want %d", verdict, got, want)
		}
	}
}
