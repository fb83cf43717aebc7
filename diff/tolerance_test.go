package diff

import (
	"math"
	"testing"
)

func TestHLLStdError(t *testing.T) {
	tests := []struct {
		m    int
		want float64
	}{
		{16384, 0.008125}, // Redis
		{1024, 0.0325},
		{0, 0},
	}
	for _, tt := range tests {
		if got := HLLStdError(tt.m); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("HLLStdError(%d) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

func TestToleranceAllowed(t *testing.T) {
	tests := []struct {
		name   string
		tol    Tolerance
		l, r   float64
		eL, eR float64
		want   float64
	}{
		{"zero tolerance is exact", Tolerance{}, 100, 101, 0, 0, 0},
		{"default on exact metric is exact", DefaultTolerance(), 100, 101, 0, 0, 0},
		{"absolute", Tolerance{Absolute: 2}, 100, 101, 0, 0, 2},
		{"relative of the larger value", Tolerance{Relative: 0.1}, 100, 200, 0, 0, 20},
		{"one side states an error", Tolerance{StdErrors: 3}, 1000, 1000, 0.01, 0, 30},
		{"both sides state errors: added in quadrature", Tolerance{StdErrors: 2}, 100, 100, 0.03, 0.04, 10},
		{"assumed sketch error when none is stated", Tolerance{StdErrors: 3, RelativeStdError: HLLStdError(16384)}, 1000, 990, 0, 0, 24.375},
		{"stated error wins over the assumed one", Tolerance{StdErrors: 1, RelativeStdError: 0.5}, 100, 100, 0.01, 0, 1},
		{"largest bound wins", Tolerance{Absolute: 5, Relative: 0.01, StdErrors: 1}, 100, 100, 0.02, 0, 5},
		{"missing side: scale is the present value", Tolerance{Relative: 0.5}, 0, 4, 0, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tol.Allowed(tt.l, tt.r, tt.eL, tt.eR); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
		})
	}
}
