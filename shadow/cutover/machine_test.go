package cutover

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/quick"
)

func TestApplyEveryPair(t *testing.T) {
	legal := map[[2]State]Action{
		{Legacy, Shadow}: Advance, {Shadow, Live}: Advance, {Live, Complete}: Advance,
		{Shadow, Legacy}: Rollback, {Live, Shadow}: Rollback, {Complete, Live}: Rollback,
	}
	all := append(slices.Clone(States), "", "half")
	for _, from := range all {
		for _, to := range all {
			a, err := Check(from, to)
			want, ok := legal[[2]State{from, to}]
			if ok && (err != nil || a != want) {
				t.Errorf("%q → %q: %v %v, want %s", from, to, a, err, want)
			}
			if !ok && (err == nil || !errors.Is(err, ErrIllegal)) {
				t.Errorf("%q → %q: allowed (%s), want ErrIllegal", from, to, a)
			}
		}
	}
}

func TestApplyEnds(t *testing.T) {
	for _, tt := range []struct {
		s    State
		a    Action
		want State
		err  string
	}{
		{Legacy, Advance, Shadow, ""},
		{Legacy, Rollback, "", "first state"},
		{Complete, Advance, "", "last state"},
		{Complete, Rollback, Live, ""},
		{"half", Advance, "", "not a state"},
		{Shadow, "jump", "", "unknown action"},
	} {
		got, err := Apply(tt.s, tt.a)
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrIllegal) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s %s: %v, want error naming %q", tt.s, tt.a, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s %s = %s, %v; want %s", tt.s, tt.a, got, err, tt.want)
		}
	}
}

// TestApplyRandomSequences: over random action sequences the state is
// always valid, moves exactly one step on success, stays put on a refusal,
// and refusals happen only at the ends.
func TestApplyRandomSequences(t *testing.T) {
	prop := func(seed uint64, n uint8) bool {
		r := rand.New(rand.NewPCG(seed, 1))
		s, pos := Legacy, 0
		for range int(n) {
			a := Advance
			if r.IntN(2) == 0 {
				a = Rollback
			}
			next, err := Apply(s, a)
			switch {
			case err != nil:
				if (a == Advance && pos != len(States)-1) || (a == Rollback && pos != 0) {
					return false
				}
			case a == Advance:
				pos++
				s = next
			default:
				pos--
				s = next
			}
			if !s.Valid() || States[pos] != s {
				return false
			}
			if back, err := Check(s, States[max(pos-1, 0)]); pos > 0 && (err != nil || back != Rollback) {
				return false
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}
