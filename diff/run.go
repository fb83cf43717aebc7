package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/brooksdata/brooks/query"
)

// RunOptions are the flags of `brooks diff`.
type RunOptions struct {
	RulesFile string        // --rules: rules and tolerances (YAML); "" = none
	Now       string        // --now: RFC 3339; "" = the wall clock
	Settle    time.Duration // --settle
	Format    string        // --format: "text" or "json"
	SampleCap int           // --sample-cap
	// MinCompared (--min-compared): fewer compared cells is INCONCLUSIVE.
	MinCompared int
}

// DefaultRunOptions are the flag defaults.
func DefaultRunOptions() RunOptions {
	return RunOptions{Settle: DefaultSettleDelay, Format: "text", SampleCap: DefaultSampleCap, MinCompared: DefaultMinCompared}
}

// Options turns the flags into comparison Options, loading the rules file.
func (o RunOptions) Options() (Options, error) {
	opts := Options{SettleDelay: o.Settle, SampleCap: o.SampleCap, MinCompared: o.MinCompared}
	if o.Format != "text" && o.Format != "json" {
		return opts, fmt.Errorf("--format: %q is not text or json", o.Format)
	}
	if o.Settle < 0 {
		return opts, fmt.Errorf("--settle: %s is negative", o.Settle)
	}
	if o.MinCompared < 1 {
		return opts, fmt.Errorf("--min-compared: %d is less than 1 (comparing nothing proves nothing)", o.MinCompared)
	}
	if o.SampleCap < 0 {
		return opts, fmt.Errorf("--sample-cap: %d is negative", o.SampleCap)
	}
	if o.Now != "" {
		t, err := time.Parse(time.RFC3339, o.Now)
		if err != nil {
			return opts, fmt.Errorf("--now: %q is not an RFC 3339 time (like 2026-11-25T12:00:00Z)", o.Now)
		}
		opts.Now = t.UTC()
	}
	if o.RulesFile != "" {
		c, err := LoadConfig(o.RulesFile)
		if err != nil {
			return opts, fmt.Errorf("--rules: %w", err)
		}
		opts.Rules, opts.Tolerances = c.Rules, c.Tolerances
	}
	return opts, nil
}

// RunFiles compares two saved answers (JSON files), writes the report to w
// and returns the exit code of its verdict (ExitOK, ExitMismatch,
// ExitInconclusive). A non-nil error comes with ExitUsage and says
// which flag or file is at fault.
func RunFiles(w io.Writer, leftPath, rightPath string, o RunOptions) (int, error) {
	opts, err := o.Options()
	if err != nil {
		return ExitUsage, err
	}
	left, err := LoadAnswer(leftPath)
	if err != nil {
		return ExitUsage, err
	}
	right, err := LoadAnswer(rightPath)
	if err != nil {
		return ExitUsage, err
	}
	opts.LeftName = sideName(left.ServedBy, filepath.Base(leftPath))
	opts.RightName = sideName(right.ServedBy, filepath.Base(rightPath))
	if opts.LeftName == opts.RightName {
		opts.LeftName, opts.RightName = filepath.Base(leftPath), filepath.Base(rightPath)
	}
	if left.Query == nil && right.Query == nil {
		return ExitUsage, fmt.Errorf("%s, %s: neither answer echoes its query (\"query\"), so interval and range are unknown", leftPath, rightPath)
	}
	rep, err := CompareAnswers(left, right, opts)
	if err != nil {
		return ExitUsage, err
	}
	if o.Format == "json" {
		err = rep.JSON(w)
	} else {
		err = rep.Text(w)
	}
	if err != nil {
		return ExitUsage, fmt.Errorf("write report: %w", err)
	}
	return rep.Summary.Verdict.ExitCode(), nil
}

// LoadAnswer reads a saved answer: the JSON body of a 200 from POST
// /v1/query. An error body ({"error": ...}) or a file without "series" is
// an error naming the file.
func LoadAnswer(path string) (*query.Answer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := DecodeAnswer(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// DecodeAnswer decodes and checks an answer's JSON.
func DecodeAnswer(data []byte) (*query.Answer, error) {
	var probe struct {
		Series json.RawMessage `json:"series"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not an answer: %w", err)
	}
	if probe.Error != nil {
		return nil, fmt.Errorf("is an error response, not an answer: %s: %s", probe.Error.Code, probe.Error.Message)
	}
	if len(bytes.TrimSpace(probe.Series)) == 0 {
		return nil, errors.New(`not an answer: no "series" field`)
	}
	var a query.Answer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	if a.Query != nil {
		if err := a.Query.Validate(); err != nil {
			return nil, fmt.Errorf("query echo: %w", err)
		}
	}
	return &a, nil
}
