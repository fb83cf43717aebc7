package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runCapture runs the binary's run() in-process and returns its exit code,
// stdout and stderr.
func runCapture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outW, errW
	var out, errb bytes.Buffer
	done := make(chan struct{}, 2)
	go func() { io.Copy(&out, outR); done <- struct{}{} }()
	go func() { io.Copy(&errb, errR); done <- struct{}{} }()
	code := run(args)
	os.Stdout, os.Stderr = oldOut, oldErr
	outW.Close()
	errW.Close()
	<-done
	<-done
	return code, out.String(), errb.String()
}

// TestEvidenceCommandsRefuseToPassOnNothing: an unknown customer, an empty
// archive or a period without parts never exits 0.
func TestEvidenceCommandsRefuseToPassOnNothing(t *testing.T) {
	state := t.TempDir()
	t.Setenv("BROOKS_STATE", state)
	if err := os.MkdirAll(filepath.Join(state, "archive"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		errHas []string
	}{
		{"ledger, unknown customer", []string{"ledger", "--customer", "nope.example"}, 2, []string{`--customer "nope.example": not in`, "known: ["}},
		{"archive verify, unknown customer", []string{"archive", "verify", "--customer", "nope.example"}, 2, []string{`"nope.example": not in`, "not in the archive"}},
		{"archive verify, archive without customers", []string{"archive", "verify"}, 2, []string{"holds no customers"}},
		{"archive verify, empty period", []string{"archive", "verify", "--customer", "acme.example", "--from", "2026-11-25T10:00:00Z", "--to", "2026-11-25T10:00:00Z"}, 2, []string{"the period is empty"}},
		{"archive verify, known customer, no parts", []string{"archive", "verify", "--customer", "acme.example"}, 3, nil},
		{"diff, minimum below 1", []string{"diff", "a.json", "b.json", "--min-compared", "0"}, 2, []string{"--min-compared"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCapture(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q: %s", w, errs)
				}
			}
		})
	}
	// Inconclusive, as one JSON document.
	code, out, _ := runCapture(t, "archive", "verify", "--customer", "acme.example", "--format", "json")
	dec := json.NewDecoder(strings.NewReader(out))
	var doc struct {
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
	}
	if err := dec.Decode(&doc); err != nil || dec.More() || code != 3 || doc.Verdict != "inconclusive" || !strings.Contains(doc.Reason, "no closed parts") {
		t.Errorf("json: code %d, err %v, more %v, doc %+v\n%s", code, err, dec.More(), doc, out)
	}
}

// TestBinaryFromAnotherFolderUsesTheSameState builds bin/brooks into a
// copy of the checkout's layout and runs it from another folder: it reads
// the checkout's state, and where that state does not exist it says so
// instead of creating an empty one in the current folder.
func TestBinaryFromAnotherFolderUsesTheSameState(t *testing.T) {
	checkout, elsewhere := t.TempDir(), t.TempDir()
	customers, err := os.ReadFile("../../deploy/local/customers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(checkout, "deploy/local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, "deploy/local/customers.yaml"), customers, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(checkout, "bin", "brooks")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	brooks := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = elsewhere
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + elsewhere}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	code, out := brooks("archive", "verify")
	if code != 2 || !strings.Contains(out, "state "+filepath.Join(checkout, ".brooks")+" does not exist") {
		t.Errorf("no state: exit %d, output %s", code, out)
	}
	if err := os.MkdirAll(filepath.Join(checkout, ".brooks", "archive"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out = brooks("archive", "verify", "--customer", "acme.example", "--format", "json")
	if code != 3 || !strings.Contains(out, `"root": "`+filepath.Join(checkout, ".brooks", "archive")+`"`) {
		t.Errorf("checkout state: exit %d, output %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(elsewhere, ".brooks")); err == nil {
		t.Error("the command created .brooks in the current folder")
	}
}
