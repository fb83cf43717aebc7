package diff

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	legacy, nextgen := "testdata/legacy.json", "testdata/nextgen.json"
	noQuery := write("noquery.json", `{"served_by": "legacy", "series": []}`)
	tests := []struct {
		name        string
		left, right string
		mod         func(*RunOptions)
		code        int
		errHas      []string
	}{
		{name: "same answer matches", left: legacy, right: legacy, code: ExitOK},
		{name: "mismatch", left: legacy, right: nextgen, code: ExitMismatch},
		{name: "every difference explained or unsettled", left: legacy, right: nextgen, code: ExitOK, mod: func(o *RunOptions) {
			o.RulesFile = write("all.yaml", "rules:\n  - {id: known-drift, reason: test, effect: any, scope: {url: '/(post/[123]|about)$'}}\n")
		}},
		{name: "answer without query borrows the other's", left: noQuery, right: legacy, code: ExitMismatch},
		{name: "json format", left: legacy, right: legacy, code: ExitOK, mod: func(o *RunOptions) { o.Format = "json" }},
		{name: "missing file", left: filepath.Join(dir, "nope.json"), right: legacy, code: ExitUsage, errHas: []string{"nope.json", "no such file"}},
		{name: "not JSON", left: write("bad.json", "{"), right: legacy, code: ExitUsage, errHas: []string{"bad.json", "not an answer"}},
		{name: "error body", left: legacy, right: write("err.json", `{"error": {"code": "unsupported", "message": "legacy does not support engaged_seconds"}}`),
			code: ExitUsage, errHas: []string{"err.json", "is an error response", "engaged_seconds"}},
		{name: "no series", left: write("empty.json", `{"served_by": "x"}`), right: legacy, code: ExitUsage, errHas: []string{"empty.json", `no "series"`}},
		{name: "invalid query echo", left: write("q.json", `{"query": {"customer": "a", "metrics": ["pv"], "from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z", "interval": "5m"}, "series": []}`),
			right: legacy, code: ExitUsage, errHas: []string{"q.json", "query echo", `unknown metric "pv"`}},
		{name: "neither echoes a query", left: noQuery, right: noQuery, code: ExitUsage, errHas: []string{"neither answer echoes its query"}},
		{name: "different ranges", left: legacy, right: write("day.json", `{"query": {"customer": "acme.example", "metrics": ["pageviews"], "from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z", "interval": "5m"}, "series": []}`),
			code: ExitUsage, errHas: []string{"time ranges differ"}},
		{name: "bad point", left: legacy, right: write("pt.json", strings.Replace(readFile(t, nextgen), "10:05:00Z", "10:06:00Z", 1)),
			code: ExitUsage, errHas: []string{"right", "series 1 (url=https://acme.example/post/1): point 1", "not the start of a 5m UTC bucket"}},
		{name: "bad --now", left: legacy, right: legacy, mod: func(o *RunOptions) { o.Now = "yesterday" }, code: ExitUsage, errHas: []string{"--now", "RFC 3339"}},
		{name: "bad --format", left: legacy, right: legacy, mod: func(o *RunOptions) { o.Format = "html" }, code: ExitUsage, errHas: []string{"--format", "html"}},
		{name: "negative --settle", left: legacy, right: legacy, mod: func(o *RunOptions) { o.Settle = -time.Minute }, code: ExitUsage, errHas: []string{"--settle"}},
		{name: "negative --sample-cap", left: legacy, right: legacy, mod: func(o *RunOptions) { o.SampleCap = -1 }, code: ExitUsage, errHas: []string{"--sample-cap"}},
		{name: "bad rules file", left: legacy, right: legacy, mod: func(o *RunOptions) {
			o.RulesFile = write("bad.yaml", "rules:\n  - id: r9\n    reason: x\n    effect: lower\n")
		}, code: ExitUsage, errHas: []string{"--rules", "bad.yaml", `rule "r9"`, "effect", `"lower"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultRunOptions()
			o.Now = "2026-11-25T11:00:00Z"
			if tt.mod != nil {
				tt.mod(&o)
			}
			var out strings.Builder
			code, err := RunFiles(&out, tt.left, tt.right, o)
			if code != tt.code {
				t.Errorf("code = %d, want %d (err %v)", code, tt.code, err)
			}
			if (err != nil) != (len(tt.errHas) > 0) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if err == nil && out.Len() == 0 {
				t.Error("no report written")
			}
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunFilesWriteError(t *testing.T) {
	code, err := RunFiles(failWriter{}, "testdata/legacy.json", "testdata/legacy.json", DefaultRunOptions())
	if code != ExitUsage || err == nil {
		t.Errorf("code %d err %v", code, err)
	}
}

// TestRunFilesREADMEExample is the top README's example: today's totals
// from both APIs, compared during the day. No cell has settled (the one
// total bucket ends at midnight), so the verdict is inconclusive, never
// match, and the report says what to do.
func TestRunFilesREADMEExample(t *testing.T) {
	dir := t.TempDir()
	q := `{"customer":"acme.example","metrics":["pageviews"],"group_by":["url"],"from":"2026-11-25T00:00:00Z","to":"2026-11-26T00:00:00Z","interval":"total","order_by":"-pageviews","limit":5}`
	write := func(name, servedBy, series string) string {
		p := filepath.Join(dir, name)
		body := `{"served_by":"` + servedBy + `","query":` + q + `,"series":[` + series + `]}`
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pt := func(url string, n int) string {
		return `{"key":{"url":"` + url + `"},"points":[{"t":"2026-11-25T00:00:00Z","pageviews":` + strconv.Itoa(n) + `}]}`
	}
	left := write("legacy.json", "legacy", pt("https://acme.example/post/1", 10)+","+pt("https://acme.example/post/2", 7))
	right := write("nextgen.json", "nextgen", pt("https://acme.example/post/1", 12)+","+pt("https://acme.example/post/2", 7)+","+pt("https://acme.example/about", 3))
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			o := DefaultRunOptions()
			o.Now, o.Format = "2026-11-25T15:00:00Z", format
			var out strings.Builder
			code, err := RunFiles(&out, left, right, o)
			if err != nil {
				t.Fatal(err)
			}
			if code != ExitInconclusive {
				t.Errorf("exit code %d, want %d (inconclusive)\n%s", code, ExitInconclusive, out.String())
			}
			want := []string{"verdict: INCONCLUSIVE", "no settled cells", "choose a range that ended more than 10m0s ago"}
			if format == "json" {
				want = []string{`"verdict": "inconclusive"`, `"reason": "no settled cells`}
			}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	// The same answers a day later: settled, and the drift is a mismatch.
	o := DefaultRunOptions()
	o.Now = "2026-11-26T15:00:00Z"
	if code, err := RunFiles(io.Discard, left, right, o); err != nil || code != ExitMismatch {
		t.Errorf("settled: code %d, err %v; want %d", code, err, ExitMismatch)
	}
	// A minimum above what was compared is inconclusive too.
	o = DefaultRunOptions()
	o.Now, o.RulesFile = "2026-11-26T15:00:00Z", ""
	if code, _ := RunFiles(io.Discard, left, left, o); code != ExitOK {
		t.Errorf("self-compare: code %d, want 0", code)
	}
	o.MinCompared = 3
	if code, _ := RunFiles(io.Discard, left, left, o); code != ExitInconclusive {
		t.Errorf("2 cells compared, minimum 3: code %d, want %d", code, ExitInconclusive)
	}
}
