package diff

import "testing"

func TestJudge(t *testing.T) {
	tests := []struct {
		name                       string
		checked, mismatches, floor int
		want                       Verdict
		code                       int
	}{
		{"nothing checked", 0, 0, 1, VerdictInconclusive, ExitInconclusive},
		{"below the minimum", 4, 0, 5, VerdictInconclusive, ExitInconclusive},
		{"minimum below 1 counts as 1", 0, 0, 0, VerdictInconclusive, ExitInconclusive},
		{"at the minimum", 5, 0, 5, VerdictMatch, ExitOK},
		{"a mismatch is a mismatch however little was checked", 1, 1, 5, VerdictMismatch, ExitMismatch},
		{"mismatch", 10, 2, 1, VerdictMismatch, ExitMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(tt.checked, tt.mismatches, tt.floor)
			if v != tt.want || v.ExitCode() != tt.code {
				t.Errorf("Judge(%d, %d, %d) = %s (exit %d), want %s (exit %d)", tt.checked, tt.mismatches, tt.floor, v, v.ExitCode(), tt.want, tt.code)
			}
		})
	}
	if VerdictInconclusive.Upper() != "INCONCLUSIVE" || Verdict("x").ExitCode() != ExitUsage {
		t.Error("Upper/ExitCode of unknown verdicts")
	}
}
