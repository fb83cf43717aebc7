package cutover

import (
	"errors"
	"fmt"
	"slices"
)

// Action moves a customer one step: Advance forward in States, Rollback
// back. These are the only moves; no state is skipped.
type Action string

// The actions.
const (
	Advance  Action = "advance"
	Rollback Action = "rollback"
)

// ErrIllegal is wrapped by every refused transition.
var ErrIllegal = errors.New("illegal cutover transition")

// TransitionError is a move the state machine refuses.
type TransitionError struct {
	From   State
	Action Action
	To     State // set when a target was named (Check)
}

func (e *TransitionError) Error() string {
	switch {
	case !e.From.Valid():
		return fmt.Sprintf("%v: %q is not a state", ErrIllegal, e.From)
	case e.To != "":
		return fmt.Sprintf("%v: %s → %s (one step forward or back only)", ErrIllegal, e.From, e.To)
	case e.Action == Advance:
		return fmt.Sprintf("%v: %s is the last state, nothing to advance to", ErrIllegal, e.From)
	case e.Action == Rollback:
		return fmt.Sprintf("%v: %s is the first state, nothing to roll back to", ErrIllegal, e.From)
	}
	return fmt.Sprintf("%v: unknown action %q", ErrIllegal, e.Action)
}

func (e *TransitionError) Unwrap() error { return ErrIllegal }

// Apply is the state machine: the state a customer in s moves to by a.
func Apply(s State, a Action) (State, error) {
	i := slices.Index(States, s)
	if i < 0 {
		return "", &TransitionError{From: s, Action: a}
	}
	switch a {
	case Advance:
		if i+1 < len(States) {
			return States[i+1], nil
		}
	case Rollback:
		if i > 0 {
			return States[i-1], nil
		}
	}
	return "", &TransitionError{From: s, Action: a}
}

// Check reports whether from → to is one legal step and which action it is.
func Check(from, to State) (Action, error) {
	for _, a := range []Action{Advance, Rollback} {
		if next, err := Apply(from, a); err == nil && next == to {
			return a, nil
		}
	}
	return "", &TransitionError{From: from, To: to}
}
